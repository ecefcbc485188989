#include "supervisor/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <string_view>
#include <thread>

#include "common/kernel_file.h"

namespace hive {

namespace {

std::string read_small(const std::string& path) {
    std::string text;
    read_kernel_file(path, text);
    return text;
}

// Whether the comma-separated `list` holds `item`.
bool has_item(std::string_view list, std::string_view item) {
    bool found = false;
    while (!list.empty() && !found) {
        auto c = list.find(',');
        found = list.substr(0, c) == item;
        list.remove_prefix(c == std::string_view::npos ? list.size() : c + 1);
    }
    return found;
}

// Whether the space-separated `list` (cgroup.subtree_control) holds `word`.
bool has_word(std::string_view list, std::string_view word) {
    while (!list.empty() && (list.back() == '\n' || list.back() == ' ')) list.remove_suffix(1);
    while (!list.empty()) {
        auto sp = list.find(' ');
        if (list.substr(0, sp) == word) return true;
        list.remove_prefix(sp == std::string_view::npos ? list.size() : sp + 1);
    }
    return false;
}

// The value after "`key` " in a flat-keyed cgroup file (memory.events, cpu.stat, memory.oom_control).
std::optional<std::uint64_t> keyed(std::string_view text, std::string_view key) {
    std::optional<std::uint64_t> v;
    each_line(text, [&](std::string_view line) {
        if (v || line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ') return;
        std::uint64_t x = 0;
        auto s = line.substr(key.size() + 1);
        if (std::from_chars(s.data(), s.data() + s.size(), x).ec == std::errc()) v = x;
    });
    return v;
}

std::optional<std::uint64_t> number_in(std::string_view text) {
    std::uint64_t x = 0;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return x;
}

enum Controller : unsigned { c_pids = 1, c_memory = 2, c_cpu = 4 };
const char* name_of(unsigned c) { return c == c_pids ? "pids" : c == c_memory ? "memory" : "cpu"; }

// Where each controller we use lives: its v1 hierarchy (mount point + our cgroup in it), else the v2
// hierarchy when our cgroup there offers it to its children (cgroup.subtree_control; v2's cpu.stat exists
// in every cgroup). `why` names what is missing for a controller found nowhere.
struct Placement {
    std::string base[3];  // by bit index: pids, memory, cpu; "" = none
    bool v2[3] = {};
    std::string why[3];
};

int index_of(unsigned c) { return c == c_pids ? 0 : c == c_memory ? 1 : 2; }

Placement find_hierarchies() {
    Placement pl;
    std::string v1_mount[3], v2_mount;
    each_line(read_small("/proc/self/mounts"), [&](std::string_view line) {
        // device mountpoint type options ...
        std::string_view f[4];
        for (auto& x : f) {
            auto sp = line.find(' ');
            x = line.substr(0, sp);
            line.remove_prefix(sp == std::string_view::npos ? line.size() : sp + 1);
        }
        if (f[2] == "cgroup") {
            if (has_item(f[3], "pids")) v1_mount[0] = f[1];
            if (has_item(f[3], "memory")) v1_mount[1] = f[1];
            if (has_item(f[3], "cpuacct")) v1_mount[2] = f[1];
        } else if (f[2] == "cgroup2" && v2_mount.empty()) {
            v2_mount = f[1];
        }
    });
    std::string v2_rel;
    bool v2_seen = false;
    each_line(read_small("/proc/self/cgroup"), [&](std::string_view line) {
        // hierarchy-id:controllers:path
        auto a = line.find(':'), b = line.find(':', a == std::string_view::npos ? a : a + 1);
        if (a == std::string_view::npos || b == std::string_view::npos) return;
        std::string_view ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        const std::string rel = path == "/" ? "" : std::string(path);
        if (ctrls.empty()) {
            v2_rel = rel;
            v2_seen = true;
        }
        for (int i = 0; i < 3; ++i)
            if (!v1_mount[i].empty() && has_item(ctrls, i == 2 ? "cpuacct" : i == 1 ? "memory" : "pids"))
                pl.base[i] = v1_mount[i] + rel;
    });
    const std::string v2_base = v2_seen && !v2_mount.empty() ? v2_mount + v2_rel : "";
    const std::string subtree = v2_base.empty() ? "" : read_small(v2_base + "/cgroup.subtree_control");
    for (int i = 0; i < 3; ++i) {
        if (!pl.base[i].empty()) continue;
        const char* v1_name = i == 2 ? "cpuacct" : i == 1 ? "memory" : "pids";
        const char* v2_name = i == 2 ? "cpu.stat" : v1_name;
        // cpu.stat's usage_usec is kept by every v2 cgroup; pids and memory must be offered to children.
        if (!v2_base.empty() && (i == 2 || has_word(subtree, v2_name))) {
            pl.base[i] = v2_base;
            pl.v2[i] = true;
        } else {
            pl.why[i] = std::string("no ") + v1_name + " controller: not mounted as cgroup v1" +
                        (v2_base.empty() ? "" : ", and not in " + v2_base + "/cgroup.subtree_control");
        }
    }
    return pl;
}

// A run's cgroup outlives it only when hive-py itself was killed (SIGKILL leaves no chance to remove it).
// Each run clears such leftovers beside its own: a `hive-py-<16 hex>` cgroup untouched for a minute. A
// live run's cgroup is never taken: rmdir refuses a cgroup that has processes (EBUSY), and one just made
// by a starting run is seconds from its first process, not a minute.
void remove_stale_siblings(const std::string& base) {
    // A cgroup directory's link count is 2 plus its child cgroups: with none left, nothing to read.
    struct stat self {};
    if (stat(base.c_str(), &self) == 0 && self.st_nlink <= 2) return;
    DIR* d = opendir(base.c_str());
    if (!d) return;
    const std::time_t now = std::time(nullptr);
    while (dirent* e = readdir(d)) {
        const char* n = e->d_name;
        if (std::strncmp(n, "hive-py-", 8) != 0 || std::strlen(n) != 8 + 16 ||
            std::strspn(n + 8, "0123456789abcdef") != 16)
            continue;
        std::string path = base + "/" + n;
        struct stat st {};
        if (lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || now - st.st_mtime < 60) continue;
        rmdir(path.c_str());
    }
    closedir(d);
}

Status write_file(const std::string& path, const std::string& value) {
    UniqueFd f(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!f.valid()) return errno_error("open", path);
    if (write(f.get(), value.data(), value.size()) != ssize_t(value.size())) return errno_error("write " + value, path);
    return {};
}

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

}  // namespace

Result<RunCgroup> RunCgroup::create(const std::string& run_id, const Limits& limits) {
    const Placement pl = find_hierarchies();
    RunCgroup cg;
    std::vector<unsigned> dir_ctrls;  // controllers each of cg.dirs_ holds
    for (unsigned c : {c_pids, c_memory, c_cpu}) {
        const int i = index_of(c);
        if (pl.base[i].empty()) {
            cg.missing_.push_back(std::string(name_of(c)) + " (" + pl.why[i] + ")");
            continue;
        }
        const std::string path = pl.base[i] + "/hive-py-" + run_id;
        int at = -1;
        for (std::size_t k = 0; k < cg.dirs_.size(); ++k)
            if (cg.dirs_[k].path == path) at = int(k);
        if (at < 0) {
            if (mkdir(path.c_str(), 0755) != 0) {
                cg.missing_.push_back(std::string(name_of(c)) + " (" + errno_error("mkdir", path).message + ")");
                continue;
            }
            cg.dirs_.push_back({path, UniqueFd(), pl.v2[i]});
            dir_ctrls.push_back(0);
            at = int(cg.dirs_.size()) - 1;
        }
        // The controller's limits; a failure leaves the controller out (its limit is held otherwise).
        Status st;
        if (c == c_pids) {
            st = write_file(path + "/pids.max", std::to_string(limits.max_pids));
        } else if (c == c_memory) {
            const std::string bytes = std::to_string(limits.memory_bytes);
            if (pl.v2[i]) {
                st = write_file(path + "/memory.max", bytes);
                if (st.ok() && exists(path + "/memory.swap.max")) {
                    st = write_file(path + "/memory.swap.max", "0");
                    cg.memsw_ = st.ok();
                }
                // The init shares the one directory on v2: an OOM kill ends the whole run at once, never
                // the init alone. (Best kept: a kernel without the file kills one process, as on v1.)
                if (st.ok() && exists(path + "/memory.oom.group"))
                    [[maybe_unused]] Status g = write_file(path + "/memory.oom.group", "1");
            } else {
                st = write_file(path + "/memory.limit_in_bytes", bytes);
                // memsw (memory + swap) only exists with swap accounting; it must not be below the limit.
                if (st.ok() && exists(path + "/memory.memsw.limit_in_bytes")) {
                    st = write_file(path + "/memory.memsw.limit_in_bytes", bytes);
                    cg.memsw_ = st.ok();
                }
            }
        } else {
            const std::string file = path + (pl.v2[i] ? "/cpu.stat" : "/cpuacct.usage");
            cg.cpu_usage_.reset(open(file.c_str(), O_RDONLY | O_CLOEXEC));
            if (!cg.cpu_usage_.valid()) st = errno_error("open", file);
        }
        if (!st.ok()) {
            cg.missing_.push_back(std::string(name_of(c)) + " (" + st.error().message + ")");
            if (dir_ctrls[std::size_t(at)] == 0) {
                rmdir(path.c_str());
                cg.dirs_.pop_back();
                dir_ctrls.pop_back();
            }
            continue;
        }
        dir_ctrls[std::size_t(at)] |= c;
        (c == c_pids ? cg.pids_ : c == c_memory ? cg.memory_ : cg.cpu_) = at;
    }
    if (cg.dirs_.empty()) {
        std::string why;
        for (auto& m : cg.missing_) why += (why.empty() ? "" : "; ") + m;
        return Error{"no cgroup controller can be had: " + why};
    }
    for (std::size_t k = 0; k < cg.dirs_.size(); ++k) {
        Dir& d = cg.dirs_[k];
        d.procs.reset(open((d.path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
        if (!d.procs.valid()) return errno_error("open", d.path + "/cgroup.procs");
        // Only the memory controller in this directory (v1): the init stays out of it (add()).
        d.memory_only = !d.v2 && dir_ctrls[k] == c_memory;
    }
    return cg;
}

int RunCgroup::add(pid_t pid, bool with_memory) const {
    const std::string s = std::to_string(pid);
    for (const Dir& d : dirs_) {
        if (!with_memory && d.memory_only) continue;
        if (write(d.procs.get(), s.data(), s.size()) != ssize_t(s.size())) return errno;
    }
    return 0;
}

const std::string& RunCgroup::path() const {
    static const std::string none;
    if (dirs_.empty()) return none;
    return dirs_[std::size_t(pids_ >= 0 ? pids_ : cpu_ >= 0 ? cpu_ : 0)].path;
}

std::vector<pid_t> RunCgroup::pids() const {
    std::vector<pid_t> v;
    if (dirs_.empty()) return v;
    each_line(read_small(path() + "/cgroup.procs"), [&](std::string_view line) {
        pid_t p = 0;
        auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), p);
        if (ec == std::errc() && end == line.data() + line.size() && p > 0) v.push_back(p);
    });
    return v;
}

void RunCgroup::kill_all() const {
    if (dirs_.empty()) return;
    // A process may fork while we read the list: repeat until the cgroup is empty (bounded).
    for (int round = 0; round < 200; ++round) {
        auto v = pids();
        if (v.empty()) return;
        for (pid_t p : v) ::kill(p, SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::optional<double> RunCgroup::cpu_seconds() const {
    if (cpu_ < 0 || !cpu_usage_.valid()) return std::nullopt;
    char buf[512];
    const ssize_t n = pread(cpu_usage_.get(), buf, sizeof buf - 1, 0);
    if (n <= 0) return std::nullopt;
    const std::string_view text(buf, std::size_t(n));
    if (dirs_[std::size_t(cpu_)].v2) {
        auto us = keyed(text, "usage_usec");
        if (!us) return std::nullopt;
        return double(*us) / 1e6;
    }
    auto ns = number_in(text);
    if (!ns) return std::nullopt;
    return double(*ns) / 1e9;
}

std::optional<double> RunCgroup::peak_memory_mb() const {
    if (memory_ < 0) return std::nullopt;
    const Dir& d = dirs_[std::size_t(memory_)];
    auto b = number_in(read_small(d.path + (d.v2 ? "/memory.peak" : "/memory.max_usage_in_bytes")));
    if (!b) return std::nullopt;
    return double(*b) / (1024.0 * 1024.0);
}

std::optional<double> RunCgroup::memory_mb() const {
    if (memory_ < 0) return std::nullopt;
    const Dir& d = dirs_[std::size_t(memory_)];
    auto b = number_in(read_small(d.path + (d.v2 ? "/memory.current" : "/memory.usage_in_bytes")));
    if (!b) return std::nullopt;
    return double(*b) / (1024.0 * 1024.0);
}

std::uint64_t RunCgroup::oom_kills() const {
    if (memory_ < 0) return 0;
    const Dir& d = dirs_[std::size_t(memory_)];
    return keyed(read_small(d.path + (d.v2 ? "/memory.events" : "/memory.oom_control")), "oom_kill").value_or(0);
}

std::string RunCgroup::memory_mechanism() const {
    if (memory_ < 0) return "";
    if (dirs_[std::size_t(memory_)].v2)
        return memsw_ ? "cgroup v2 memory.max, memory.swap.max = 0" : "cgroup v2 memory.max (swap not limited: no memory.swap.max)";
    return memsw_ ? "cgroup v1 memory.limit_in_bytes + memory.memsw.limit_in_bytes"
                  : "cgroup v1 memory.limit_in_bytes (swap not limited: no memory.memsw files)";
}

std::string RunCgroup::cpu_mechanism() const {
    if (cpu_ < 0) return "";
    return dirs_[std::size_t(cpu_)].v2 ? "cgroup v2 cpu.stat usage_usec" : "cgroup v1 cpuacct.usage";
}

RunCgroup::~RunCgroup() {
    if (dirs_.empty()) return;
    cpu_usage_.reset();
    for (Dir& d : dirs_) {
        d.procs.reset();
        // Members are gone once the parent reaped the run; a few retries cover the kernel's lag.
        for (int i = 0; i < 100 && rmdir(d.path.c_str()) != 0 && errno == EBUSY; ++i) {
            kill_all();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        remove_stale_siblings(d.path.substr(0, d.path.rfind('/')));
    }
}

}  // namespace hive
