#include "supervisor/outcome.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>

namespace hive {

const char* signal_name(int sig) {
    const char* n = sigabbrev_np(sig);
    static thread_local char buf[32];
    std::snprintf(buf, sizeof buf, "SIG%s", n ? n : "?");
    return buf;
}

Outcome judge(const std::vector<child::Report>& reports, bool timed_out, int init_wait_status, const rusage& ru,
              const Policy& policy, RunLog& log, const LimitEvents& limits, const LimitHolding& held) {
    Outcome o;
    // A set-up failure wins over any later record; otherwise the script's end.
    const child::Report* rep = nullptr;
    for (const auto& r : reports) {
        if (r.kind == child::Report::applied) o.layers = r.layers;  // a run ended from outside keeps these
        if (rep && rep->kind == child::Report::setup_failed) break;
        if (r.kind == child::Report::setup_failed || r.kind == child::Report::script_ended) rep = &r;
    }
    if (rep && rep->kind == child::Report::script_ended) {
        o.layers = rep->layers;
        o.sandbox_kills = int(rep->sigsys);
        o.signal_deaths = int(rep->signaled);
        // The script's own SIGSYS is `seccomp_kill` below; the others would pass unseen: the script's
        // process may well exit 0 after its fork died.
        const bool script_sigsys = WIFSIGNALED(rep->wait_status) && WTERMSIG(rep->wait_status) == SIGSYS;
        const unsigned others = rep->sigsys - (script_sigsys && rep->sigsys > 0 ? 1u : 0u);
        if (others > 0) {
            log.security("high", "kernel_kill",
                         std::to_string(others) + (others == 1 ? " process" : " processes") +
                             " of the sandbox besides the script's own killed by the kernel (seccomp, SIGSYS): a "
                             "forbidden system call; the first: pid " + std::to_string(rep->first_pid) +
                             " in the sandbox, " + signal_name(rep->first_signal));
        }
    }

    if (timed_out) {
        o.ended = o.error = "timeout";
        o.return_code = o.exit_code = 124;
        o.message = "the run exceeded security.execution.timeout_seconds (" +
                    std::to_string(policy.execution.timeout_seconds) + " s) and was killed with everything it started";
        log.security("high", "timeout", o.message);
    } else if (limits.cpu_exceeded && !(rep && rep->kind == child::Report::setup_failed)) {
        // The processes together used cpu_seconds (each under RLIMIT_CPU): the parent's SIGXCPU to each,
        // then its SIGKILL to the run. The codes are the script's own end, if the init saw it.
        o.ended = "cpu_limit";
        if (rep && WIFEXITED(rep->wait_status) && !limits.cpu_killed) {
            o.return_code = o.exit_code = WEXITSTATUS(rep->wait_status);
        } else {
            const int sig = rep && WIFSIGNALED(rep->wait_status) && !limits.cpu_killed ? WTERMSIG(rep->wait_status) : SIGKILL;
            o.error = std::string("killed by ") + signal_name(sig);
            o.return_code = -sig;
            o.exit_code = 128 + sig;
        }
        char m[300];
        std::snprintf(m, sizeof m, "the run's processes together used its CPU limit (security.execution.cpu_seconds = %d; "
                      "%.2f s of the tree's CPU): SIGXCPU to each of them%s",
                      policy.execution.cpu_seconds, limits.cpu_at_kill,
                      limits.cpu_killed ? ", then SIGKILL to everything it started a CPU second later" : "");
        o.message = m;
        o.limit = "cpu_seconds";
        o.limit_mechanism = held.cpu;
        o.limit_observed = limits.cpu_at_kill;
        log.security("high", "limit", o.message + " (" + held.cpu + ")");
    } else if (rep && rep->kind == child::Report::setup_failed) {
        o.ended = o.error = "setup_failed";
        o.return_code = o.exit_code = 125;
        o.message = std::string("sandbox set-up failed at step '") + rep->step + "': " + rep->message;
        log.security("critical", "setup_failed", o.message);
    } else if (rep && WIFEXITED(rep->wait_status)) {
        o.ended = "exit";
        o.return_code = o.exit_code = WEXITSTATUS(rep->wait_status);
    } else if (rep && WIFSIGNALED(rep->wait_status)) {
        const int sig = WTERMSIG(rep->wait_status);
        o.ended = "signal";
        o.return_code = -sig;
        o.exit_code = 128 + sig;
        o.error = std::string("killed by ") + signal_name(sig);
        const bool cpu_spent = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec >= policy.execution.cpu_seconds;
        if (sig == SIGKILL && limits.oom_kills > 0) {
            o.ended = "memory_limit";
            o.message = "the script was killed by the kernel's OOM killer: the run's processes together reached "
                        "security.execution.memory_mb (" + std::to_string(policy.execution.memory_mb) + " MB)";
            o.limit = "memory_mb";
            o.limit_mechanism = held.memory;
            log.security("high", "limit", o.message + " (" + held.memory + ")");
        } else if (sig == SIGXCPU || (sig == SIGKILL && cpu_spent)) {
            o.ended = "cpu_limit";
            o.limit = "cpu_seconds";
            o.limit_mechanism = "RLIMIT_CPU";
            o.message = std::string("the script was killed by ") + signal_name(sig) +
                        ": it used its CPU limit (security.execution.cpu_seconds = " +
                        std::to_string(policy.execution.cpu_seconds) + ")";
            log.security("high", "limit", o.message);
        } else if (sig == SIGSYS) {
            o.ended = "seccomp_kill";
            o.message = "the script was killed by the kernel (seccomp, SIGSYS): it made a forbidden system call";
            log.security("critical", "denied_by_kernel", o.message);
        } else if (sig == SIGXFSZ) {
            o.limit = "file_size_mb";
            o.limit_mechanism = "RLIMIT_FSIZE";
            o.message = "the script was killed by SIGXFSZ: it exceeded security.execution.file_size_mb";
            log.security("high", "limit", o.message);
        } else {
            o.message = std::string("the script was killed by ") + signal_name(sig);
        }
    } else if (limits.oom_kills > 0) {
        // cgroup v2's memory.oom.group: the OOM killer ended the whole run, its init included.
        o.ended = "memory_limit";
        o.error = "killed by SIGKILL";
        o.return_code = -SIGKILL;
        o.exit_code = 128 + SIGKILL;
        o.message = "the run was killed by the kernel's OOM killer: its processes together reached "
                    "security.execution.memory_mb (" + std::to_string(policy.execution.memory_mb) + " MB)";
        o.limit = "memory_mb";
        o.limit_mechanism = held.memory;
        log.security("high", "limit", o.message + " (" + held.memory + ")");
    } else {
        o.ended = "init_died";
        o.error = "sandbox init died";
        const int sig = WIFSIGNALED(init_wait_status) ? WTERMSIG(init_wait_status) : 0;
        o.return_code = o.exit_code = sig ? 128 + sig : 125;
        o.message = std::string("the sandbox's init process ended without a report") +
                    (sig ? std::string(" (") + signal_name(sig) + ")" : "");
        log.security("critical", "init_died", o.message);
    }
    // Processes the OOM killer ended while the script itself went on (a forked child, say).
    if (limits.oom_kills > 0 && o.ended != "memory_limit") {
        if (o.limit.empty()) {
            o.limit = "memory_mb";
            o.limit_mechanism = held.memory;
        }
        log.security("high", "limit", std::to_string(limits.oom_kills) +
                                          (limits.oom_kills == 1 ? " process" : " processes") +
                                          " of the run killed by the kernel's OOM killer: the run's processes together "
                                          "reached security.execution.memory_mb (" + held.memory + ")");
    }
    return o;
}

}  // namespace hive
