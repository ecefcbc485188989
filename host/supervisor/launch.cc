// Phase 3 of a run: the sandbox's init cloned into its namespaces (fewer, with a loud record, where the
// machine refuses some and the policy is best_effort), moved into the run's cgroup, and watched through
// a pidfd. From here on the sandbox holds its own copy of the parent's memory.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>

#include "common/scrub.h"
#include "common/trace.h"
#include "supervisor/run_state.h"

namespace hive {

namespace {

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

// In the clone child: stdout and stderr become the pipes the parent hashes and relays, then the init runs.
// A failed dup2 would leave the sandbox writing to hive-py's own stdout, unhashed: it ends the sandbox
// with a report instead.
[[noreturn]] void start_init(Layers& l) {
#ifdef HIVE_TRACE
    // The init's marks go straight to hive-py's own stderr: a copy of the stderr pipe kept in the init
    // would hold the parent's loop open until the init's exit.
    g_trace_fd = dup(2);
#endif
    if (dup2(l.pipes.out_w.get(), 1) != 1 || dup2(l.pipes.err_w.get(), 2) != 2) {
        child::Report r;
        r.kind = child::Report::setup_failed;
        r.err = errno;
        r.set_text("stdio", errno == EBADF ? "dup2(output pipe, 1|2): EBADF" : "dup2(output pipe, 1|2) failed");
        [[maybe_unused]] ssize_t n = write(l.pipes.report_w.get(), &r, sizeof r);
        _exit(125);
    }
    child::init_main(l.child);
}

pid_t clone_init(Layers& l, const namespaces::Set& set) {
    l.child.plan.ns.set = set;
    std::fflush(nullptr);
    pid_t pid = pid_t(syscall(SYS_clone, set.clone_flags() | SIGCHLD, nullptr, nullptr, nullptr, 0));
    if (pid == 0) start_init(l);
    return pid;
}

void reap(pid_t pid) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

// The clone was refused: probe the namespaces one by one to name the ones this machine lacks, and clone
// again with those that exist when the policy allows it.
Phase clone_with_fewer(RunSetup& run, Layers& l, Launched& out, int clone_errno) {
    namespaces::Set avail = namespaces::probe();
    auto names = avail.names();
    bool lacking = false;
    for (const char* n : {"user", "mount", "pid", "net", "ipc", "uts"}) {
        if (std::find(names.begin(), names.end(), n) != names.end()) continue;
        lacking = true;
        l.missing.push_back(std::string(n) + " namespace (" + Error::from_errno("unshare", n, clone_errno).message + ")");
    }
    if (!lacking) return Stop{125, Error::from_errno("clone", "sandbox namespaces", clone_errno).message};
    if (run.strict) return Stop{125, missing_layers_error(l.missing)};
    out.namespaces = avail;
    out.init = clone_init(l, avail);
    if (out.init < 0) return Stop{125, errno_error("clone", "sandbox").message};
    return std::nullopt;
}

void record_missing(RunSetup& run, const std::vector<std::string>& missing) {
    for (auto& m : missing) {
        run.log->security("high", "missing_layer", "running without " + m + " (enforcement: best_effort)");
        std::fprintf(stderr, "hive-py: warning: running without %s (best_effort)\n", m.c_str());
    }
}

// The script's process, the init's first child: its pid in our namespace, once the init has forked it
// (/proc/<init>/task/<init>/children). 0 when the init ended first (its set-up failed), -1 past `wait`.
pid_t script_process(pid_t init, int pidfd, std::chrono::milliseconds wait) {
    const std::string children = "/proc/" + std::to_string(init) + "/task/" + std::to_string(init) + "/children";
    const auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
        char buf[64] = {};
        UniqueFd fd(open(children.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.valid() && read(fd.get(), buf, sizeof buf - 1) > 0) return pid_t(std::atol(buf));
        pollfd p{pidfd, POLLIN, 0};
        if (pidfd >= 0 && poll(&p, 1, 0) > 0) return 0;  // the init has ended
        if (std::chrono::steady_clock::now() > until) return -1;
        usleep(100);
    }
}

// The init, then the script's process, into the run's cgroup (one write per hierarchy: pids, memory and
// cpuacct on this v1 host, one on v2); then the word the script's process waits for before the script's
// first line (setup.h: cgroup_joined_fd). Moving both overlaps the first move's RCU grace period (~10 ms
// on cgroup v1 here) with the init's layers and the interpreter's start; the later writes follow within
// the same grace period (the kernel's lock for a move is one for every hierarchy) and cost ~0.05 ms each.
// The init stays out of a v1 memory hierarchy: the OOM killer never picks the process that reports.
Phase join_cgroup(Layers& l, const Launched& out) {
    int err = l.cgroup->add(out.init, /*with_memory=*/false);
    if (err == 0) {
        const pid_t script = script_process(out.init, out.pidfd.get(), std::chrono::seconds(10));
        if (script > 0) err = l.cgroup->add(script);
        else if (script < 0) err = ETIMEDOUT;
    }
    ssize_t n;
    while ((n = write(l.pipes.joined_w.get(), &err, sizeof err)) < 0 && errno == EINTR) {
    }
    l.pipes.joined_w.reset();
    l.pipes.joined_r.reset();
    // EPIPE: the script's process ended before it read the word (its set-up failed): the init reports that.
    if (n != ssize_t(sizeof err) && errno != EPIPE)
        return Stop{125, errno_error("write", "the cgroup word to the sandbox").message};
    return std::nullopt;
}

}  // namespace

Phase launch(RunSetup& run, Layers& l, Launched& out) {
    HIVE_MARK("p.clone");
    out.terminal.emplace();
    out.namespaces = namespaces::Set{true, true, true, true, true, true};
    out.init = clone_init(l, out.namespaces);
    if (out.init < 0) {
        if (auto stop = clone_with_fewer(run, l, out, errno)) return stop;
    } else if (!l.missing.empty() && run.strict) {
        kill(out.init, SIGKILL);
        reap(out.init);
        return Stop{125, missing_layers_error(l.missing)};
    }
    record_missing(run, l.missing);

    // The sandbox has its copy of the heap: what the parent frees from here on stays its own.
    g_scrub_frees = false;
    out.pidfd.reset(int(syscall(SYS_pidfd_open, out.init, 0)));
    if (!out.pidfd.valid()) {
        // The loop then sees the init's end by the report pipe's end of file (the init and the script's
        // process hold its only write ends), one wake-up later than through a pidfd.
        run.log->security("medium", "supervisor",
                          errno_error("pidfd_open", "sandbox init " + std::to_string(out.init)).message +
                              ": the run's end is seen through the report pipe");
    }
    l.pipes.report_w.reset();
    l.pipes.out_w.reset();
    l.pipes.err_w.reset();
    l.pipes.life_r.reset();
    if (l.cgroup)
        if (auto stop = join_cgroup(l, out)) {
            kill(out.init, SIGKILL);
            reap(out.init);
            return stop;
        }
    HIVE_MARK("p.cloned");
    return std::nullopt;
}

}  // namespace hive
