// The parent's run, in order: preflight (policy, script, log directory) -> prepare every layer ->
// clone the sandbox -> supervise (relay and hash output, drain the event ring, sample resources, answer
// network notifications, enforce the wall clock) -> judge the outcome -> the run record -> the result.
#include "supervisor/supervisor.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "audit/audit_log.h"
#include "channel/event.h"
#include "channel/ring.h"
#include "child/child_main.h"
#include "child/report.h"
#include "common/json.h"
#include "common/scrub.h"
#include "common/secret.h"
#include "common/sha256.h"
#include "policy/policy.h"
#include "sandbox/landlock.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp.h"
#include "supervisor/alerts.h"
#include "supervisor/cgroup.h"
#include "supervisor/hook_config.h"
#include "supervisor/netguard.h"
#include "supervisor/outcome.h"
#include "supervisor/preflight.h"
#include "supervisor/resources.h"
#include "supervisor/run_log.h"
#include "common/trace.h"

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

struct Pipes {
    UniqueFd report_r, report_w, out_r, out_w, err_r, err_w, life_r, life_w, joined_r, joined_w;
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

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

std::string missing_layers_error(const std::vector<std::string>& missing) {
    return "the sandbox cannot be set up on this machine: missing " + join(missing, "; ") +
           ". Policy enforcement is strict; set security.enforcement: best_effort to run with the layers that "
           "exist";
}

// The network guard's decisions become audit events, and refusals security events.
void record_decisions(RunLog& log, const std::vector<NetDecision>& ds) {
    for (const auto& d : ds) {
        const bool allowed = d.verdict == "allowed";
        json::Object o;
        o.add("run_id", log.run_id()).add("seq", std::int64_t(log.next_seq())).add("timestamp", iso_now())
            .add("pid", std::int64_t(d.pid)).add("event", "network.connect").add("kind", "socket")
            .add("args", std::vector<std::string>{d.domain, d.address, std::to_string(d.port), d.reason})
            .add("decision", allowed ? "allowed" : "denied_by_kernel");
        std::string line = o.str();
        log.event(line, allowed ? channel::Decision::allowed : channel::Decision::denied_by_kernel);
        if (!allowed)
            log.security("high", "denied_by_kernel",
                         "connect to " + d.address + ":" + std::to_string(d.port) + " refused: " + d.reason, "event",
                         line);
    }
}

std::vector<std::string> layer_names(std::uint32_t bits, const namespaces::Set& ns, int landlock_abi) {
    std::vector<std::string> v;
    if (bits & child::layer_rlimits) v.push_back("rlimits");
    if (bits & child::layer_cgroup) v.push_back("pids_cgroup");
    if (bits & child::layer_namespaces)
        for (auto& n : ns.names()) v.push_back("namespace:" + n);
    if (bits & child::layer_proc) v.push_back("fresh_proc");
    if (bits & child::layer_no_new_privs) v.push_back("no_new_privs");
    if (bits & child::layer_landlock) v.push_back("landlock:abi" + std::to_string(landlock_abi));
    if (bits & child::layer_seccomp) v.push_back("seccomp");
    return v;
}

const char* mode_name(ScriptSpec::Mode m) {
    switch (m) {
        case ScriptSpec::Mode::file: return "file";
        case ScriptSpec::Mode::command: return "command";
        case ScriptSpec::Mode::module: return "module";
        case ScriptSpec::Mode::stdin_: return "stdin";
    }
    return "?";
}

}  // namespace

