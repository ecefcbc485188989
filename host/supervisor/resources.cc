#include "supervisor/resources.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

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

namespace {

// utime + stime + cutime + cstime of /proc/<pid>/stat, in clock ticks; -1 when it cannot be read.
double own_and_reaped_ticks(pid_t pid) {
    std::string text;
    if (!read_kernel_file("/proc/" + std::to_string(pid) + "/stat", text)) return -1;
    auto close = text.rfind(')');
    if (close == std::string::npos) return -1;
    std::string_view rest = std::string_view(text).substr(close + 2);
    // After "pid (comm) ": state is field 3 -> index 0; utime 14 -> 11 ... cstime 17 -> 14.
    double sum = 0;
    for (int i = 0; i <= 14 && !rest.empty(); ++i) {
        auto sp = rest.find(' ');
        std::string_view f = rest.substr(0, sp);
        if (i >= 11) {
            long long v = 0;
            if (std::from_chars(f.data(), f.data() + f.size(), v).ec != std::errc()) return -1;
            sum += double(v);
        }
        rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
    }
    return sum;
}

}  // namespace

double tree_cpu_seconds(pid_t init, int max_processes, std::vector<pid_t>* members) {
    static const double tick = double(sysconf(_SC_CLK_TCK));
    std::vector<pid_t> todo{init};
    double ticks = 0;
    for (int seen = 0; !todo.empty() && seen < max_processes; ++seen) {
        const pid_t p = todo.back();
        todo.pop_back();
        const double t = own_and_reaped_ticks(p);
        if (t < 0) continue;
        ticks += t;
        if (members) members->push_back(p);
        // Its children, thread by thread (/proc/<pid>/task/<tid>/children lists the ones each forked).
        const std::string task = "/proc/" + std::to_string(p) + "/task";
        DIR* d = opendir(task.c_str());
        if (!d) continue;
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            std::string kids;
            read_kernel_file(task + "/" + e->d_name + "/children", kids);
            std::string_view k(kids);
            while (!k.empty()) {
                auto sp = k.find(' ');
                pid_t c = 0;
                if (std::from_chars(k.data(), k.data() + (sp == std::string_view::npos ? k.size() : sp), c).ec ==
                        std::errc() && c > 0)
                    todo.push_back(c);
                k.remove_prefix(sp == std::string_view::npos ? k.size() : sp + 1);
            }
        }
        closedir(d);
    }
    return ticks / tick;
}

Usage usage_from(const rusage& ru, const IoCounters& io, double wall) {
    Usage u;
    u.user_cpu_seconds = double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6;
    u.system_cpu_seconds = double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) / 1e6;
    u.cpu_percent = wall > 0 ? 100.0 * (u.user_cpu_seconds + u.system_cpu_seconds) / wall : 0;
    u.peak_memory_mb = double(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB: the largest process's peak
    u.largest_process_peak_mb = u.peak_memory_mb;
    u.tree_cpu_seconds = u.user_cpu_seconds + u.system_cpu_seconds;
    u.io = io;
    return u;
}

void Usage::take_cgroup(std::optional<double> peak_mb, const std::string& peak_source, std::optional<double> cpu_s,
                        const std::string& cpu_source_) {
    if (peak_mb) {
        cgroup_peak_memory_mb = *peak_mb;
        peak_memory_mb = std::max(*peak_mb, largest_process_peak_mb);
        memory_source = "the larger of cgroup_peak_memory_mb (" + peak_source + ") and largest_process_peak_mb (ru_maxrss)";
    }
    // The counter sees every process of the run, killed ones too; rusage only the reaped ones.
    if (cpu_s && *cpu_s >= tree_cpu_seconds) {
        tree_cpu_seconds = *cpu_s;
        cpu_source = cpu_source_;
    }
}

std::string Usage::json() const {
    json::Object o;
    o.add("user_cpu_seconds", user_cpu_seconds)
        .add("system_cpu_seconds", system_cpu_seconds)
        .add("cpu_percent", cpu_percent)
        .add("peak_memory_mb", peak_memory_mb)
        .add("largest_process_peak_mb", largest_process_peak_mb);
    if (cgroup_peak_memory_mb >= 0) o.add("cgroup_peak_memory_mb", cgroup_peak_memory_mb);
    o.add("tree_cpu_seconds", tree_cpu_seconds)
        .add("peak_memory_source", memory_source)
        .add("tree_cpu_source", cpu_source);
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
