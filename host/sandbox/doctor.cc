// --doctor: every probe runs the real call (in a forked child where it would change this process), so the
// answer is what the kernel, its boot options and any enclosing container actually allow.
#include "sandbox/doctor.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "audit/kernel_socket.h"
#include "common/json.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "sandbox/landlock.h"
#include "sandbox/seccomp.h"
#include "sandbox/seccomp_rules.h"

namespace hive::sandbox {
namespace {

std::string errname(int e) {
    const char* n = strerrorname_np(e);
    return n ? n : "errno " + std::to_string(e);
}

// Run `fn` in a forked child; its return value (0 or an errno) becomes the exit code.
template <class Fn>
int in_child(Fn fn) {
    pid_t pid = ::fork();
    if (pid < 0) return errno;
    if (pid == 0) ::_exit(fn());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return errno;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return EINTR;  // killed: treat as unavailable
}

// As a run creates them: every namespace together with a new user namespace (clone() in the supervisor
// asks for all six at once), so the answer holds for root, an unprivileged user and root inside a user
// namespace alike.
Probe namespace_probe(const char* name, int flag) {
    const int flags = flag | CLONE_NEWUSER;
    int rc = in_child([flags] { return ::unshare(flags) == 0 ? 0 : errno; });
    Probe p{std::string("namespace ") + name, rc == 0, ""};
    const std::string call = flag == CLONE_NEWUSER ? "unshare(CLONE_NEWUSER)" : std::string("unshare(CLONE_NEWUSER|") + name + ")";
    p.detail = rc == 0 ? call + " works" : call + ": " + errname(rc);
    return p;
}

Probe landlock_probe() {
    auto s = landlock::probe();
    Probe p{"landlock", s.abi > 0, ""};
    if (s.abi <= 0) {
        p.detail = s.why_not;
        return p;
    }
    p.detail = "ABI " + std::to_string(s.abi) + ": fs";
    if (s.abi >= 2) p.detail += ", refer";
    if (s.abi >= 3) p.detail += ", truncate";
    if (s.abi >= 4) p.detail += ", net tcp bind/connect";
    if (s.abi >= 5) p.detail += ", ioctl on devices";
    if (s.abi >= 6) p.detail += ", scopes (abstract unix sockets, signals)";
    if (s.abi >= 7) p.detail += ", audit logging flags";
    return p;
}

std::vector<Probe> seccomp_probes() {
    std::vector<Probe> out;
    Probe filter{"seccomp filter", false, ""};
    int mode = ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
    if (mode < 0) {
        filter.detail = "prctl(PR_GET_SECCOMP): " + errname(errno) + " (kernel without seccomp)";
    } else if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, nullptr) == 0 || errno != EFAULT) {
        // A NULL program is EFAULT when filter mode exists, EINVAL when it does not.
        filter.detail = "seccomp(SECCOMP_SET_MODE_FILTER): " + errname(errno);
    } else {
        filter.available = true;
        filter.detail = mode == 0 ? "filter mode" : "filter mode (this process is already filtered)";
    }
    out.push_back(filter);

    Probe kill{"seccomp kill_process", false, ""};
    std::uint32_t action = SECCOMP_RET_KILL_PROCESS;
    if (::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0) {
        kill.available = true;
        kill.detail = "SECCOMP_RET_KILL_PROCESS available";
    } else {
        kill.detail = "seccomp(SECCOMP_GET_ACTION_AVAIL, KILL_PROCESS): " + errname(errno);
    }
    out.push_back(kill);

    // Speed, not safety: without them each run compiles its filter with libseccomp.
    const unsigned built = seccomp::shapes_built_in();
    out.push_back(Probe{"seccomp programs built in", built == seccomp::Shape::kCount,
                        std::to_string(built) + " of " + std::to_string(seccomp::Shape::kCount) +
                            " policy shapes compiled with hive-py" +
                            (built == seccomp::Shape::kCount ? "" : "; the others by libseccomp at each run (~1 ms)")});
    return out;
}

