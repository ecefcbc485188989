#include "supervisor/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

namespace hive {

namespace {

// The mount point of the pids controller and our own cgroup within it.
bool find_pids_hierarchy(std::string& base) {
    std::ifstream mounts("/proc/self/mounts");
    std::string dev, mnt, type, opts, rest;
    std::string v1, v2;
    while (mounts >> dev >> mnt >> type >> opts) {
        std::getline(mounts, rest);
        if (type == "cgroup") {
            std::stringstream ss(opts);
            std::string o;
            while (std::getline(ss, o, ','))
                if (o == "pids") v1 = mnt;
        } else if (type == "cgroup2" && v2.empty()) {
            v2 = mnt;
        }
    }
    std::ifstream self("/proc/self/cgroup");
    std::string line;
    while (std::getline(self, line)) {
        auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        std::stringstream ss(ctrls);
        std::string c;
        bool pids = false;
        while (std::getline(ss, c, ','))
            if (c == "pids") pids = true;
        if (pids && !v1.empty()) {
            base = v1 + (path == "/" ? "" : path);
            return true;
        }
        if (ctrls.empty() && !v2.empty() && v1.empty()) {
            std::ifstream ctl(v2 + path + "/cgroup.subtree_control");
            std::string all((std::istreambuf_iterator<char>(ctl)), std::istreambuf_iterator<char>());
            if (all.find("pids") != std::string::npos) {
                base = v2 + (path == "/" ? "" : path);
                return true;
            }
        }
    }
    return false;
}

// A run's cgroup outlives it only when hive-py itself was killed (SIGKILL leaves no chance to remove it).
// Each run clears such leftovers beside its own: a `hive-py-<16 hex>` cgroup untouched for a minute. A
// live run's cgroup is never taken: rmdir refuses a cgroup that has processes (EBUSY), and one just made
// by a starting run is seconds from its first process, not a minute.
void remove_stale_siblings(const std::string& base) {
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

std::vector<pid_t> RunCgroup::pids() const {
    std::vector<pid_t> v;
    std::ifstream f(path_ + "/cgroup.procs");
    pid_t p;
    while (f >> p) v.push_back(p);
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
