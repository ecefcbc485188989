#include "supervisor/resources.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string_view>

#include "common/json.h"
#include "common/kernel_file.h"

namespace hive {

IoCounters read_io(pid_t pid) {
    IoCounters c;
    std::string text;
    if (!read_kernel_file("/proc/" + std::to_string(pid) + "/io", text)) return c;
    std::uint64_t io[4] = {};
    c.valid = parse_proc_io(text, io);
    c.rchar = io[0];
    c.wchar = io[1];
    c.read_bytes = io[2];
    c.write_bytes = io[3];
    return c;
}

Sample sample_tree(const std::vector<pid_t>& pids) {
    Sample s;
    static const double tick = double(sysconf(_SC_CLK_TCK));
    static const double page_mb = double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
    for (pid_t p : pids) {
        std::ifstream f("/proc/" + std::to_string(p) + "/stat");
        std::string line;
        if (!std::getline(f, line)) continue;
        auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream is(line.substr(close + 2));
        std::string field;
        std::vector<std::string> fields;
        while (is >> field) fields.push_back(field);
        // After "pid (comm) ": state is field 3 → index 0; utime 14 → 11; stime 15 → 12; rss 24 → 21.
        if (fields.size() < 22) continue;
        s.cpu_seconds += (std::stod(fields[11]) + std::stod(fields[12])) / tick;
        s.rss_mb += std::stod(fields[21]) * page_mb;
        ++s.processes;
    }
    return s;
}

Usage usage_from(const rusage& ru, const IoCounters& io, double wall) {
    Usage u;
    u.user_cpu_seconds = double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6;
    u.system_cpu_seconds = double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) / 1e6;
    u.cpu_percent = wall > 0 ? 100.0 * (u.user_cpu_seconds + u.system_cpu_seconds) / wall : 0;
    u.peak_memory_mb = double(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB: the largest process's peak
    u.io = io;
    return u;
}

std::string Usage::json() const {
    json::Object o;
    o.add("user_cpu_seconds", user_cpu_seconds)
        .add("system_cpu_seconds", system_cpu_seconds)
        .add("cpu_percent", cpu_percent)
        .add("peak_memory_mb", peak_memory_mb);
    if (io.valid) {
        o.add("bytes_read", std::int64_t(io.rchar))
            .add("bytes_written", std::int64_t(io.wchar))
            .add("disk_bytes_read", std::int64_t(io.read_bytes))
            .add("disk_bytes_written", std::int64_t(io.write_bytes));
    }
    o.add("source", "rusage of the reaped process tree (the sandbox init's RUSAGE_CHILDREN, or wait4 of the init); /proc/<pid>/io of the sandbox init");
    return o.str();
}

}  // namespace hive
