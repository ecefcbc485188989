// Phase 4 of a run: one event loop, which owns what the run's sandbox talks through: the output relays
// (hashed, passed on or captured), the report pipe, the event ring, the init's pidfd, the network guard,
// the resource sampler and the wall clock. It ends when the init has ended and both output pipes are
// closed (or the wall clock, then a grace period, says so).
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>

#include "common/json.h"
#include "common/trace.h"
#include "supervisor/relay.h"
#include "supervisor/run_state.h"

namespace hive {

namespace {

volatile sig_atomic_t g_forward_signal = 0;
void on_parent_signal(int sig, siginfo_t* info, void*) {
    // Ctrl-C at a terminal reaches the script through the process group already (si_code SI_KERNEL);
    // a signal sent to hive-py itself (kill) is passed on to the sandbox.
    if (info->si_code == SI_USER || info->si_code == SI_QUEUE) g_forward_signal = sig;
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

class Supervisor {
public:
    Supervisor(RunSetup& run, Layers& l, Launched& launched, bool capture)
        : run_(run), l_(l), pid_(launched.init), pidfd_(launched.pidfd.get()),
          out_(std::move(l.pipes.out_r), capture ? -1 : 1), err_(std::move(l.pipes.err_r), capture ? -1 : 2),
          deadline_(run.started + std::chrono::seconds(run.policy.execution.timeout_seconds)),
          sample_every_(std::chrono::milliseconds(run.policy.monitoring.sample_interval_ms)),
          next_sample_(Clock::now() + sample_every_) {}

    Observed run();

private:
    struct Slots {
        int out = -1, err = -1, out_w = -1, err_w = -1, pid = -1, wake = -1, rep = -1, net = -1, kernel = -1;
    };
    void kill_tree();
    void read_report();
    void take_script_ended(const child::Report& rr);
    void reap_init();
    Slots poll_once();
    void handle(const Slots& s);
    void drain();
    void sample();
    void check_cpu();
    void finish();

    RunSetup& run_;
    Layers& l_;
    const pid_t pid_;
    const int pidfd_;
    OutputRelay out_, err_;
    const Clock::time_point deadline_;
    const Clock::duration sample_every_;
    Clock::time_point next_sample_;
    Clock::time_point next_cpu_check_ = Clock::now() + kCpuCheckPeriod;
    Clock::time_point exit_seen_{};
    Observed seen_;
    bool exited_ = false, report_open_ = true;
    bool events_flowing_ = false;  // the last drain found records: come back soon
    bool broken_ = false;          // poll() itself failed: the tree is killed and the loop ends
    std::vector<pollfd> fds_;      // kept across rounds: its capacity, not a new allocation each time
};

void Supervisor::kill_tree() {
    kill(pid_, SIGKILL);  // pid 1 of the namespace: the kernel kills everything in it
    if (l_.cgroup) l_.cgroup->kill_all();
}

void Supervisor::read_report() {
    child::Report rr;
    ssize_t got = read(l_.pipes.report_r.get(), &rr, sizeof rr);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
        if (errno == EAGAIN) report_open_ = false;  // the non-blocking read at the end: nothing more
        return;
    }
    if (got <= 0) {
        report_open_ = false;
    } else if (got != ssize_t(sizeof rr) || rr.magic != child::Report::kMagic) {
        run_.log->security("high", "channel_fault", "malformed report record from the sandbox init");
    } else if (rr.kind == child::Report::listener) {
        if (!l_.network) return;
        UniqueFd lfd(int(syscall(SYS_pidfd_getfd, pidfd_, rr.err, 0)));
        if (lfd.valid()) l_.network->guard->adopt(std::move(lfd));
        else run_.log->security("critical", "network", errno_error("pidfd_getfd", "seccomp listener").message +
                                                           ": every connect() of the script stays blocked");
    } else {
        seen_.reports.push_back(rr);
        if (rr.kind == child::Report::script_ended && !exited_) take_script_ended(rr);
    }
}

// Every process of the run is reaped (the init sends this after waitpid says ECHILD) and the script's
// usage is in the report. The init's own exit - its namespaces torn down, ~1 ms here - overlaps the
// records written next instead of preceding them. Its I/O counters (its own and every reaped process's)
// come with the report: the init reads its own /proc/self/io. Failing that, root reads the live init's;
// otherwise they are read from its zombie (reap_init).
void Supervisor::take_script_ended(const child::Report& rr) {
    HIVE_MARK("p.report_read");
    IoCounters got;
    if (rr.io_valid) {
        got.rchar = rr.io[0];
        got.wchar = rr.io[1];
        got.read_bytes = rr.io[2];
        got.write_bytes = rr.io[3];
        got.valid = true;
    } else {
        got = read_io(pid_);
    }
    if (!got.valid) return;
    seen_.io = got;
    seen_.usage = rr.usage;
    exited_ = seen_.init_to_reap = true;
    HIVE_MARK("p.report");
    exit_seen_ = Clock::now();
}

// The init is a zombie (or is killed now): read its I/O counters (its reaped children's included) before
// reaping it.
void Supervisor::reap_init() {
    siginfo_t si{};
    while (waitid(P_PID, id_t(pid_), &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
    seen_.io = read_io(pid_);
    pid_t r;
    while ((r = wait4(pid_, &seen_.wait_status, 0, &seen_.usage)) < 0 && errno == EINTR) {
    }
    if (r != pid_)
        run_.log->security("high", "channel_fault", errno_error("wait4", "sandbox init " + std::to_string(pid_)).message);
    exited_ = true;
    exit_seen_ = Clock::now();
}

Supervisor::Slots Supervisor::poll_once() {
    fds_.clear();
    Slots s;
    auto add = [&](int fd, short events = POLLIN) {
        if (fd < 0) return -1;
        fds_.push_back({fd, events, 0});
        return int(fds_.size()) - 1;
    };
    s.out = add(out_.read_fd());
    s.err = add(err_.read_fd());
    s.out_w = add(out_.write_fd(), POLLOUT);
    s.err_w = add(err_.write_fd(), POLLOUT);
    if (!exited_ && pidfd_ >= 0) s.pid = add(pidfd_);
    if (report_open_) s.rep = add(l_.pipes.report_r.get());
    if (l_.network && l_.network->guard->fd() >= 0) s.net = add(l_.network->guard->fd());
    s.wake = add(l_.ring->wake_fd());
    if (l_.kernel.active()) s.kernel = add(l_.kernel.fd());
    // The parent's own connects for the script, in progress (netguard.h): their completion wakes us.
    if (l_.network) l_.network->guard->add_pollfds(fds_);
    // While events flow, drain every 2 ms rather than at the writer's half-full wake-up or the 50 ms
    // tick: the work of writing them down overlaps the script instead of piling up for its end (a
    // 5,000-file script's run ended ~15 ms after its last line before).
    const auto now = Clock::now();
    auto until = std::min<Clock::time_point>(
        {deadline_, next_sample_, next_cpu_check_, now + std::chrono::milliseconds(events_flowing_ ? 2 : 50)});
    if (l_.network)
        if (auto t = l_.network->guard->next_deadline()) until = std::min(until, *t);
    const int timeout_ms =
        int(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()));
    const int r = poll(fds_.data(), nfds_t(fds_.size()), timeout_ms);
    if (r < 0 && errno != EINTR) {
        run_.log->security("high", "channel_fault", errno_error("poll", "the run's fds").message);
        kill_tree();
        broken_ = true;
    }
    if (r <= 0) for (auto& p : fds_) p.revents = 0;
    return s;
}

void Supervisor::handle(const Slots& s) {
    if (s.out_w >= 0 && fds_[s.out_w].revents) out_.on_writable();
    if (s.err_w >= 0 && fds_[s.err_w].revents) err_.on_writable();
    if (s.out >= 0 && fds_[s.out].revents) out_.on_readable();
    if (s.err >= 0 && fds_[s.err].revents) err_.on_readable();
    if (s.rep >= 0 && fds_[s.rep].revents) read_report();
    if (s.net >= 0 && (fds_[s.net].revents & POLLIN)) {
        std::vector<NetDecision> ds;
        // Each connect the parent makes is bounded by 10 s, and by the run's own wall clock.
        l_.network->guard->receive(ds, std::min(deadline_, Clock::now() + std::chrono::seconds(10)));
        record_decisions(*run_.log, ds);
    }
    if (s.kernel >= 0 && fds_[s.kernel].revents) l_.kernel.on_readable(*run_.log);
    if (fds_[s.wake].revents) {
        std::uint64_t v;
        [[maybe_unused]] ssize_t k = read(l_.ring->wake_fd(), &v, sizeof v);  // non-blocking: EAGAIN is fine
    }
    if (s.pid >= 0 && fds_[s.pid].revents && !exited_) reap_init();
    if (pidfd_ < 0 && !report_open_ && !exited_) reap_init();  // no pidfd (launch.cc): the report pipe's end
    if (l_.network && l_.network->guard->pending()) {  // completed, failed, or past their deadline
        std::vector<NetDecision> ds;
        l_.network->guard->progress(ds);
        record_decisions(*run_.log, ds);
    }
}

void Supervisor::drain() {
    channel::Drained d = l_.ring->drain(exited_);
    events_flowing_ = !d.records.empty() || d.more;
    run_.log->take(std::move(d));
}

void Supervisor::sample() {
    if (Clock::now() < next_sample_ || exited_) return;
    next_sample_ += sample_every_;
    // The run's processes: its cgroup's list, else the init and everything below it.
    std::vector<pid_t> members;
    double tree_cpu = 0;
    if (l_.cgroup && (l_.cgroup->has_pids() || l_.cgroup->has_cpu())) members = l_.cgroup->pids();
    else tree_cpu = tree_cpu_seconds(pid_, run_.policy.execution.max_processes + 2, &members);
    Sample s = sample_tree(members);
    seen_.peak_sample_rss = std::max(seen_.peak_sample_rss, s.rss_mb);
    // CPU of the whole tree so far, reaped processes included; memory as the cgroup counts it.
    if (auto c = l_.limits.cpu_by_cgroup ? l_.cgroup->cpu_seconds() : std::nullopt) tree_cpu = *c;
    s.cpu_seconds = std::max(s.cpu_seconds, tree_cpu);
    // (a plain double, not the optional: GCC 12 warns of that optional as maybe uninitialised)
    const std::optional<double> cg_read = l_.cgroup ? l_.cgroup->memory_mb() : std::nullopt;
    const bool has_cg_mem = cg_read.has_value();
    const double cg_mem = has_cg_mem ? *cg_read : 0.0;
    const double elapsed_now = std::chrono::duration<double>(Clock::now() - run_.started).count();
    json::Object o;
    o.add("run_id", run_.log->run_id()).add("timestamp", iso_now()).add("elapsed_seconds", elapsed_now)
        .add("cpu_seconds", s.cpu_seconds).add("rss_mb", s.rss_mb).add("processes", s.processes);
    if (has_cg_mem) o.add("cgroup_memory_mb", cg_mem);
    run_.log->sample(o.str());
    check_thresholds(run_, s.cpu_seconds, std::max(s.rss_mb, cg_mem), elapsed_now);
}

// cpu_seconds for the whole tree (RLIMIT_CPU holds it per process only): the cgroup's counter, else the
// tree summed from /proc, every kCpuCheckPeriod. At cpu_seconds every process of the run gets SIGXCPU, as
// RLIMIT_CPU's soft limit gives one (a single busy process sees no difference); one CPU second later, as
// its hard limit, SIGKILL ends the run with everything it started.
void Supervisor::check_cpu() {
    const auto now = Clock::now();
    LimitEvents& le = seen_.limit_events;
    if (now < next_cpu_check_ || exited_ || le.cpu_killed || seen_.timed_out) return;
    next_cpu_check_ = now + kCpuCheckPeriod;
    const int cap = run_.policy.execution.max_processes + 2;
    std::vector<pid_t> members;
    double cpu = 0;
    if (auto c = l_.limits.cpu_by_cgroup ? l_.cgroup->cpu_seconds() : std::nullopt) cpu = *c;
    else cpu = tree_cpu_seconds(pid_, cap, &members);
    le.cpu_seen = std::max(le.cpu_seen, cpu);
    const double limit = double(run_.policy.execution.cpu_seconds);
    if (!le.cpu_exceeded && cpu >= limit) {
        le.cpu_exceeded = true;
        le.cpu_at_kill = cpu;
        if (l_.limits.cpu_by_cgroup || members.empty()) members = l_.cgroup ? l_.cgroup->pids() : members;
        for (pid_t p : members)
            if (p != pid_) kill(p, SIGXCPU);  // the init runs no script code
    } else if (le.cpu_exceeded && cpu >= limit + 1) {
        le.cpu_killed = true;
        kill_tree();
    }
}

// After the loop: the init reaped, the last records drained, the guard's last connects answered, and
// what the init wrote that the loop did not read yet.
void Supervisor::finish() {
    if (!exited_) {
        kill_tree();
        reap_init();
    }
    // Every process of the sandbox is gone: what is left in the ring is bounded by its capacity.
    for (bool more = true; more;) {
        channel::Drained d = l_.ring->drain(true);
        more = d.more;
        run_.log->take(std::move(d));
    }
    // The kernel's records of the run, up to the end marker (kernel_trail.h).
    l_.kernel.finish(*run_.log, [this] {
        if (!seen_.init_to_reap) return;
        while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
        seen_.init_to_reap = false;
    });
    if (l_.network) {
        std::vector<NetDecision> ds;
        l_.network->guard->progress(ds);
        l_.network->guard->abandon(ds);
        record_decisions(*run_.log, ds);
    }
    HIVE_MARK("p.loopend");
    seen_.elapsed = std::chrono::duration<double>(Clock::now() - run_.started).count();
    for (auto [relay, hash, bytes, text, cut] :
         {std::tuple{&out_, &seen_.out_hash, &seen_.out_bytes, &seen_.out_text, &seen_.out_truncated},
          std::tuple{&err_, &seen_.err_hash, &seen_.err_bytes, &seen_.err_text, &seen_.err_truncated}}) {
        *hash = std::move(relay->hash());
        *bytes = relay->bytes();
        *text = relay->captured();
        *cut = relay->truncated();
        seen_.undelivered_bytes += relay->undelivered();
    }
    const int rfd = l_.pipes.report_r.get();
    if (const int fl = fcntl(rfd, F_GETFL); fl < 0 || fcntl(rfd, F_SETFL, fl | O_NONBLOCK) != 0) report_open_ = false;
    while (report_open_) read_report();
}

Observed Supervisor::run() {
    while (!exited_ || !out_.done() || !err_.done()) {
        const auto now = Clock::now();
        if (!seen_.timed_out && now >= deadline_) {
            seen_.timed_out = true;
            kill_tree();
        }
        if (exited_ && now - exit_seen_ > std::chrono::seconds(2)) {
            // Something outside a pid namespace still holds the output pipes, or the caller takes no more
            // of what is left: end it.
            if (l_.cgroup) l_.cgroup->kill_all();
            if (now - exit_seen_ > std::chrono::seconds(5)) {
                out_.abandon();
                err_.abandon();
                break;
            }
        }
        if (g_forward_signal) {
            kill(pid_, g_forward_signal);
            g_forward_signal = 0;
        }
        handle(poll_once());
        drain();
        sample();
        check_cpu();
        if (run_.log->pending() >= 256) run_.log->flush();
        if (broken_) break;
    }
    finish();
    return std::move(seen_);
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_sigaction = on_parent_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

}  // namespace

Observed supervise(RunSetup& run, Layers& l, Launched& launched, bool capture_output) {
    // The parent's heap from here on: writing down thousands of events grows and frees it in batches, and
    // glibc's default (give memory back past 128 KiB free at the top) made it shrink and grow again every
    // batch, each new page a fault (~40 brk calls in a 5,000-file run). Set after the clone: the sandbox
    // keeps glibc's defaults.
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    install_signal_handlers();
    l.kernel.set_init(launched.init);
    Supervisor s(run, l, launched, capture_output);
    Observed seen = s.run();
    // Everything of the sandbox has ended: nothing can change the terminals again.
    if (launched.terminal)
        if (auto t = launched.terminal->restore(); !t.ok() || *t > 0)
            run.log->security("medium", "terminal_restored",
                              t.ok() ? "the script changed the caller's terminal (termios, window size or line "
                                       "discipline): restored"
                                     : "restoring the caller's terminal failed: " + t.error().message);
    return seen;
}

}  // namespace hive
