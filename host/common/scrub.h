// Whether hive-py's operator delete (host/scrub_alloc.cc) zeroes the blocks it frees. On until the sandbox
// is forked (the supervisor turns it off in the parent right after the clone): the sandbox's processes
// inherit the heap as it is at that moment, and afterwards the parent's heap is its own. Zeroing every
// block for a whole run cost a 5,000-file run ~14% more CPU time (the parent writing down 5,000 events).
#pragma once

namespace hive {
extern bool g_scrub_frees;
}
