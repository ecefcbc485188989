#include "child/child_main.h"
#include "common/trace.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "child/interpreter.h"
#include "child/report.h"
#include "common/kernel_file.h"

namespace hive::child {

namespace {

volatile pid_t g_script_pid = 0;

// Signals the parent forwards (sent from outside the pid namespace, so si_pid reads 0 in here) go on
// to the script. A terminal's Ctrl-C already reaches the script through the process group; a signal
// the script sends to its own init is ignored.
void forward(int sig, siginfo_t* info, void*) {
    if (info->si_code == SI_USER && info->si_pid == 0 && g_script_pid > 0) kill(g_script_pid, sig);
}

// Close every fd not in `keep`. close_range is the fast path; under our seccomp filter (the script's
// process is forked after it) a range over the channel's fds is ENOSYS, so fall back to close() up to
// RLIMIT_NOFILE for that range.
void close_range_or_loop(unsigned lo, unsigned hi) {
    if (syscall(SYS_close_range, lo, hi, 0) == 0) return;
    rlimit rl{};
    unsigned top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? unsigned(rl.rlim_cur) : 65536;
    for (unsigned fd = lo; fd <= hi && fd < top; ++fd) close(int(fd));
}

void close_all_except(std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    unsigned lo = 0;
    for (int fd : keep) {
        if (fd < 0) continue;
        if (unsigned(fd) > lo) close_range_or_loop(lo, unsigned(fd) - 1);
        lo = unsigned(fd) + 1;
    }
    close_range_or_loop(lo, ~0u);
}

// The init's own /proc/self/io (rchar, wchar, read_bytes, write_bytes), read once, after everything it
// started has been reaped.
bool read_own_io(int fd, std::uint64_t (&io)[4]) {
    if (fd < 0) return false;
    char buf[512];
    const ssize_t n = pread(fd, buf, sizeof buf, 0);
    return n > 0 && parse_proc_io(std::string_view(buf, std::size_t(n)), io);
}

#ifdef HIVE_SANITIZE
extern "C" void hive_sanitizer_wipe_environment_copies();
#endif

// The caller's environment stays out of the sandbox. os.environ starts empty, but the strings sit at the
// top of the stack every fork inherits (the range /proc/<pid>/environ shows), where a script with ctypes
// could read them. The init zeroes its copy first thing; the script's process, its fork, inherits the
// zeros. The variables the policy passes through were copied into Args::env by the parent.
void wipe_environment() {
    for (char** e = environ; e && *e; ++e) explicit_bzero(*e, std::strlen(*e));
#ifdef HIVE_SANITIZE
    hive_sanitizer_wipe_environment_copies();  // ASan's own copy (host/sanitize_options.cc)
#endif
    static char* none[] = {nullptr};
    environ = none;
}

[[noreturn]] void report_failure(int fd, const char* step, const Error& e) {
    Report r;
    r.kind = Report::setup_failed;
    r.err = e.err;
    r.set_text(step, e.message.c_str());
    [[maybe_unused]] ssize_t n = write(fd, &r, sizeof r);
    _exit(125);
}

std::uint32_t layer_bits(const sandbox::Applied& a, const sandbox::ChildPlan& p) {
    std::uint32_t b = layer_rlimits | layer_no_new_privs;
    if (a.cgroup) b |= layer_cgroup;
    if (p.ns.set.user || p.ns.set.pid || p.ns.set.mount || p.ns.set.net) b |= layer_namespaces;
    if (a.landlock) b |= layer_landlock;
    if (a.seccomp) b |= layer_seccomp;
    if (a.proc_mounted) b |= layer_proc;
    if (a.scratch_fds[0] >= 0) b |= layer_private_tmp;
    return b;
}

// Counts a sandbox process that died by `sig`; the first SIGSYS one is the one named, else the first.
void note_signaled(Report& r, pid_t pid, int sig) {
    ++r.signaled;
    if (sig == SIGSYS) ++r.sigsys;
    if (r.first_signal == 0 || (sig == SIGSYS && r.first_signal != SIGSYS)) {
        r.first_signal = sig;
        r.first_pid = pid;
    }
}

// The script's process, forked by the init: its own Landlock scope, only the fds it keeps, the policy's
// environment, then the interpreter.
[[noreturn]] void run_script_process(const Args& a, const sandbox::Applied& applied) {
#ifdef HIVE_TRACE
    close(g_trace_fd);
    g_trace_fd = 2;  // the script's process writes its marks through the stderr pipe, as the parent relays it
#endif
    HIVE_MARK("s.start");
    interpreter::prefault();
    HIVE_MARK("s.prefaulted");
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaction(sig, &dfl, nullptr);
    // The script's own Landlock domain, nested in the sandbox's: it cannot signal its init either.
    Status scoped = landlock::apply_fd(a.plan.script_scope_fd);
    if (!scoped.ok()) report_failure(a.report_fd, "landlock", scoped.error());
    if (a.plan.script_scope_fd >= 0) close(a.plan.script_scope_fd);
    std::vector<int> script_keep = a.keep_fds;
    script_keep.insert(script_keep.end(), {0, 1, 2, a.report_fd, a.plan.cgroup_joined_fd});
    close_all_except(script_keep);
    if (applied.listener_fd >= 0) close(applied.listener_fd);
    clearenv();
    for (const auto& kv : a.env) putenv(const_cast<char*>(kv.c_str()));
    HIVE_MARK("s.run");
    interpreter::run(a.spec, *a.hook_cfg, a.report_fd, a.plan.cgroup_joined_fd);
}

// The init's last work: reap everything (counting deaths by a signal), then one report with the script's
// status, the tree's usage and I/O, and exit.
[[noreturn]] void reap_and_report(const Args& a, const sandbox::Applied& applied, pid_t pid, int io_fd) {
    Report r;
    r.kind = Report::script_ended;
    r.layers = layer_bits(applied, a.plan);
    bool script_done = false;
    for (;;) {
        int status = 0;
        pid_t w = waitpid(-1, &status, 0);
        if (w < 0) {
            if (errno == EINTR) continue;
            break;  // ECHILD: everything reaped
        }
        // A death by a signal before the sweep below is the process's own (a fault, seccomp's SIGSYS, a
        // signal the script sent); after it, a SIGKILL is the sweep's.
        if (WIFSIGNALED(status) && !(script_done && WTERMSIG(status) == SIGKILL)) note_signaled(r, w, WTERMSIG(status));
        if (w == pid && !script_done) {
            script_done = true;
            HIVE_MARK("i.s_reaped");
            r.wait_status = status;
            // Nothing the script started outlives it: in our own pid namespace kill(-1) reaches every
            // process but this one. (Without a pid namespace the parent kills the run's cgroup instead.)
            if (a.plan.ns.set.pid) kill(-1, SIGKILL);
        }
    }
    HIVE_MARK("i.reaped");
    getrusage(RUSAGE_CHILDREN, &r.usage);
    if (struct statfs sf {}; applied.scratch_fds[0] >= 0 && fstatfs(applied.scratch_fds[0], &sf) == 0) {
        r.tmp_valid = 1;
        r.tmp_size_bytes = std::uint64_t(sf.f_blocks) * std::uint64_t(sf.f_bsize);
        r.tmp_used_bytes = std::uint64_t(sf.f_blocks - sf.f_bfree) * std::uint64_t(sf.f_bsize);
        r.tmp_inodes = sf.f_files;
        r.tmp_used_inodes = sf.f_files - sf.f_ffree;
    }
    r.io_valid = read_own_io(io_fd, r.io) ? 1 : 0;
    [[maybe_unused]] ssize_t n = write(a.report_fd, &r, sizeof r);
    HIVE_MARK("i.reported");
    _exit(0);
}

}  // namespace

void init_main(const Args& a) {
    // If hive-py dies (kill -9), the sandbox dies with it: nothing may run on without its supervisor and
    // its wall-clock limit. The lifeline covers a parent that died before the prctl took effect.
    HIVE_MARK("i.start");
    wipe_environment();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pollfd life{a.lifeline_fd, POLLIN, 0};
    if (a.lifeline_fd >= 0 && poll(&life, 1, 0) != 0) _exit(125);
    if (a.lifeline_fd >= 0) close(a.lifeline_fd);

    // Only what the sandbox needs survives: stdio, the report pipe, the ring's wake-up fd, and the fds
    // the prepared layers hold (the Landlock ruleset, the pipe that brings the parent's word on the pids
    // cgroup).
    std::vector<int> keep = a.keep_fds;
    keep.insert(keep.end(), {0, 1, 2, a.report_fd, a.plan.cgroup_joined_fd, a.plan.script_scope_fd});
#ifdef HIVE_TRACE
    keep.push_back(g_trace_fd);
#endif
    if (a.plan.landlock) keep.push_back(a.plan.landlock->ruleset.get());
    close_all_except(keep);

    HIVE_MARK("i.closed");
    // Its own I/O counters, for the report: opened before its Landlock domain closes /proc to it (a read
    // of an open /proc/self/io is the task reading itself: Landlock and the uid change do not stop it).
    // The script's process closes its copy with the other fds before the script's first line.
    const int io_fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC);

