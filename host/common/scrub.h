// Whether hive-py's operator delete (host/scrub_alloc.cc) zeroes the blocks it frees. On until the sandbox
// is forked (the supervisor turns it off in the parent right after the clone): the sandbox's processes
// inherit the heap as it is at that moment, and afterwards the parent's heap is its own. Zeroing every
// block for a whole run cost a 5,000-file run ~15% more CPU in the parent.
#pragma once

namespace hive {
extern bool g_scrub_frees;
}