int run_script(const Options& opts) {
    const auto t_start = Clock::now();
    char cwd_buf[4096];
    if (!getcwd(cwd_buf, sizeof cwd_buf)) return say_error("cannot read the working directory", 2);
    const std::string cwd = cwd_buf;

    // ---- preflight: anything wrong here is the user's to fix, and nothing has run (exit 2) ----
    HIVE_MARK("p.run_script");
    auto pol = discover_policy(opts.policy_path, cwd);
    if (!pol) return say_error(pol.error().message, 2);
    // The alert command may carry a credential: it moves into a Secret (zeros in every fork), and the
    // policy's copy, which the sandbox inherits, is wiped. Only the Alerter runs it.
    std::shared_ptr<const Secret> alert_command;
    if (std::string& ac = pol->monitoring.alert_command; !ac.empty()) {
        auto s = Secret::copy_of(ac);
        if (!s) return say_error("monitoring.alert_command: " + s.error().message, 125);
        alert_command = std::move(*s);
        explicit_bzero(ac.data(), ac.size());
        ac.clear();
    }
    const Policy& policy = *pol;
    ScriptSpec spec = opts.script;
    HIVE_MARK("p.policy");
    auto script_hash = check_script(spec, cwd);
    if (!script_hash) return say_error(script_hash.error().message, 2);
    // The script's directory: readable in the sandbox (its sibling modules), so never the HMAC key's place.
    const std::string script_dir = spec.mode == ScriptSpec::Mode::file && spec.script_abs.rfind('/') > 0
                                       ? spec.script_abs.substr(0, spec.script_abs.rfind('/'))
                                       : "";
    auto lo = log_options(opts.log_dir, policy, cwd, sandbox_readable(policy, script_dir));
    if (!lo) return say_error(lo.error().message, 2);
    lo->compress_in_background = true;
    HIVE_MARK("p.script");
    auto opened = audit::AuditLog::open(*lo);
    if (!opened) return say_error("cannot open the audit log: " + opened.error().message, 2);
    const std::string log_dir = lo->dir;
    const std::string script_name = spec.mode == ScriptSpec::Mode::file ? spec.script_abs : spec.target;

    RunLog rs(new_run_id(), policy, std::move(*opened));
    const bool strict = policy.enforcement == Enforcement::strict;
    Alerter alerter(rs.run_id(), script_name, alert_command,
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

    // ---- prepare every layer in the parent: the child only applies them ----
    std::vector<std::string> missing;  // layers the policy wants and the machine lacks
    HIVE_MARK("p.logs");
    Pipes pp;
    for (auto [r, w] : {std::pair{&pp.report_r, &pp.report_w}, std::pair{&pp.out_r, &pp.out_w},
                        std::pair{&pp.err_r, &pp.err_w}, std::pair{&pp.life_r, &pp.life_w}}) {
        Status st = make_pipe(*r, *w);
        if (!st.ok()) return say_error(st.error().message, 125);
    }
    auto ring = channel::Ring::create(kRingBytes);
    if (!ring) return say_error(ring.error().message, 125);

    landlock::RunPaths run_paths;
    if (spec.mode == ScriptSpec::Mode::file) run_paths.read_only.push_back(spec.script_abs);
    if (!script_dir.empty()) run_paths.read_only.push_back(script_dir);
    // Network allow-list (netguard.h): resolved now, a hosts file with only those names, connect() to us.
    auto net = setup_network(policy);
    if (!net) return say_error("network: " + net.error().message, 125);
    NetworkSetup* network = net->get();
    if (network) {
        for (auto& d : network->unresolved) {
            std::fprintf(stderr, "hive-py: warning: allowed domain '%s' resolves to no address (wildcards cannot be "
                                 "checked): it is unreachable in this run\n", d.c_str());
            rs.security("medium", "network", "allowed domain " + d + " resolves to no address: unreachable");
        }
        run_paths.read_only.insert(run_paths.read_only.end(), network->read_paths.begin(), network->read_paths.end());
    }

    HIVE_MARK("p.net");
    landlock::Support ll_support = landlock::probe();
    if (ll_support.abi == 0) missing.push_back("landlock (" + ll_support.why_not + ")");
    landlock::Prepared ll;
    UniqueFd script_scope;
    if (ll_support.abi > 0) {
        auto p = landlock::prepare(policy, run_paths, ll_support);
        if (!p) return say_error("landlock: " + p.error().message, 125);
        ll = std::move(*p);
        auto sscope = landlock::prepare_script_scope(ll_support);
        if (!sscope) return say_error("landlock: " + sscope.error().message, 125);
        script_scope = std::move(*sscope);
    }
    // Only the ring's wake-up fd stays in the script's process; the report pipe is closed there before
    // the script's first line (only the sandbox's init, which runs no script code, keeps it).
    HIVE_MARK("p.landlock");
    auto sc = seccomp::prepare(policy, {ring->wake_fd()});
    if (!sc) return say_error("seccomp: " + sc.error().message, 125);

    HIVE_MARK("p.seccomp");
    std::optional<RunCgroup> cgroup;
    {
        auto cg = RunCgroup::create(rs.run_id(), policy.execution.max_processes + 1);
        if (cg) cgroup.emplace(std::move(*cg));
        else if (geteuid() == 0)
            missing.push_back("pids cgroup (" + cg.error().message +
                              "): max_processes cannot hold for uid 0 without it");
    }

    HIVE_MARK("p.cgroup");
    hook::Config hc = make_hook_config(policy, run_paths, network ? network->addresses : std::vector<std::string>{},
                                       ring->header());
    child::Args ca;
    ca.plan.policy = &policy;
    ca.plan.landlock = &ll;
    ca.plan.seccomp = &*sc;
    if (cgroup) {
        Status st = make_pipe(pp.joined_r, pp.joined_w);
        if (!st.ok()) return say_error(st.error().message, 125);
    }
    ca.plan.cgroup_joined_fd = pp.joined_r.get();
    ca.plan.connect_notify = network ? &network->connect_notify : nullptr;
    ca.plan.script_scope_fd = script_scope.get();
    ca.plan.ns.outer_uid = geteuid();
    ca.plan.ns.outer_gid = getegid();
    if (network) ca.plan.ns.binds = network->binds;
    ca.plan.ns.writable = policy.filesystem.allowed_paths;
    ca.plan.ns.writable.push_back("/dev/null");
    ca.spec = spec;
    ca.hook_cfg = &hc;
    ca.report_fd = pp.report_w.get();
    ca.lifeline_fd = pp.life_r.get();  // the write end stays open in this process until it exits
    ca.keep_fds = {ring->wake_fd()};
    for (const auto& name : policy.execution.env_passthrough)
        if (const char* v = std::getenv(name.c_str())) ca.env.push_back(name + "=" + v);

    // ---- clone the sandbox's init into its namespaces ----
    auto do_clone = [&](const namespaces::Set& set) -> pid_t {
        ca.plan.ns.set = set;
        std::fflush(nullptr);
        pid_t pid = pid_t(syscall(SYS_clone, set.clone_flags() | SIGCHLD, nullptr, nullptr, nullptr, 0));
        if (pid == 0) {
#ifdef HIVE_TRACE
            // The init's marks go straight to hive-py's own stderr: a copy of the stderr pipe kept in the
            // init would hold the parent's loop open until the init's exit.
            g_trace_fd = dup(2);
#endif
            // Stdout/stderr go to the parent through pipes: it hashes them and relays them.
            dup2(pp.out_w.get(), 1);
            dup2(pp.err_w.get(), 2);
            child::init_main(ca);
        }
        return pid;
    };
    HIVE_MARK("p.clone");
    namespaces::Set ns_set{true, true, true, true, true, true};
    pid_t child = do_clone(ns_set);
    if (child < 0) {
        // Which namespaces does this machine refuse? Probe them one by one to name them.
        const int e = errno;
        namespaces::Set avail = namespaces::probe();
        auto names = avail.names();
        bool lacking = false;
        for (const char* n : {"user", "mount", "pid", "net", "ipc", "uts"}) {
            if (std::find(names.begin(), names.end(), n) != names.end()) continue;
            lacking = true;
            missing.push_back(std::string(n) + " namespace (" + Error::from_errno("unshare", n, e).message + ")");
        }
        if (!lacking) return say_error(Error::from_errno("clone", "namespaces", e).message, 125);
        if (strict) return say_error(missing_layers_error(missing), 125);
        ns_set = avail;
        child = do_clone(avail);
        if (child < 0) return say_error(errno_error("clone", "sandbox").message, 125);
    } else if (!missing.empty() && strict) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        return say_error(missing_layers_error(missing), 125);
    }
    for (auto& m : missing) {
        rs.security("high", "missing_layer", "running without " + m + " (enforcement: best_effort)");
        std::fprintf(stderr, "hive-py: warning: running without %s (best_effort)\n", m.c_str());
    }

    // The sandbox has its copy of the heap: what the parent frees from here on stays its own.
    g_scrub_frees = false;
    if (cgroup) {
        // The init waits for this word before it forks (setup.h: cgroup_joined_fd).
        const int err = cgroup->add(child);
        [[maybe_unused]] ssize_t n = write(pp.joined_w.get(), &err, sizeof err);
        pp.joined_w.reset();
        pp.joined_r.reset();
    }
    HIVE_MARK("p.cloned");
    pp.report_w.reset();
    pp.out_w.reset();
    pp.err_w.reset();
    pp.life_r.reset();
    UniqueFd pidfd(int(syscall(SYS_pidfd_open, child, 0)));
    // The parent's heap from here on: writing down thousands of events grows and frees it in batches, and
    // glibc's default (give memory back past 128 KiB free at the top) made it shrink and grow again every
    // batch, each new page a fault (~40 brk calls in a 5,000-file run). Set after the clone: the sandbox
    // keeps glibc's defaults.
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 1 << 20);

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
    bool events_flowing = false;  // the last drain found records: come back soon
    bool init_to_reap = false;  // the run ended on the init's report; the init itself is reaped last

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
    auto read_report = [&] {
        child::Report rr;
        ssize_t got = read(pp.report_r.get(), &rr, sizeof rr);
        if (got <= 0) {
            report_open = false;
        } else if (got != ssize_t(sizeof rr) || rr.magic != child::Report::kMagic) {
            rs.security("high", "channel_fault", "malformed report record from the sandbox init");
        } else if (rr.kind == child::Report::listener && network) {
            UniqueFd l(int(syscall(SYS_pidfd_getfd, pidfd.get(), rr.err, 0)));
            if (l.valid()) network->guard->adopt(std::move(l));
            else rs.security("critical", "network", errno_error("pidfd_getfd", "seccomp listener").message +
                                                        ": every connect() of the script stays blocked");
        } else if (rr.kind != child::Report::listener) {
            reports.push_back(rr);
            if (rr.kind == child::Report::script_ended && !exited) {
                // Every process of the run is reaped (the init sends this after waitpid says ECHILD) and
                // the script's usage is in the report. The init's own exit - its namespaces torn down, ~1 ms
                // here - overlaps the records written below instead of preceding them. Its I/O counters
                // (its own and every reaped process's) come with the report: the init reads its own
                // /proc/self/io. Failing that, root reads the live init's; otherwise they are read from its
                // zombie as before.
                HIVE_MARK("p.report_read");
                IoCounters got;
                if (rr.io_valid) {
                    got.rchar = rr.io[0];
                    got.wchar = rr.io[1];
                    got.read_bytes = rr.io[2];
                    got.write_bytes = rr.io[3];
                    got.valid = true;
                } else {
                    got = read_io(child);
                }
                if (got.valid) {
                    io = got;
                    ru = rr.usage;
                    exited = init_to_reap = true;
                    HIVE_MARK("p.report");
                    exit_seen = Clock::now();
                }
            }
        }
    };

    std::vector<pollfd> fds;  // kept across rounds: its capacity, not a new allocation each time
    fds.reserve(16);
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
        fds.clear();
        int i_out = -1, i_err = -1, i_pid = -1, i_wake, i_rep = -1, i_net = -1;
        auto add = [&](int fd) {
            fds.push_back({fd, POLLIN, 0});
            return int(fds.size()) - 1;
        };
        if (out_open) i_out = add(pp.out_r.get());
        if (err_open) i_err = add(pp.err_r.get());
        if (!exited) i_pid = add(pidfd.get());
        if (report_open) i_rep = add(pp.report_r.get());
        if (network && network->guard->fd() >= 0) i_net = add(network->guard->fd());
        i_wake = add(ring->wake_fd());
        // The parent's own connects for the script, in progress (netguard.h): their completion wakes us.
        if (network) network->guard->add_pollfds(fds);
        // While events flow, drain every 2 ms rather than at the writer's half-full wake-up or the 50 ms
        // tick: the work of writing them down overlaps the script instead of piling up for its end (a
        // 5,000-file script's run ended ~15 ms after its last line before).
        auto until = std::min<Clock::time_point>(
            {deadline, next_sample, now + std::chrono::milliseconds(events_flowing ? 2 : 50)});
        if (network)
            if (auto t = network->guard->next_deadline()) until = std::min(until, *t);
        int timeout_ms = int(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()));
        int r = poll(fds.data(), nfds_t(fds.size()), timeout_ms);
        if (r < 0 && errno != EINTR) break;
        if (r > 0) {
            if (i_out >= 0 && fds[i_out].revents && !(out_open = relay(pp.out_r.get(), true))) pp.out_r.reset();
            if (i_err >= 0 && fds[i_err].revents && !(err_open = relay(pp.err_r.get(), false))) pp.err_r.reset();
            if (i_rep >= 0 && fds[i_rep].revents) read_report();
            if (i_net >= 0 && (fds[i_net].revents & POLLIN)) {
                std::vector<NetDecision> ds;
                // Each connect the parent makes is bounded by 10 s, and by the run's own wall clock.
                network->guard->receive(ds, std::min(deadline, Clock::now() + std::chrono::seconds(10)));
                record_decisions(rs, ds);
            }
            if (fds[i_wake].revents) {
                std::uint64_t v;
                [[maybe_unused]] ssize_t k = read(ring->wake_fd(), &v, sizeof v);
            }
            if (i_pid >= 0 && fds[i_pid].revents && !exited) {
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
        if (network && network->guard->pending()) {  // completed, failed, or past their deadline
            std::vector<NetDecision> ds;
            network->guard->progress(ds);
            record_decisions(rs, ds);
        }
        {
            channel::Drained d = channel::drain(ring->header(), exited);
            events_flowing = !d.records.empty();
            rs.take(std::move(d));
        }
        if (Clock::now() >= next_sample && !exited) {
            next_sample += sample_every;
            Sample s = sample_tree(cgroup ? cgroup->pids() : std::vector<pid_t>{child});
            peak_sample_rss = std::max(peak_sample_rss, s.rss_mb);
            const double elapsed_now = std::chrono::duration<double>(Clock::now() - t_start).count();
            json::Object o;
            o.add("run_id", rs.run_id()).add("timestamp", iso_now()).add("elapsed_seconds", elapsed_now)
                .add("cpu_seconds", s.cpu_seconds).add("rss_mb", s.rss_mb).add("processes", s.processes);
            rs.sample(o.str());
            check_thresholds(s.cpu_seconds, s.rss_mb, elapsed_now);
        }
        if (rs.pending() >= 256) rs.flush();
    }
    if (!exited) {
        kill_tree();
        io = read_io(child);
        wait4(child, &wait_status, 0, &ru);
    }
    rs.take(channel::drain(ring->header(), true));
    if (network) {
        std::vector<NetDecision> ds;
        network->guard->progress(ds);
        network->guard->abandon(ds);
        record_decisions(rs, ds);
    }
    HIVE_MARK("p.loopend");
    const double elapsed = std::chrono::duration<double>(Clock::now() - t_start).count();
    // What the init wrote and the loop did not read yet.
    fcntl(pp.report_r.get(), F_SETFL, fcntl(pp.report_r.get(), F_GETFL) | O_NONBLOCK);
    while (report_open) read_report();

    // ---- what happened ----
    const Outcome out = judge(reports, timed_out, wait_status, ru, policy, rs);
    const std::vector<std::string> layers = layer_names(out.layers, ns_set, ll.abi);
    int exit_code = out.exit_code, return_code = out.return_code;
    Usage usage = usage_from(ru, io, elapsed);
    check_thresholds(usage.user_cpu_seconds + usage.system_cpu_seconds, usage.peak_memory_mb, elapsed);
    if (exit_code != 0)
        alerter.raise("run_failed", "the run failed: exit " + std::to_string(exit_code) + " (" + out.ended + ")",
                      exit_code, 0, /*to_stderr=*/false);
    alerter.finish(5.0);

    json::Object rec;
    rec.add("run_id", rs.run_id()).add("timestamp", iso_now()).add("script_path", script_name)
        .add("mode", mode_name(spec.mode)).add("script_hash", *script_hash).add("args", spec.args)
        .add("return_code", return_code).add("exit_code", exit_code).add("stdout_hash", out_hash.hex())
        .add("stderr_hash", err_hash.hex()).add("stdout_bytes", std::int64_t(out_bytes))
        .add("stderr_bytes", std::int64_t(err_bytes)).add("execution_time", elapsed).add("success", exit_code == 0)
        .add("ended", out.ended).add_raw("resource_usage", usage.json()).add("peak_sampled_rss_mb", peak_sample_rss)
        .add("policy_source", policy.source).add("policy_sha256", policy.sha256).add("layers", layers)
        .add("enforcement", to_string(policy.enforcement)).add("user", std::int64_t(geteuid())).add("cwd", cwd)
        .add("events", std::int64_t(rs.events())).add("startup_events", std::int64_t(rs.startup_events()))
        .add("denials", std::int64_t(rs.denials())).add("alerts", alerter.raised())
        .add_raw("network", network ? network->json : "null");
    if (network)
        rec.add("connections_allowed", network->guard->allowed()).add("connections_denied", network->guard->denied());
    if (!out.error.empty()) rec.add("error", out.error);
    rs.finish(rec.str());
    HIVE_MARK("p.records");
    const std::vector<std::string> log_errors = rs.errors();
    for (auto& e : log_errors) std::fprintf(stderr, "hive-py: error: audit log: %s\n", e.c_str());
    // A run whose record could not be kept did not succeed, whatever the script did.
    if (!log_errors.empty() && exit_code == 0) exit_code = return_code = 125;

    if (opts.json) {
        json::Object o;
        o.add("success", exit_code == 0).add("stdout", out_text).add("stderr", err_text)
            .add("return_code", return_code).add("execution_time", elapsed);
        if (!out.error.empty()) o.add("error", out.error);
        o.add("run_id", rs.run_id()).add("policy_source", policy.source).add("layers", layers)
            .add("log_dir", log_dir).add_raw("resource_usage", usage.json());
        std::string s = o.str() + "\n";
        write_all(1, s.data(), s.size());
    }
    // stderr carries hive-py's own words only here, after the script's: one line for a run hive-py ended
    // (naming any alerts with it), or one line per alert of a run the script ended itself.
    if (!out.message.empty()) {
        std::string also;
        for (auto& a : alerter.for_stderr()) also += (also.empty() ? "; alerts: " : ", ") + a.substr(0, a.find(':'));
        std::fprintf(stderr, "hive-py: %s (run %s, audit log %s%s)\n", out.message.c_str(), rs.run_id().c_str(),
                     log_dir.c_str(), also.c_str());
    } else {
        for (auto& a : alerter.for_stderr())
            std::fprintf(stderr, "hive-py: alert: %s (run %s)\n", a.c_str(), rs.run_id().c_str());
    }
    if (init_to_reap) waitpid(child, nullptr, 0);
    HIVE_MARK("p.reaped");
    return exit_code;
}

}  // namespace hive
