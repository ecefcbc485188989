#include "supervisor/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>

#include "audit/audit_log.h"
#include "channel/event.h"
#include "channel/ring.h"
#include "child/child_main.h"
#include "child/report.h"
#include "common/json.h"
#include "common/sha256.h"
#include "policy/policy.h"
#include "sandbox/landlock.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp.h"
#include "supervisor/alerts.h"
#include "supervisor/cgroup.h"
#include "supervisor/netguard.h"
#include "supervisor/resources.h"
#include "supervisor/run_log.h"

extern char** environ;

namespace hive {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kRingBytes = 1 << 20;

int say_error(const std::string& msg, int code) {
    std::fprintf(stderr, "hive-py: error: %s\n", msg.c_str());
    return code;
}

std::string new_run_id() {
    unsigned char b[8];
    if (getrandom(b, sizeof b, 0) != sizeof b) std::memset(b, 0, sizeof b);
    char s[17];
    for (int i = 0; i < 8; ++i) std::snprintf(s + 2 * i, 3, "%02x", b[i]);
    return s;
}

std::string default_log_dir() {
    if (const char* e = std::getenv("HIVE_LOG_DIR"); e && *e) return e;
    if (geteuid() == 0) return "/var/log/hive-py";
    if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/hive-py";
    const char* home = std::getenv("HOME");
    if (!home || !*home) {
        if (passwd* pw = getpwuid(geteuid())) home = pw->pw_dir;
    }
    return std::string(home ? home : "/tmp") + "/.local/state/hive-py";
}

std::string lexical_abs(const std::string& p, const std::string& cwd) {
    std::filesystem::path x = p.empty() || p[0] != '/' ? std::filesystem::path(cwd) / p : std::filesystem::path(p);
    std::string s = x.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

bool path_under(const std::string& p, const std::string& root) {
    return p == root || root == "/" || (p.size() > root.size() && p.compare(0, root.size(), root) == 0 && p[root.size()] == '/');
}

// Real paths (symlinks resolved) where they exist, for comparing the log dir with writable paths.
std::string resolved(const std::string& p) {
    std::error_code ec;
    auto r = std::filesystem::weakly_canonical(p, ec);
    return ec ? p : r.string();
}

const char* signal_name(int sig) {
    const char* n = sigabbrev_np(sig);
    static thread_local char buf[32];
    std::snprintf(buf, sizeof buf, "SIG%s", n ? n : "?");
    return buf;
}

// A private directory of the parent's, removed with everything in it when the run ends.
struct TempDir {
    std::string path;
    Status make(const std::string& tmpl) {
        std::string t = tmpl;
        if (!mkdtemp(t.data())) return errno_error("mkdtemp", tmpl);
        path = t;
        return {};
    }
    ~TempDir() {
        if (path.empty()) return;
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

bool write_text(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return false;
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
}

struct Pipes {
    UniqueFd report_r, report_w, out_r, out_w, err_r, err_w;
};

Status make_pipe(UniqueFd& r, UniqueFd& w) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe2", "");
    r.reset(p[0]);
    w.reset(p[1]);
    return {};
}

bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= std::size_t(w);
    }
    return true;
}

volatile sig_atomic_t g_forward_signal = 0;
void on_parent_signal(int sig, siginfo_t* info, void*) {
    // Ctrl-C at a terminal reaches the script through the process group already (si_code SI_KERNEL);
    // a signal sent to hive-py itself (kill) is passed on to the sandbox.
    if (info->si_code == SI_USER || info->si_code == SI_QUEUE) g_forward_signal = sig;
}

}  // namespace

