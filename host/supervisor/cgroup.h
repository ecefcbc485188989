// The run's own pids cgroup: max_processes per run even for uid 0 (RLIMIT_NPROC ignores root), and a
// handle to kill every process of the run, namespace or not.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hive {

class RunCgroup {
public:
    // Creates <pids hierarchy>/<our cgroup>/hive-py-<run_id> with pids.max = `max_pids`. Returns an error
    // (not fatal for a non-root caller) when no writable pids controller exists.
    static Result<RunCgroup> create(const std::string& run_id, int max_pids);
    RunCgroup(RunCgroup&&) noexcept = default;
    RunCgroup& operator=(RunCgroup&&) noexcept = default;
    ~RunCgroup();

    // Moves process `pid` (and its threads) into the cgroup: 0, or the errno of the write.
    int add(pid_t pid) const;
    std::vector<pid_t> pids() const;
    void kill_all() const;                         // SIGKILL every member until none is left
    const std::string& path() const { return path_; }

private:
    RunCgroup() = default;
    std::string path_;
    UniqueFd procs_;
};

}  // namespace hive
