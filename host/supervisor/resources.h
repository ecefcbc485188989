// Measured resource use of a run: rusage from wait4 (the whole reaped tree), I/O counters from
// /proc/<pid>/io, samples of the live tree from /proc. Nothing here is estimated.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
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

struct Usage {
    double user_cpu_seconds = 0, system_cpu_seconds = 0, cpu_percent = 0, peak_memory_mb = 0;
    IoCounters io;
    std::string json() const;
};
Usage usage_from(const rusage& ru, const IoCounters& io, double wall_seconds);

}  // namespace hive
