// The parent: plain C++, never initialises Python. It loads the policy, prepares every layer, clones
// the sandbox, relays and hashes the script's output, drains the event ring into the audit logs,
// enforces the wall clock, measures resource use, and reports the result.
#pragma once

#include "supervisor/options.h"

namespace hive {

// Returns hive-py's exit code (see usage_text()).
int run_script(const Options& opts);

}  // namespace hive
