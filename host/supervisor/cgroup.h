// The run's own cgroup, one directory per hierarchy that has a controller we use:
//   pids:   max_processes per run even for uid 0 (RLIMIT_NPROC ignores root), and a handle to kill every
//           process of the run, namespace or not;
//   memory: memory_mb for the whole run, what RLIMIT_AS does not count included (memfd, tmpfs and shm
//           page cache, the sum over forked processes), swap held at zero, and the run's own peak;
//   cpu:    the CPU time of the whole tree (reaped processes included), which the parent checks against
//           cpu_seconds.
// On a cgroup v1 host each controller has its own hierarchy (this host: pids, memory and cpuacct are
// three mounts); on v2 one directory holds them all. A controller that cannot be had (not mounted, not
// delegated to us, no permission) is left out and named in missing(): the run holds that limit by other
// means (supervisor/limits.h says which).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hive {

class RunCgroup {
public:
    struct Limits {
        int max_pids = 0;
        std::uint64_t memory_bytes = 0;
    };
    // Creates <hierarchy>/<our cgroup>/hive-py-<run_id> in each hierarchy with a controller we use and
    // sets its limits. An error only when not one controller could be had (not fatal for a non-root
    // caller); a controller missing beside others is in missing().
    static Result<RunCgroup> create(const std::string& run_id, const Limits& limits);
    RunCgroup(RunCgroup&&) noexcept = default;
    RunCgroup& operator=(RunCgroup&&) noexcept = default;
    ~RunCgroup();

    // Moves process `pid` (and its threads) into the run's cgroup in every hierarchy: 0, or the errno of
    // the first write that failed. `with_memory` false leaves it out of a v1 memory hierarchy (the
    // sandbox's init: the OOM killer then never picks the process that reports the run's end). The
    // writes follow each other within one RCU grace period: the first waits for it, the others do not.
    int add(pid_t pid, bool with_memory = true) const;
    std::vector<pid_t> pids() const;
    void kill_all() const;                         // SIGKILL every member until none is left

    bool has_pids() const { return pids_ >= 0; }
    bool has_memory() const { return memory_ >= 0; }
    bool has_cpu() const { return cpu_ >= 0; }
    bool v2() const { return !dirs_.empty() && dirs_[0].v2; }
    const std::vector<std::string>& missing() const { return missing_; }  // "memory: why", ...
    const std::string& path() const;  // the pids (else the first) directory: where cgroup.procs lists the run

    // The kernel's own counters for the run (nullopt without the controller or when unreadable):
    std::optional<double> cpu_seconds() const;     // v1 cpuacct.usage, v2 cpu.stat usage_usec
    std::optional<double> peak_memory_mb() const;  // v1 memory.max_usage_in_bytes, v2 memory.peak
    std::optional<double> memory_mb() const;       // now: v1 memory.usage_in_bytes, v2 memory.current
    std::uint64_t oom_kills() const;               // v1 memory.oom_control, v2 memory.events: oom_kill
    // How memory_mb is held, e.g. "cgroup v1 memory.limit_in_bytes + memory.memsw.limit_in_bytes".
    std::string memory_mechanism() const;
    std::string cpu_mechanism() const;             // "cgroup v1 cpuacct.usage" or "cgroup v2 cpu.stat"

private:
    struct Dir {
        std::string path;
        UniqueFd procs;
        bool v2 = false;
        bool memory_only = false;  // v1: this hierarchy holds only the memory controller
    };
    RunCgroup() = default;
    std::vector<Dir> dirs_;
    int pids_ = -1, memory_ = -1, cpu_ = -1;  // index into dirs_, -1: not had
    bool memsw_ = false;                      // v1: memory.memsw.limit_in_bytes set; v2: memory.swap.max = 0
    UniqueFd cpu_usage_;                      // kept open: the parent reads it every check period
    std::vector<std::string> missing_;
};

}  // namespace hive
