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

// The mount point of the pids controller and our own cgroup within it.
bool find_pids_hierarchy(std::string& base) {
    std::string v1, v2;
    each_line(read_small("/proc/self/mounts"), [&](std::string_view line) {
        // device mountpoint type options ...
        std::string_view f[4];
        for (auto& x : f) {
            auto sp = line.find(' ');
            x = line.substr(0, sp);
            line.remove_prefix(sp == std::string_view::npos ? line.size() : sp + 1);
        }
        if (f[2] == "cgroup" && has_item(f[3], "pids")) v1 = f[1];
        else if (f[2] == "cgroup2" && v2.empty()) v2 = f[1];
    });
    bool found = false;
    each_line(read_small("/proc/self/cgroup"), [&](std::string_view line) {
        // hierarchy-id:controllers:path
        auto a = line.find(':'), b = line.find(':', a == std::string_view::npos ? a : a + 1);
        if (found || a == std::string_view::npos || b == std::string_view::npos) return;
        std::string_view ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        const std::string rel = path == "/" ? "" : std::string(path);
        if (has_item(ctrls, "pids") && !v1.empty()) {
            base = v1 + rel;
            found = true;
        } else if (ctrls.empty() && !v2.empty() && v1.empty() &&
                   read_small(v2 + std::string(path) + "/cgroup.subtree_control").find("pids") != std::string::npos) {
            base = v2 + rel;
            found = true;
        }
    });
    return found;
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

}  // namespace

Result<RunCgroup> RunCgroup::create(const std::string& run_id, int max_pids) {
    std::string base;
    if (!find_pids_hierarchy(base)) return Error{"no pids cgroup controller is mounted"};
    RunCgroup cg;
    cg.path_ = base + "/hive-py-" + run_id;
    if (mkdir(cg.path_.c_str(), 0755) != 0) return errno_error("mkdir", cg.path_);
    std::string max = std::to_string(max_pids);
    {
        UniqueFd f(open((cg.path_ + "/pids.max").c_str(), O_WRONLY | O_CLOEXEC));
        if (!f.valid() || write(f.get(), max.data(), max.size()) != ssize_t(max.size())) {
            Error e = errno_error("write", cg.path_ + "/pids.max");
            rmdir(cg.path_.c_str());
            cg.path_.clear();
            return e;
        }
    }
    cg.procs_.reset(open((cg.path_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!cg.procs_.valid()) return errno_error("open", cg.path_ + "/cgroup.procs");
    return cg;
}

int RunCgroup::add(pid_t pid) const {
    const std::string s = std::to_string(pid);
    return write(procs_.get(), s.data(), s.size()) == ssize_t(s.size()) ? 0 : errno;
}

std::vector<pid_t> RunCgroup::pids() const {
    std::vector<pid_t> v;
    each_line(read_small(path_ + "/cgroup.procs"), [&](std::string_view line) {
        pid_t p = 0;
        auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), p);
        if (ec == std::errc() && end == line.data() + line.size() && p > 0) v.push_back(p);
    });
    return v;
}

void RunCgroup::kill_all() const {
    if (path_.empty()) return;
    // A process may fork while we read the list: repeat until the cgroup is empty (bounded).
    for (int round = 0; round < 200; ++round) {
        auto v = pids();
        if (v.empty()) return;
        for (pid_t p : v) ::kill(p, SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

RunCgroup::~RunCgroup() {
    if (path_.empty()) return;
    procs_.reset();
    // Members are gone once the parent reaped the run; a few retries cover the kernel's lag.
    for (int i = 0; i < 100 && rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) {
        kill_all();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    remove_stale_siblings(path_.substr(0, path_.rfind('/')));
}

}  // namespace hive