std::string read_all(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// cgroup v1 controllers come from /proc/self/cgroup ("N:controllers:path"); v2 from the cgroup2 mount's
// cgroup.controllers (found in mountinfo: it is /sys/fs/cgroup on unified systems, .../unified on hybrid).
std::vector<Probe> cgroup_probes() {
    Probe v1{"cgroup v1", false, ""};
    Probe v2{"cgroup v2", false, ""};
    std::istringstream cg(read_all("/proc/self/cgroup"));
    std::string line;
    std::string v1_list;
    while (std::getline(cg, line)) {
        auto a = line.find(':');
        auto b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string id = line.substr(0, a);
        std::string ctrls = line.substr(a + 1, b - a - 1);
        if (id == "0" && ctrls.empty()) {
            v2.detail = "member of " + line.substr(b + 1);
        } else if (!ctrls.empty() && ctrls.rfind("name=", 0) != 0) {
            v1_list += (v1_list.empty() ? "" : ",") + ctrls;
        }
    }
    if (!v1_list.empty()) {
        v1.available = true;
        v1.detail = "controllers " + v1_list;
    } else {
        v1.detail = "no v1 controllers mounted";
    }

    std::string mount;
    std::istringstream mi(read_all("/proc/self/mountinfo"));
    while (std::getline(mi, line)) {
        if (line.find(" - cgroup2 ") == std::string::npos) continue;
        std::istringstream fields(line);
        std::string f;
        for (int i = 0; i < 5 && fields >> f; ++i) {
        }
        mount = f;
        break;
    }
    if (mount.empty()) {
        v2.detail = "no cgroup2 mount";
    } else {
        v2.available = true;
        std::string ctrls = trim(read_all(mount + "/cgroup.controllers"));
        v2.detail = "mounted at " + mount + ", controllers: " + (ctrls.empty() ? "none" : ctrls);
        if (::access(mount.c_str(), W_OK) != 0) v2.detail += " (not writable)";
    }
    return {v1, v2};
}

// A controller a run's cgroup is made in (pids, memory, cpuacct): v1's hierarchy of that name (this
// process's own cgroup there) or a v2 cgroup whose subtree offers it (v2 keeps cpu.stat in every
// cgroup), writable by this process. Without memory or cpuacct a run holds memory_mb and cpu_seconds by
// other means (README "Limits of the whole run"): informational, never missing.
Probe controller_probe(const std::string& ctrl) {
    Probe p{ctrl + " cgroup", false, ""};
    std::istringstream cg(read_all("/proc/self/cgroup"));
    std::string line;
    while (std::getline(cg, line)) {
        auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        const std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        if ((',' + ctrls + ',').find("," + ctrl + ",") == std::string::npos) continue;
        const std::string dir = "/sys/fs/cgroup/" + ctrl + (path == "/" ? std::string() : path);
        p.available = ::access(dir.c_str(), W_OK) == 0;
        p.detail = "cgroup v1 " + dir + (p.available ? " (writable)" : " (not writable: " + errname(errno) + ")");
        return p;
    }
    const std::string v2 = "/sys/fs/cgroup";
    for (std::istringstream again(read_all("/proc/self/cgroup")); std::getline(again, line);) {
        if (line.rfind("0::", 0) != 0) continue;
        const std::string dir = v2 + (line.substr(3) == "/" ? std::string() : line.substr(3));
        if (ctrl != "cpuacct" && read_all(dir + "/cgroup.subtree_control").find(ctrl) == std::string::npos) continue;
        if (::access((dir + "/cgroup.procs").c_str(), F_OK) != 0) continue;  // not a v2 mount (v1 hybrid)
        p.available = ::access(dir.c_str(), W_OK) == 0;
        p.detail = "cgroup v2 " + dir + (p.available ? " (writable)" : " (not writable)");
        return p;
    }
    p.detail = "no writable " + ctrl + " controller (cgroup v1 " + ctrl + " hierarchy, or a v2 cgroup delegating it)";
    return p;
}

// A new user namespace whose uid/gid 1000 map to this process's own ids outside, written by this process
// as the supervisor writes a run's maps (setgroups deny first), then setresuid into it.
Probe unprivileged_uid_probe() {
    Probe p{"uid map", false, ""};
    const uid_t outer_uid = ::geteuid();
    const gid_t outer_gid = ::getegid();
    int to_parent[2], to_child[2];
    if (::pipe2(to_parent, O_CLOEXEC) != 0 || ::pipe2(to_child, O_CLOEXEC) != 0) {
        p.detail = "pipe2: " + errname(errno);
        return p;
    }
    UniqueFd pr(to_parent[0]), pw(to_parent[1]), cr(to_child[0]), cw(to_child[1]);
    pid_t pid = ::fork();
    if (pid < 0) {
        p.detail = "fork: " + errname(errno);
        return p;
    }
    if (pid == 0) {
        char c = ::unshare(CLONE_NEWUSER) == 0 ? 0 : static_cast<char>(errno);
        if (::write(pw.get(), &c, 1) != 1 || c != 0) ::_exit(c ? c : EIO);
        if (::read(cr.get(), &c, 1) != 1 || c != 0) ::_exit(EIO);
        if (::setresgid(1000, 1000, 1000) != 0) ::_exit(errno);
        if (::setresuid(1000, 1000, 1000) != 0) ::_exit(errno);
        ::_exit(::getuid() == 1000 && ::geteuid() == 1000 ? 0 : EPERM);
    }
    pw.reset();
    cr.reset();
    auto reap = [pid] {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
    };
    char c = EIO;
    if (::read(pr.get(), &c, 1) != 1) c = EIO;
    if (c != 0) {
        cw.reset();
        reap();
        p.detail = "unshare(CLONE_NEWUSER): " + errname(c);
        return p;
    }
    auto write_file = [](const std::string& path, const std::string& text) {
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        return fd.valid() &&
               ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
    };
    std::string base = "/proc/" + std::to_string(pid) + "/";
    std::string failed;
    const std::string uid_line = "1000 " + std::to_string(outer_uid) + " 1\n";
    const std::string gid_line = "1000 " + std::to_string(outer_gid) + " 1\n";
    if (!write_file(base + "setgroups", "deny"))
        failed = "write setgroups: " + errname(errno);
    else if (!write_file(base + "gid_map", gid_line))
        failed = "write gid_map: " + errname(errno);
    else if (!write_file(base + "uid_map", uid_line))
        failed = "write uid_map: " + errname(errno);
    char go = failed.empty() ? 0 : 1;
    (void)!::write(cw.get(), &go, 1);
    cw.reset();
    int rc = reap();
    if (!failed.empty()) {
        p.detail = failed;
    } else if (rc != 0) {
        p.detail = "setresuid(1000) in a user namespace: " + errname(rc);
    } else {
        p.available = true;
        p.detail = "uid/gid 1000 in a user namespace map to " + std::to_string(outer_uid) + "/" +
                   std::to_string(outer_gid) + " outside, as in a run";
    }
    return p;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
}

const Probe* find(const std::vector<Probe>& probes, const std::string& name) {
    for (const auto& p : probes)
        if (p.name == name) return &p;
    return nullptr;
}

}  // namespace

