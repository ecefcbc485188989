// The parent: plain C++, never initialises Python. It loads the policy, prepares every layer, clones
// the sandbox, relays and hashes the script's output, drains the event ring into the audit logs,
// enforces the wall clock, measures resource use, and reports the result.
#pragma once

#include "supervisor/options.h"

namespace hive {

// Returns hive-py's exit code (see usage_text()).
int run_script(const Options& opts);

// --json for a run that did not start or did not finish its set-up: BIP-025's result object with
// success false, the exit code and hive-py's one line as `error`, printed on stdout.
void print_json_failure(const std::string& message, int exit_code);

}  // namespace hive
