// How a run ended, from the sandbox init's report, the init's own wait status and the parent's timer:
// the run record's `ended`, the exit codes, and hive-py's one line for a run it ended.
#pragma once

#include <sys/resource.h>

#include <string>
#include <vector>

#include "child/report.h"
#include "policy/policy.h"
#include "supervisor/limits.h"
#include "supervisor/run_log.h"

namespace hive {

struct Outcome {
    std::string ended;    // exit, signal, cpu_limit, memory_limit, seccomp_kill, timeout, setup_failed, init_died
    std::string error;    // "" when the script ended by itself with a status
    std::string message;  // hive-py's stderr line for a run hive-py (or the kernel) ended; "" otherwise
    int return_code = 0;  // BIP-025's: the script's status, or -N for signal N
    int exit_code = 0;    // hive-py's own exit code
    std::uint32_t layers = 0;  // child::Layer bits the init reported
    // Processes of the sandbox the kernel killed for a forbidden system call (SIGSYS), the script's own
    // process included: the record's `sandbox_kills`. A forked child's kill is a `kernel_kill` event.
    int sandbox_kills = 0;
    int signal_deaths = 0;     // processes of the sandbox that died by any signal before the init's sweep
    // A limit that ended the run (or, for memory, ended processes of it): the record's `limit_hit`.
    std::string limit;            // "cpu_seconds", "memory_mb", "file_size_mb"; "" = none
    std::string limit_mechanism;  // what held it, as the record's `limits` names it
    double limit_observed = -1;   // what the parent saw then (the tree's CPU seconds), -1 = not measured
};

// `reports`: every record the init sent, in order. Security events for kills and limits go to `log`.
// `limits`: the parent's kill past cpu_seconds and the cgroup's OOM kills; `held`: the mechanisms.
Outcome judge(const std::vector<child::Report>& reports, bool timed_out, int init_wait_status, const rusage& ru,
              const Policy& policy, RunLog& log, const LimitEvents& limits = {}, const LimitHolding& held = {});

const char* signal_name(int sig);

}  // namespace hive
