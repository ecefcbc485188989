#include "supervisor/alerts.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "common/json.h"
#include "common/result.h"
#include "common/secret.h"

namespace hive {

namespace {

double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string iso_of_ms(std::int64_t ms) {
    time_t s = time_t(ms / 1000);
    tm t;
    gmtime_r(&s, &t);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &t);
    return when;
}

// The command's stderr as one line for a log message: control bytes shown as spaces, trimmed.
std::string one_line(std::string s) {
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

}  // namespace

Alerter::Alerter(std::string run_id, std::string script, std::shared_ptr<const Secret> alert_command,
                 SecuritySink sink, AlertStore store)
    : run_id_(std::move(run_id)), script_(std::move(script)), command_(std::move(alert_command)), sink_(std::move(sink)),
      store_(std::move(store)) {}

Alerter::~Alerter() {
    for (Command& c : commands_)
        if (c.err_fd >= 0) close(c.err_fd);
}

bool Alerter::raise(const std::string& name, const std::string& message, double value, double threshold,
                    bool to_stderr) {
    if (!raised_.insert(name).second) return false;
    raised_list_.push_back(name + ": " + message);
    const std::int64_t now_ms = unix_now_ms();
    // Only the alert command's notifications are filtered: without one there is nothing to hold back.
    const bool has_command = command_ && !command_->view().empty();
    const AlertDecision d = has_command ? store_.decide(script_, name, run_id_, now_ms) : AlertDecision{};
    for (const std::string& p : d.problems) sink_("medium", "alert_state", p, json::Object().add("alert", name).str());

    json::Object o;
    o.add("alert", name).add("message", message).add("value", value).add("threshold", threshold)
        .add("run_id", run_id_).add("script", script_).add("timestamp", iso_of_ms(now_ms))
        .add("count", d.count).add("window_seconds", store_.window_seconds());
    if (d.notify) o.add("suppressed_since_last", d.suppressed_since_last);
    else o.add("suppressed", true).add("notified_run", d.notified_run).add("notified_at", iso_of_ms(d.notified_at_ms));
    std::string body = o.str();
    std::string said = "alert " + name + ": " + message;
    if (!d.notify) {
        char why[200];
        std::snprintf(why, sizeof why, " (notification suppressed: run %s sent it %.0f s ago; %lld in this %lld s window)",
                      d.notified_run.c_str(), double(now_ms - d.notified_at_ms) / 1000.0, static_cast<long long>(d.count),
                      static_cast<long long>(store_.window_seconds()));
        said += why;
    } else if (d.suppressed_since_last > 0) {
        said += " (" + std::to_string(d.suppressed_since_last) + " suppressed since the last notification)";
    }
    sink_("medium", "alert", said, body);
    // The run's own stderr line stays, suppressed or not: the caller of this run has not seen the others.
    if (to_stderr) stderr_lines_.push_back(name + ": " + message + (d.notify ? "" : " (notification suppressed)"));
    if (!d.notify || !has_command) return true;

    auto not_run = [&](const Error& e) {
        sink_("high", "alert_command", "alert " + name + ": the alert command was not run: " + e.message, body);
        return true;
    };
    // A copy the fork can read: the Secret's mapping reads as zeros in every child. (The sandbox's processes
    // were forked before any alert, so this copy never reaches them.)
    const std::string command(command_->view());
    int in[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0) return not_run(errno_error("pipe2", "alert command stdin"));
    if (pipe2(err, O_CLOEXEC | O_NONBLOCK) != 0) {
        Error e = errno_error("pipe2", "alert command stderr");
        close(in[0]);
        close(in[1]);
        return not_run(e);
    }
    pid_t pid = fork();
    if (pid == 0) {
        // Its own process group: a hanging command is killed with whatever it started.
        setpgid(0, 0);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (dup2(in[0], 0) != 0 || null < 0 || dup2(null, 1) != 1 || dup2(err[1], 2) != 2) _exit(126);
        // The child's write end of its stderr must not be blocking (the pipe was made for our read end).
        fcntl(2, F_SETFL, fcntl(2, F_GETFL) & ~O_NONBLOCK);
        syscall(SYS_close_range, 3u, ~0u, 0u);  // none of hive-py's descriptors (the caller's, the run's)
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    const int fork_errno = errno;
    close(in[0]);
    close(err[1]);
    if (pid < 0) {
        close(in[1]);
        close(err[0]);
        return not_run(Error::from_errno("fork", "alert command", fork_errno));
    }
    setpgid(pid, pid);  // also from here: the kill at the deadline must find the group whoever ran first
    body += "\n";
    // The JSON is far below a pipe's buffer: this write never blocks the supervisor. A command that
    // exited before reading it (EPIPE; SIGPIPE is ignored) just does not get it.
    if (write(in[1], body.data(), body.size()) != ssize_t(body.size()) && errno != EPIPE)
        sink_("medium", "alert_command", "alert " + name + ": the alert command did not take the alert: " +
                                             errno_error("write", "alert command stdin").message, body);
    close(in[1]);
    commands_.push_back(Command{pid, err[0], name, {}, steady_seconds()});
    return true;
}

void Alerter::drain(Command& c) {
    if (c.err_fd < 0) return;
    char buf[1024];
    for (;;) {
        ssize_t n = read(c.err_fd, buf, sizeof buf);
        if (n > 0) {
            c.err.append(buf, std::min(std::size_t(n), kErrBytes - std::min(kErrBytes, c.err.size())));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {  // every writer gone
            close(c.err_fd);
            c.err_fd = -1;
        }
        return;  // EAGAIN: nothing more for now
    }
}

void Alerter::finish(double seconds) {
    const double until = steady_seconds() + seconds;
    for (Command& c : commands_) {
        int st = 0;
        bool killed = false;
        for (;;) {
            drain(c);
            pid_t w = waitpid(c.pid, &st, WNOHANG);
            if (w == c.pid || (w < 0 && errno != EINTR)) break;
            if (steady_seconds() > until) {
                kill(-c.pid, SIGKILL);
                kill(c.pid, SIGKILL);
                while (waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {
                }
                killed = true;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        drain(c);
        if (c.err_fd >= 0) close(c.err_fd);  // a background job of the command may still hold it: not ours to wait for
        c.err_fd = -1;
        char what[160] = "";
        if (killed)
            std::snprintf(what, sizeof what, "killed after %.1f s (hive-py waits at most %g s after the run's end)",
                          steady_seconds() - c.started, seconds);
        else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
            std::snprintf(what, sizeof what, "exited with status %d", WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
            std::snprintf(what, sizeof what, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
        if (!*what) continue;
        std::string msg = "alert " + c.alert + ": the alert command " + what;
        const std::string err = one_line(c.err);
        if (!err.empty()) msg += "; its stderr: " + err;
        sink_("high", "alert_command", msg, json::Object().add("alert", c.alert).add("run_id", run_id_).str());
        std::fprintf(stderr, "hive-py: warning: alert command for %s %s (run %s)\n", c.alert.c_str(), what, run_id_.c_str());
    }
    commands_.clear();
}

}  // namespace hive