std::vector<Probe> probe_all() {
    std::vector<Probe> out;
    const std::pair<const char*, int> ns[] = {{"user", CLONE_NEWUSER}, {"mount", CLONE_NEWNS},
                                              {"pid", CLONE_NEWPID},   {"net", CLONE_NEWNET},
                                              {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS}};
    for (const auto& [name, flag] : ns) out.push_back(namespace_probe(name, flag));
    out.push_back(landlock_probe());
    for (auto& p : seccomp_probes()) out.push_back(std::move(p));
    for (auto& p : cgroup_probes()) out.push_back(std::move(p));
    for (const char* c : {"pids", "memory", "cpuacct"}) out.push_back(controller_probe(c));
    out.push_back(unprivileged_uid_probe());
    {
        const auto k = audit::kernel::availability();
        out.push_back(Probe{"kernel audit trail", k.available, k.detail});
    }
    bool root = ::geteuid() == 0;
    out.push_back(Probe{"running as root", root, root ? "euid 0" : "euid " + std::to_string(::geteuid())});
    return out;
}

std::vector<std::string> missing_for(const Policy& policy, const std::vector<Probe>& probes) {
    std::vector<std::string> missing;
    auto need = [&](const std::string& name, const std::string& why) {
        const Probe* p = find(probes, name);
        if (!p || !p->available) missing.push_back(name + (why.empty() ? "" : " (" + why + ")"));
    };
    for (const char* ns : {"user", "mount", "pid", "net", "ipc", "uts"})
        need(std::string("namespace ") + ns, "");
    need("uid map", "");
    // uid 0 ignores RLIMIT_NPROC: a run as root holds max_processes only with a pids cgroup.
    if (plan::is_host_root(::geteuid())) need("pids cgroup", "max_processes for uid 0");
    need("seccomp filter", "");
    if (policy.monitoring.kernel_trail == KernelTrailMode::required) need("kernel audit trail", "monitoring.kernel_trail: required");
    need("seccomp kill_process", "");
    int abi = landlock::probe().abi;
    if (abi < 1) missing.push_back("landlock");
    if (abi >= 1 && abi < 3 && policy.filesystem.blocked.truncate)
        missing.push_back("landlock ABI 3 (blocked_operations: truncate)");
    if (abi >= 1 && abi < 4 && !policy.network.allowed_domains.empty())
        missing.push_back("landlock ABI 4 (blocked_ports with network allowed)");
    if (abi >= 1 && abi < 6) missing.push_back("landlock ABI 6 (scoped signals and abstract unix sockets)");
    return missing;
}

