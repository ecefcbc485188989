// How each run-wide limit of the policy is held in this run: by the run's cgroup where one could be had,
// else by other means (README "Limits of the whole run"). The run record says which, per limit; the
// parent's loop checks cpu_seconds against the whole tree's CPU time every kCpuCheckPeriod.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "policy/policy.h"
#include "supervisor/cgroup.h"

namespace hive {

inline constexpr std::chrono::milliseconds kCpuCheckPeriod{100};

struct LimitHolding {
    std::string memory, cpu, processes;  // the mechanisms, as the record names them
    bool memory_by_cgroup = false, cpu_by_cgroup = false;
    bool processes_held = true;          // false: uid 0 without a pids cgroup (RLIMIT_NPROC ignores root)
};
LimitHolding limit_holding(const Policy& policy, const RunCgroup* cgroup, bool host_root);

// What ended the run or held it at a limit, for the outcome and the record.
struct LimitEvents {
    // The tree's CPU reached cpu_seconds: the parent sent SIGXCPU to each process of the run (as
    // RLIMIT_CPU's soft limit does to one), and SIGKILL to the whole run one CPU second later (its hard
    // limit) if it still ran.
    bool cpu_exceeded = false;
    bool cpu_killed = false;
    double cpu_at_kill = 0;      // the tree's CPU seconds the parent saw at cpu_seconds
    double cpu_seen = 0;         // the largest figure any check saw (a killed tree's reaped usage is lost)
    std::uint64_t oom_kills = 0; // processes of the run the kernel's OOM killer ended at memory_mb
};

// The record's "limits": each limit's value and mechanism.
std::string limits_json(const Policy& policy, const LimitHolding& h);

}  // namespace hive
