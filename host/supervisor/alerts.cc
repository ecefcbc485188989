#include "supervisor/alerts.h"

#include <fcntl.h>
#include <signal.h>
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

Alerter::Alerter(std::string run_id, std::string script, std::shared_ptr<const Secret> alert_command,
                 SecuritySink sink)
    : run_id_(std::move(run_id)), script_(std::move(script)), command_(std::move(alert_command)), sink_(std::move(sink)) {}

bool Alerter::raise(const std::string& name, const std::string& message, double value, double threshold,
                    bool to_stderr) {
    if (!raised_.insert(name).second) return false;
    raised_list_.push_back(name + ": " + message);
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[40];
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &t);
    json::Object o;
    o.add("alert", name).add("message", message).add("value", value).add("threshold", threshold)
        .add("run_id", run_id_).add("script", script_).add("timestamp", when);
    std::string body = o.str();
    sink_("medium", "alert", "alert " + name + ": " + message, body);
    if (to_stderr) stderr_lines_.push_back(name + ": " + message);
    if (!command_ || command_->view().empty()) return true;

    // A copy the fork can read: the Secret's mapping reads as zeros in every child. (The sandbox's processes
    // were forked before any alert, so this copy never reaches them.)
    const std::string command(command_->view());
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
        sink_("high", "alert", "alert " + name + ": the alert command was not run: " +
                                   errno_error("pipe2", "alert command stdin").message, body);
        return true;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(in[0], 0) != 0) _exit(126);
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    const int fork_errno = errno;
    close(in[0]);
    if (pid < 0) {
        sink_("high", "alert", "alert " + name + ": the alert command was not run: " +
                                   Error::from_errno("fork", "alert command", fork_errno).message, body);
    } else {
        body += "\n";
        // The JSON is far below a pipe's buffer: this write never blocks the supervisor. A command that
        // exited before reading it (EPIPE; SIGPIPE is ignored) just does not get it.
        if (write(in[1], body.data(), body.size()) != ssize_t(body.size()) && errno != EPIPE)
            sink_("medium", "alert", "alert " + name + ": the alert command did not take the alert: " +
                                         errno_error("write", "alert command stdin").message, body);
        commands_.push_back(pid);
    }
    close(in[1]);
    return true;
}

void Alerter::finish(double seconds) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (pid_t pid : commands_) {
        int st;
        while (waitpid(pid, &st, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > until) {
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                std::fprintf(stderr, "hive-py: alert command still running after %.0f s: killed\n", seconds);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    commands_.clear();
}

}  // namespace hive