int doctor(std::ostream& out, const plan::Plan& plan, bool as_json) {
    const Policy& policy = *plan.policy;
    auto probes = probe_all();
    auto missing = missing_for(policy, probes);
    const bool strict = policy.enforcement == Enforcement::strict;
    const char* verdict = missing.empty() ? "would run with all layers" : strict ? "would refuse" : "would run without";
    if (as_json) {
        json::Object o;
        std::vector<std::string> layers;
        for (const auto& p : probes) {
            json::Object l;
            l.add("name", p.name).add("available", p.available).add("detail", p.detail);
            layers.push_back(l.str());
        }
        std::vector<std::string> grants;
        for (const auto& g : plan.grants) {
            json::Object j;
            j.add("access", plan::to_string(g.access)).add("path", g.path).add("key", g.key).add("exists", g.exists);
            grants.push_back(j.str());
        }
        o.add("euid", std::int64_t(::geteuid())).add_raw("layers", "[" + join(layers) + "]")
            .add("policy", policy.source).add("enforcement", to_string(policy.enforcement)).add("verdict", verdict)
            .add("missing", missing).add_raw("grants", "[" + join(grants) + "]");
        out << o.str() << "\n";
    } else {
        out << "hive-py doctor: sandbox layers on this machine\n";
        for (const auto& p : probes)
            out << "  " << (p.available ? "[yes] " : "[no]  ") << p.name << ": " << p.detail << "\n";
        std::string list;
        for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
        out << "policy (" << policy.source << "): " << to_string(policy.enforcement) << ": " << verdict
            << (list.empty() ? "" : ": " + list) << "\n";
        out << plan::describe(plan);
    }
    // Non-zero when a run here would be refused: the answer a script (or CI) can act on.
    return !missing.empty() && strict ? 1 : 0;
}

}  // namespace hive::sandbox
