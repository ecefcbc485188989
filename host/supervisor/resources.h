// Measured resource use of a run: rusage from wait4 (the whole reaped tree), I/O counters from
// /proc/<pid>/io, samples of the live tree from /proc. Nothing here is estimated.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hive {

struct IoCounters {
    std::uint64_t rchar = 0, wchar = 0, read_bytes = 0, write_bytes = 0;
    bool valid = false;
};
IoCounters read_io(pid_t pid);

struct Sample {
    double cpu_seconds = 0;  // user+system of the live processes
    double rss_mb = 0;       // sum of their resident sets
    int processes = 0;
};
Sample sample_tree(const std::vector<pid_t>& pids);

// The CPU time (user + system) of `init` and every live process below it, each with the children it has
// reaped (cutime + cstime; orphans go to the init, which reaps them): the whole tree's CPU so far, for a
// run without a cgroup's CPU counter. At most `max_processes` are read; `members`, if given, gets their
// pids.
double tree_cpu_seconds(pid_t init, int max_processes, std::vector<pid_t>* members = nullptr);

struct Usage {
    double user_cpu_seconds = 0, system_cpu_seconds = 0, cpu_percent = 0, peak_memory_mb = 0;
    double largest_process_peak_mb = 0;  // ru_maxrss: the largest single process's peak
    double cgroup_peak_memory_mb = -1;   // the run's cgroup's own peak, -1 = no memory cgroup
    double tree_cpu_seconds = 0;         // the whole tree's CPU: the cgroup's counter, else the rusage's
    std::string memory_source = "ru_maxrss of the reaped tree: the largest process's peak resident set";
    std::string cpu_source = "rusage of the reaped tree";
    IoCounters io;
    // The run's cgroup counters: the run's own peak (every process, memfd and tmpfs pages included) and
    // CPU time (every process, reaped or killed). peak_memory_mb becomes the larger of the cgroup's peak
    // (what memory_mb counts: pages charged to the run, not those it shares with hive-py or the page
    // cache it found) and the largest process's; tree_cpu_seconds the counter.
    void take_cgroup(std::optional<double> peak_mb, const std::string& peak_source, std::optional<double> cpu_s,
                     const std::string& cpu_source_);
    std::string json() const;
};
Usage usage_from(const rusage& ru, const IoCounters& io, double wall_seconds);

}  // namespace hive