    sandbox::Applied applied;
    const char* step = "";
    Status st = sandbox::apply_all(a.plan, applied, step);
    if (!st.ok()) report_failure(a.report_fd, step, st.error());
    HIVE_MARK("i.applied");
    // No mount namespace (best_effort): /tmp is the host's, as the policy grants it, and the hook says so.
    if (a.plan.ns.scratch.on && applied.scratch_fds[0] < 0 && a.hook_cfg) hook::scratch_unavailable(*a.hook_cfg);
    {
        Report ap;
        ap.kind = Report::applied;
        ap.layers = layer_bits(applied, a.plan);
        [[maybe_unused]] ssize_t n = write(a.report_fd, &ap, sizeof ap);
    }
    if (a.plan.landlock && a.plan.landlock->ruleset.valid()) close(a.plan.landlock->ruleset.get());
    if (applied.listener_fd >= 0) {
        // The parent takes its own copy with pidfd_getfd(); the init keeps this one (it runs no script
        // code) and the script's process closes it below.
        Report l;
        l.kind = Report::listener;
        l.err = applied.listener_fd;
        [[maybe_unused]] ssize_t n = write(a.report_fd, &l, sizeof l);
    }

    struct sigaction sa {};
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaction(sig, &sa, nullptr);

    HIVE_MARK("i.fork");
    pid_t pid = fork();
    if (pid < 0) report_failure(a.report_fd, "fork", errno_error("fork", "script process"));
    if (pid == 0) run_script_process(a, applied);
    g_script_pid = pid;
    if (a.plan.cgroup_joined_fd >= 0) close(a.plan.cgroup_joined_fd);
    // The init holds no stdio: when the script and its children end, the parent sees EOF.
    close(0);
    close(1);
    close(2);
    for (int fd : a.keep_fds) close(fd);
    if (a.plan.script_scope_fd >= 0) close(a.plan.script_scope_fd);

    reap_and_report(a, applied, pid, io_fd);
}

}  // namespace hive::child