int run_script(const Options& opts) {
    const auto t_start = Clock::now();
    char cwd_buf[4096];
    if (!getcwd(cwd_buf, sizeof cwd_buf)) return say_error("cannot read the working directory", 2);
    const std::string cwd = cwd_buf;

    auto pol = discover_policy(opts.policy_path, cwd);
    if (!pol) return say_error(pol.error().message, 2);
    const Policy& policy = *pol;

    ScriptSpec spec = opts.script;
    std::string script_hash;
    if (spec.mode == ScriptSpec::Mode::file) {
        struct stat st {};
        if (stat(spec.target.c_str(), &st) != 0)
            return say_error("can't open script '" + spec.target + "': " + std::strerror(errno) +
                                 " (check the path; hive-py runs it from " + cwd + ")", 2);
        if (S_ISDIR(st.st_mode))
            return say_error("'" + spec.target + "' is a directory, not a Python script", 2);
        if (access(spec.target.c_str(), R_OK) != 0)
            return say_error("can't read script '" + spec.target + "': " + std::strerror(errno), 2);
        spec.script_abs = resolved(lexical_abs(spec.target, cwd));
        std::FILE* f = std::fopen(spec.target.c_str(), "rb");
        char head[4096];
        std::size_t got = f ? std::fread(head, 1, sizeof head, f) : 0;
        if (f) std::fclose(f);
        if (std::memchr(head, 0, got) || (got >= 4 && std::memcmp(head, "\x7f" "ELF", 4) == 0))
            return say_error("'" + spec.target + "' is not a Python script (it holds binary data)", 2);
        script_hash = sha256_file_hex(spec.target);
    } else if (spec.mode == ScriptSpec::Mode::command) {
        script_hash = sha256_hex(spec.target);
    }

    // The audit trail must be out of the script's reach: never inside a path it may write.
    std::string log_dir = lexical_abs(opts.log_dir.empty() ? default_log_dir() : opts.log_dir, cwd);
    {
        std::string real_log = resolved(log_dir);
        for (const auto& w : policy.filesystem.allowed_paths) {
            if (path_under(log_dir, w) || path_under(real_log, resolved(w)))
                return say_error("log directory " + log_dir + " lies inside the writable path " + w +
                                     " (security.filesystem.allowed_paths): the script could rewrite its own "
                                     "audit trail; choose --log-dir elsewhere",
                                 2);
        }
    }
    audit::LogOptions lo;
    lo.dir = log_dir;
    lo.max_bytes = policy.monitoring.log_max_bytes;
    if (!policy.monitoring.hmac_key_file.empty()) {
        auto key = audit::read_key_file(policy.monitoring.hmac_key_file);
        if (!key) return say_error("security.monitoring.hmac_key_file: " + key.error().message, 2);
        lo.hmac_key = *key;
    }
    auto opened = audit::AuditLog::open(lo);
    if (!opened) return say_error("cannot open the audit log: " + opened.error().message, 2);

    RunLog rs(new_run_id(), policy, std::move(*opened));
    const bool strict = policy.enforcement == Enforcement::strict;
    Alerter alerter(rs.run_id(), spec.mode == ScriptSpec::Mode::file ? spec.script_abs : spec.target,
                    policy.monitoring.alert_command,
                    [&rs](const std::string& sev, const std::string& kind, const std::string& msg, const std::string& js) {
                        rs.security(sev, kind, msg, "alert", js);
                    });
    const auto& th = policy.monitoring.alert_thresholds;
    // Thresholds are checked on every resource sample during the run and once more on the final figures.
    auto check_thresholds = [&](double cpu_s, double mem_mb, double elapsed_s) {
        double cpu_pct = 100.0 * cpu_s / policy.execution.cpu_seconds;
        double mem_pct = 100.0 * mem_mb / policy.execution.memory_mb;
        char m[160];
        if (cpu_pct >= th.cpu_usage) {
            std::snprintf(m, sizeof m, "CPU time %.2f s is %.0f%% of cpu_seconds (threshold %g%%)", cpu_s, cpu_pct, th.cpu_usage);
            alerter.raise("cpu_usage", m, cpu_pct, th.cpu_usage);
        }
        if (mem_pct >= th.memory_usage) {
            std::snprintf(m, sizeof m, "memory %.1f MB is %.0f%% of memory_mb (threshold %g%%)", mem_mb, mem_pct, th.memory_usage);
            alerter.raise("memory_usage", m, mem_pct, th.memory_usage);
        }
        if (elapsed_s >= th.execution_time) {
            std::snprintf(m, sizeof m, "execution time %.1f s reached the threshold of %g s", elapsed_s, th.execution_time);
            alerter.raise("execution_time", m, elapsed_s, th.execution_time);
        }
    };
    std::vector<std::string> missing;  // layers the policy wants and the machine lacks

    // ---- prepare every layer in the parent ----
    Pipes pp;
    for (auto [r, w] : {std::pair{&pp.report_r, &pp.report_w}, std::pair{&pp.out_r, &pp.out_w},
                        std::pair{&pp.err_r, &pp.err_w}}) {
        Status st = make_pipe(*r, *w);
        if (!st.ok()) return say_error(st.error().message, 125);
    }
    auto ring = channel::Ring::create(kRingBytes);
    if (!ring) return say_error(ring.error().message, 125);

    landlock::Support ll_support = landlock::probe();
    if (ll_support.abi == 0) missing.push_back("landlock (" + ll_support.why_not + ")");
    landlock::RunPaths run_paths;
    if (spec.mode == ScriptSpec::Mode::file) {
        run_paths.read_only.push_back(spec.script_abs);
        run_paths.read_only.push_back(spec.script_abs.substr(0, spec.script_abs.rfind('/')));
    }

    // Network allow-list: resolve the domains now, give the sandbox a hosts file with only them (and no
    // DNS server), and hand every connect() to the parent (netguard.h).
    const bool network = !policy.network.allowed_domains.empty();
    std::optional<NetGuard> netguard;
    std::optional<seccomp::Prepared> connect_notify;
    TempDir net_dir;
    std::vector<std::pair<std::string, std::string>> binds;
    std::string network_json = "null";
    std::vector<std::string> resolved_addresses;  // the hook knows them too, for clear refusals
    if (network) {
        Resolved res = resolve_domains(policy);
        for (auto& d : res.unresolved) {
            std::fprintf(stderr, "hive-py: warning: allowed domain '%s' resolves to no address (wildcards cannot be "
                                 "checked): it is unreachable in this run\n", d.c_str());
            rs.security("medium", "network", "allowed domain " + d + " resolves to no address: unreachable");
        }
        json::Object nj;
        for (auto& [d, addrs] : res.by_domain) nj.add(d, addrs);
        network_json = nj.str();
        auto made = net_dir.make("/var/tmp/hive-py-net-XXXXXX");
        if (!made.ok()) return say_error(made.error().message, 125);
        std::string hosts = net_dir.path + "/hosts", resolv = net_dir.path + "/resolv.conf";
        if (!write_text(hosts, hosts_file(res)) ||
            !write_text(resolv, "# hive-py: no name server; names come from the hosts file only\n"))
            return say_error(errno_error("write", net_dir.path).message, 125);
        binds = {{hosts, "/etc/hosts"}, {resolv, "/etc/resolv.conf"}};
        for (const char* f : {"/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf"})
            if (access(f, F_OK) == 0) run_paths.read_only.push_back(f);
        run_paths.read_only.push_back(hosts);
        run_paths.read_only.push_back(resolv);
        auto cn = seccomp::prepare_connect_notify();
        if (!cn) return say_error("seccomp: " + cn.error().message, 125);
        connect_notify.emplace(std::move(*cn));
        for (auto& [addr, dom] : res.domain_of) resolved_addresses.push_back(addr);
        netguard.emplace(policy, std::move(res));
    }

    landlock::Prepared ll;
    if (ll_support.abi > 0) {
        auto p = landlock::prepare(policy, run_paths, ll_support);
        if (!p) return say_error("landlock: " + p.error().message, 125);
        ll = std::move(*p);
    }
    UniqueFd script_scope;
    if (ll_support.abi > 0) {
        auto sscope = landlock::prepare_script_scope(ll_support);
        if (!sscope) return say_error("landlock: " + sscope.error().message, 125);
        script_scope = std::move(*sscope);
    }
    // Only the ring's wake-up fd stays in the script's process; the report pipe is closed there before
    // the script's first line (only the sandbox's init, which runs no script code, keeps it).
    auto sc = seccomp::prepare(policy, {ring->wake_fd()});
    if (!sc) return say_error("seccomp: " + sc.error().message, 125);

    std::optional<RunCgroup> cgroup;
    {
        auto cg = RunCgroup::create(rs.run_id(), policy.execution.max_processes + 1);
        if (cg) cgroup.emplace(std::move(*cg));
        else if (geteuid() == 0)
            missing.push_back("pids cgroup (" + cg.error().message +
                              "): max_processes cannot hold for uid 0 without it");
    }

    namespaces::Plan ns;
    ns.set = {true, true, true, true, true, true};
    ns.outer_uid = geteuid();
    ns.outer_gid = getegid();

    // The hook's view of the policy (the same rules Landlock enforces, for clear errors and the record).
    hook::Config hc;
    hc.ring = ring->header();
    hc.write_paths = policy.filesystem.allowed_paths;
    hc.read_paths = landlock::system_read_paths();
    for (const std::vector<std::string>* v : std::initializer_list<const std::vector<std::string>*>{
             &policy.filesystem.read_only_paths, &policy.filesystem.allowed_paths, &run_paths.read_only,
             &policy.filesystem.exec_paths})
        hc.read_paths.insert(hc.read_paths.end(), v->begin(), v->end());
    hc.blocked = policy.filesystem.blocked;
    hc.network = network;
    hc.blocked_ports = policy.network.blocked_ports;
    for (auto& d : policy.network.allowed_domains) hc.allowed_hosts.insert(d);
    if (network) {
        hc.allowed_hosts.insert(resolved_addresses.begin(), resolved_addresses.end());
        hc.read_paths.push_back("/etc/hosts");
        hc.read_paths.push_back("/etc/resolv.conf");
    }
    hc.allow_subprocess = policy.execution.allow_subprocess;
    hc.exec_paths = policy.filesystem.exec_paths;
    for (auto& m : policy.imports.allow) hc.import_allow.insert(m.substr(0, m.find('.')));
    // ctypes and cffi give native code the whole address space: refused unless a policy allows them.
    for (const char* m : {"ctypes", "_ctypes", "cffi", "_cffi_backend"})
        if (!hc.import_allow.count(m)) hc.import_deny.insert(m);
    for (auto& m : policy.imports.deny) hc.import_deny.insert(m.substr(0, m.find('.')));
    for (auto& m : hc.import_deny) {
        hc.denied_files.push_back("/usr/lib/python3.11/" + m);
        hc.denied_files.push_back("/usr/lib/python3.11/" + m + ".py");
        hc.denied_files.push_back("/usr/lib/python3.11/lib-dynload/" + m + ".cpython-311-x86_64-linux-gnu.so");
    }

    child::Args ca;
    ca.plan.policy = &policy;
    ca.plan.landlock = &ll;
    ca.plan.seccomp = &*sc;
    ca.plan.cgroup_procs_fd = cgroup ? cgroup->procs_fd() : -1;
    ca.plan.connect_notify = connect_notify ? &*connect_notify : nullptr;
    ca.plan.script_scope_fd = script_scope.get();
    ca.spec = spec;
    ca.hook_cfg = &hc;
    ca.report_fd = pp.report_w.get();
    ca.keep_fds = {ring->wake_fd()};
    for (const auto& name : policy.execution.env_passthrough)
        if (const char* v = std::getenv(name.c_str())) ca.env.push_back(name + "=" + v);

    // ---- clone the sandbox ----
    std::string layers_note;
    auto do_clone = [&](const namespaces::Set& set) -> pid_t {
        ca.plan.ns = ns;
        ca.plan.ns.set = set;
        ca.plan.ns.binds = binds;
        ca.plan.ns.writable = policy.filesystem.allowed_paths;
        ca.plan.ns.writable.push_back("/dev/null");
        std::fflush(nullptr);
        pid_t pid = pid_t(syscall(SYS_clone, set.clone_flags() | SIGCHLD, nullptr, nullptr, nullptr, 0));
        if (pid == 0) {
            // Stdout/stderr go to the parent through pipes: it hashes them and relays them.
            dup2(pp.out_w.get(), 1);
            dup2(pp.err_w.get(), 2);
            child::init_main(ca);
        }
        return pid;
    };
    pid_t child = do_clone(ns.set);
    if (child < 0) {
        int e = errno;
        namespaces::Set avail = namespaces::probe();
        std::vector<std::string> lacking;
        for (auto& n : std::vector<std::string>{"user", "mount", "pid", "net", "ipc", "uts"}) {
            auto names = avail.names();
            if (std::find(names.begin(), names.end(), n) == names.end()) lacking.push_back(n + " namespace");
        }
        if (lacking.empty())
            return say_error(Error::from_errno("clone", "namespaces", e).message, 125);
        for (auto& l : lacking) missing.push_back(l + " (" + Error::from_errno("unshare", l, e).message + ")");
        if (strict) {
            std::string m;
            for (auto& x : missing) m += (m.empty() ? "" : "; ") + x;
            return say_error("the sandbox cannot be set up on this machine: missing " + m +
                                 ". Policy enforcement is strict; set security.enforcement: best_effort to run "
                                 "with the layers that exist",
                             125);
        }
        ns.set = avail;
        child = do_clone(avail);
        if (child < 0) return say_error(errno_error("clone", "sandbox").message, 125);
    } else if (!missing.empty() && strict) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        std::string m;
        for (auto& x : missing) m += (m.empty() ? "" : "; ") + x;
        return say_error("the sandbox cannot be set up on this machine: missing " + m +
                             ". Policy enforcement is strict; set security.enforcement: best_effort to run with "
                             "the layers that exist",
                         125);
    }
    for (auto& m : missing) rs.security("high", "missing_layer", "running without " + m + " (enforcement: best_effort)");
    if (!missing.empty())
        for (auto& m : missing) std::fprintf(stderr, "hive-py: warning: running without %s (best_effort)\n", m.c_str());

    pp.report_w.reset();
    pp.out_w.reset();
    pp.err_w.reset();
    UniqueFd pidfd(int(syscall(SYS_pidfd_open, child, 0)));

    struct sigaction sa {};
    sa.sa_sigaction = on_parent_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    // ---- supervise ----
    Sha256 out_hash, err_hash;
    std::string out_text, err_text;
    std::uint64_t out_bytes = 0, err_bytes = 0;
    const auto deadline = t_start + std::chrono::seconds(policy.execution.timeout_seconds);
    const auto sample_every = std::chrono::milliseconds(policy.monitoring.sample_interval_ms);
    auto next_sample = Clock::now() + sample_every;
    bool out_open = true, err_open = true, exited = false, timed_out = false, report_open = true;
    std::vector<child::Report> reports;
    int wait_status = 0;
    rusage ru {};
    IoCounters io;
    double peak_sample_rss = 0;
    Clock::time_point exit_seen{};

    auto relay = [&](int fd, bool is_out) -> bool {
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
        if (n <= 0) return false;
        (is_out ? out_hash : err_hash).update(std::string_view(buf, std::size_t(n)));
        (is_out ? out_bytes : err_bytes) += std::uint64_t(n);
        if (opts.json) {
            (is_out ? out_text : err_text).append(buf, std::size_t(n));
        } else if (!write_all(is_out ? 1 : 2, buf, std::size_t(n)) && errno == EPIPE) {
            // Our reader went away (`hive-py s.py | head -1`): close the script's pipe too, so that its
            // next write fails with EPIPE as it would under python3 (BrokenPipeError).
            return false;
        }
        return true;
    };
    auto kill_tree = [&] {
        kill(child, SIGKILL);  // pid 1 of the namespace: the kernel kills everything in it
        if (cgroup) cgroup->kill_all();
    };

    while (!exited || out_open || err_open) {
        auto now = Clock::now();
        if (!timed_out && now >= deadline) {
            timed_out = true;
            kill_tree();
        }
        if (exited && now - exit_seen > std::chrono::seconds(2)) {
            // Something outside a pid namespace still holds the output pipes: end it.
            if (cgroup) cgroup->kill_all();
            if (now - exit_seen > std::chrono::seconds(5)) break;
        }
        if (g_forward_signal) {
            kill(child, g_forward_signal);
            g_forward_signal = 0;
        }
        pollfd fds[6];
        int n = 0;
        int i_out = -1, i_err = -1, i_pid = -1, i_wake, i_rep = -1, i_net = -1;
        if (out_open) { i_out = n; fds[n++] = {pp.out_r.get(), POLLIN, 0}; }
        if (err_open) { i_err = n; fds[n++] = {pp.err_r.get(), POLLIN, 0}; }
        if (!exited) { i_pid = n; fds[n++] = {pidfd.get(), POLLIN, 0}; }
        if (report_open) { i_rep = n; fds[n++] = {pp.report_r.get(), POLLIN, 0}; }
        if (netguard && netguard->fd() >= 0) { i_net = n; fds[n++] = {netguard->fd(), POLLIN, 0}; }
        i_wake = n;
        fds[n++] = {ring->wake_fd(), POLLIN, 0};
        auto until = std::min<Clock::time_point>({deadline, next_sample, now + std::chrono::milliseconds(50)});
        int timeout_ms = int(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()));
        int r = poll(fds, nfds_t(n), timeout_ms);
        if (r < 0 && errno != EINTR) break;
        if (r > 0) {
            if (i_out >= 0 && fds[i_out].revents && !(out_open = relay(pp.out_r.get(), true))) pp.out_r.reset();
            if (i_err >= 0 && fds[i_err].revents && !(err_open = relay(pp.err_r.get(), false))) pp.err_r.reset();
            if (i_rep >= 0 && fds[i_rep].revents) {
                child::Report rr;
                ssize_t got = read(pp.report_r.get(), &rr, sizeof rr);
                if (got <= 0) {
                    report_open = false;
                } else if (got == ssize_t(sizeof rr) && rr.magic == child::Report::kMagic) {
                    if (rr.kind == child::Report::listener && netguard) {
                        UniqueFd l(int(syscall(SYS_pidfd_getfd, pidfd.get(), rr.err, 0)));
                        if (l.valid()) netguard->adopt(std::move(l));
                        else rs.security("critical", "network", errno_error("pidfd_getfd", "seccomp listener").message +
                                         ": every connect() of the script stays blocked");
                    } else {
                        reports.push_back(rr);
                    }
                } else {
                    rs.security("high", "channel_fault", "malformed report record from the sandbox init");
                }
            }
            if (i_net >= 0 && (fds[i_net].revents & POLLIN)) {
                std::vector<NetDecision> ds;
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
                netguard->handle(ds, int(std::clamp<long>(left, 1, 10000)));
                for (auto& d : ds) {
                    json::Object o;
                    o.add("run_id", rs.run_id()).add("seq", std::int64_t(rs.next_seq())).add("timestamp", iso_now())
                        .add("pid", std::int64_t(d.pid)).add("event", "network.connect").add("kind", "socket")
                        .add("args", std::vector<std::string>{d.domain, d.address, std::to_string(d.port), d.reason})
                        .add("decision", d.verdict == "allowed" ? "allowed" : "denied_by_kernel");
                    std::string line = o.str();
                    rs.event(line, d.verdict == "allowed" ? channel::Decision::allowed : channel::Decision::denied_by_kernel);
                    if (d.verdict != "allowed") {
                        rs.security("high", "denied_by_kernel", "connect to " + d.address + ":" + std::to_string(d.port) +
                                    " refused: " + d.reason, "event", line);
                    }
                }
            }
            if (fds[i_wake].revents) {
                std::uint64_t v;
                [[maybe_unused]] ssize_t k = read(ring->wake_fd(), &v, sizeof v);
            }
            if (i_pid >= 0 && fds[i_pid].revents) {
                // The init is a zombie: read its I/O counters (its reaped children's included) before
                // reaping it.
                siginfo_t si {};
                waitid(P_PID, id_t(child), &si, WEXITED | WNOWAIT);
                io = read_io(child);
                wait4(child, &wait_status, 0, &ru);
                exited = true;
                exit_seen = Clock::now();
            }
        }
        rs.take(channel::drain(ring->header(), exited));
        if (Clock::now() >= next_sample && !exited) {
            next_sample += sample_every;
            Sample s = sample_tree(cgroup ? cgroup->pids() : std::vector<pid_t>{child});
            peak_sample_rss = std::max(peak_sample_rss, s.rss_mb);
            json::Object o;
            o.add("run_id", rs.run_id()).add("timestamp", iso_now())
                .add("elapsed_seconds", std::chrono::duration<double>(Clock::now() - t_start).count())
                .add("cpu_seconds", s.cpu_seconds).add("rss_mb", s.rss_mb).add("processes", s.processes);
            rs.sample(o.str());
            check_thresholds(s.cpu_seconds, s.rss_mb, std::chrono::duration<double>(Clock::now() - t_start).count());
        }
        if (rs.pending() >= 256) rs.flush();
    }
    if (!exited) {
        kill_tree();
        io = read_io(child);
        wait4(child, &wait_status, 0, &ru);
    }
    rs.take(channel::drain(ring->header(), true));
    const double elapsed = std::chrono::duration<double>(Clock::now() - t_start).count();

    // ---- what happened ----
    // The init's records: set-up failure or the script's end (read during the run, and what is left now).
    {
        int fl = fcntl(pp.report_r.get(), F_GETFL);
        fcntl(pp.report_r.get(), F_SETFL, fl | O_NONBLOCK);
        child::Report tmp;
        while (read(pp.report_r.get(), &tmp, sizeof tmp) == ssize_t(sizeof tmp))
            if (tmp.magic == child::Report::kMagic && tmp.kind != child::Report::listener) reports.push_back(tmp);
    }
    child::Report rep;
    bool have_report = false;
    // A set-up failure wins over any later record; otherwise the script's end.
    for (auto& r : reports) {
        if (have_report && rep.kind == child::Report::setup_failed) break;
        rep = r;
        have_report = true;
    }

    std::string ended, error, hive_message;
    int return_code = 0, exit_code = 0;
    std::vector<std::string> layers;
    if (have_report) {
        if (rep.layers & child::layer_rlimits) layers.push_back("rlimits");
        if (rep.layers & child::layer_cgroup) layers.push_back("pids_cgroup");
        if (rep.layers & child::layer_namespaces)
            for (auto& n : ns.set.names()) layers.push_back("namespace:" + n);
        if (rep.layers & child::layer_proc) layers.push_back("fresh_proc");
        if (rep.layers & child::layer_no_new_privs) layers.push_back("no_new_privs");
        if (rep.layers & child::layer_landlock) layers.push_back("landlock:abi" + std::to_string(ll.abi));
        if (rep.layers & child::layer_seccomp) layers.push_back("seccomp");
    }
    if (timed_out) {
        ended = "timeout";
        error = "timeout";
        return_code = exit_code = 124;
        hive_message = "the run exceeded security.execution.timeout_seconds (" +
                       std::to_string(policy.execution.timeout_seconds) + " s) and was killed with everything it started";
        rs.security("high", "timeout", hive_message);
    } else if (have_report && rep.kind == child::Report::setup_failed) {
        ended = "setup_failed";
        error = "setup_failed";
        return_code = exit_code = 125;
        hive_message = std::string("sandbox set-up failed at step '") + rep.step + "': " + rep.message;
        rs.security("critical", "setup_failed", hive_message);
    } else if (have_report) {
        int st = rep.wait_status;
        if (WIFEXITED(st)) {
            ended = "exit";
            return_code = exit_code = WEXITSTATUS(st);
        } else if (WIFSIGNALED(st)) {
            int sig = WTERMSIG(st);
            ended = "signal";
            return_code = -sig;
            exit_code = 128 + sig;
            error = std::string("killed by ") + signal_name(sig);
            if (sig == SIGXCPU || (sig == SIGKILL && ru.ru_utime.tv_sec + ru.ru_stime.tv_sec >= policy.execution.cpu_seconds)) {
                ended = "cpu_limit";
                hive_message = std::string("the script was killed by ") + signal_name(sig) +
                               ": it used its CPU limit (security.execution.cpu_seconds = " +
                               std::to_string(policy.execution.cpu_seconds) + ")";
                rs.security("high", "limit", hive_message);
            } else if (sig == SIGSYS) {
                ended = "seccomp_kill";
                hive_message = "the script was killed by the kernel (seccomp, SIGSYS): it made a forbidden system call";
                rs.security("critical", "denied_by_kernel", hive_message);
            } else if (sig == SIGXFSZ) {
                hive_message = "the script was killed by SIGXFSZ: it exceeded security.execution.file_size_mb";
                rs.security("high", "limit", hive_message);
            } else {
                hive_message = std::string("the script was killed by ") + signal_name(sig);
            }
        }
    } else {
        ended = "init_died";
        error = "sandbox init died";
        int sig = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
        return_code = exit_code = sig ? 128 + sig : 125;
        hive_message = std::string("the sandbox's init process ended without a report") +
                       (sig ? std::string(" (") + signal_name(sig) + ")" : "");
        rs.security("critical", "init_died", hive_message);
    }
    if (!error.empty() && error != "timeout" && ended != "exit" && !opts.json) {}

    Usage usage = usage_from(ru, io, elapsed);
    check_thresholds(usage.user_cpu_seconds + usage.system_cpu_seconds, usage.peak_memory_mb, elapsed);
    if (exit_code != 0)
        alerter.raise("run_failed", "the run failed: exit " + std::to_string(exit_code) + (ended.empty() ? "" : " (" + ended + ")"),
                      exit_code, 0, /*to_stderr=*/false);
    alerter.finish(5.0);
    const std::vector<std::string>& alerts = alerter.raised();
    json::Object rec;
    rec.add("run_id", rs.run_id()).add("timestamp", iso_now())
        .add("script_path", spec.mode == ScriptSpec::Mode::file ? spec.script_abs : spec.target)
        .add("mode", spec.mode == ScriptSpec::Mode::file ? "file" : spec.mode == ScriptSpec::Mode::command ? "command"
                     : spec.mode == ScriptSpec::Mode::module ? "module" : "stdin")
        .add("script_hash", script_hash).add("args", spec.args).add("return_code", return_code)
        .add("exit_code", exit_code).add("stdout_hash", out_hash.hex()).add("stderr_hash", err_hash.hex())
        .add("stdout_bytes", std::int64_t(out_bytes)).add("stderr_bytes", std::int64_t(err_bytes))
        .add("execution_time", elapsed).add("success", exit_code == 0).add("ended", ended)
        .add_raw("resource_usage", usage.json()).add("peak_sampled_rss_mb", peak_sample_rss)
        .add("policy_source", policy.source).add("policy_sha256", policy.sha256).add("layers", layers)
        .add("enforcement", to_string(policy.enforcement)).add("user", std::int64_t(geteuid()))
        .add("cwd", cwd).add("events", std::int64_t(rs.events()))
        .add("startup_events", std::int64_t(rs.startup_events())).add("denials", std::int64_t(rs.denials()))
        .add("alerts", alerts).add_raw("network", network_json);
    if (netguard) rec.add("connections_allowed", netguard->allowed()).add("connections_denied", netguard->denied());
    if (!error.empty()) rec.add("error", error);
    rs.finish(rec.str());
    const std::vector<std::string> log_errors = rs.errors();
    for (auto& e : log_errors) std::fprintf(stderr, "hive-py: error: audit log: %s\n", e.c_str());
    // A run whose record could not be kept did not succeed, whatever the script did.
    if (!log_errors.empty() && exit_code == 0) exit_code = return_code = 125;

    if (opts.json) {
        json::Object o;
        o.add("success", exit_code == 0).add("stdout", out_text).add("stderr", err_text)
            .add("return_code", return_code).add("execution_time", elapsed);
        if (!error.empty()) o.add("error", error);
        o.add("run_id", rs.run_id()).add("policy_source", policy.source).add("layers", layers)
            .add("log_dir", log_dir).add_raw("resource_usage", usage.json());
        std::string s = o.str() + "\n";
        write_all(1, s.data(), s.size());
    }
    // stderr carries hive-py's own words only here, after the script's: one line for a run hive-py ended
    // (naming any alerts with it), or one line per alert of a run the script ended itself.
    if (!hive_message.empty()) {
        std::string also;
        for (auto& a : alerter.for_stderr()) also += (also.empty() ? "; alerts: " : ", ") + a.substr(0, a.find(':'));
        std::fprintf(stderr, "hive-py: %s (run %s, audit log %s%s)\n", hive_message.c_str(), rs.run_id().c_str(),
                     log_dir.c_str(), also.c_str());
    } else {
        for (auto& a : alerter.for_stderr())
            std::fprintf(stderr, "hive-py: alert: %s (run %s)\n", a.c_str(), rs.run_id().c_str());
    }
    return exit_code;
}

}  // namespace hive
