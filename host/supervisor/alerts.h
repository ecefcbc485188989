// Alerts: a threshold of monitoring.alert_thresholds crossed, or a failed run. Each alert is raised once
// per run: a security event, one line on stderr, and — when monitoring.alert_command is set — that command
// run by the parent (outside the sandbox) through /bin/sh with the alert as one JSON object on stdin.
//
// Across runs (alert_store.h), the notification of one alert of one script goes out at most once per
// monitoring.alert_window_seconds: a suppressed alert is still a security event ("suppressed": true), in
// the run record's `alerts` and on the run's stderr; only the alert command is not run. The next
// notification after the window says how many were held back (`suppressed_since_last`, `count`).
//
// The command: its own process group, stdin the JSON, stdout /dev/null (never mixed into the script's
// output or --json), stderr kept (its first kErrBytes) for the record. finish() waits for it a bounded
// time; one that fails (exit status, signal) or is still running then (killed, with its group) is a
// security event of kind alert_command and one `hive-py: warning:` line on stderr.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "supervisor/alert_store.h"

namespace hive {

class Secret;

class Alerter {
public:
    static constexpr std::size_t kErrBytes = 512;

    // `security` receives (severity, kind, message, alert_json) for the security log.
    using SecuritySink = std::function<void(const std::string&, const std::string&, const std::string&, const std::string&)>;
    // `alert_command`: nullptr or empty for none. A Secret (common/secret.h): the command may carry a
    // credential, and the sandbox's processes, forks of hive-py, must not find it in their memory.
    Alerter(std::string run_id, std::string script, std::shared_ptr<const Secret> alert_command, SecuritySink sink,
            AlertStore store = AlertStore("", 0));
    ~Alerter();
    Alerter(const Alerter&) = delete;
    Alerter& operator=(const Alerter&) = delete;

    // Returns false when this alert (by name) was already raised in this run. `to_stderr`: also one line on
    // stderr at the end of the run (a failed run's alert adds none: its own stderr, or hive-py's reason
    // line, says why). The security event and the alert command happen at once.
    bool raise(const std::string& name, const std::string& message, double value, double threshold,
               bool to_stderr = true);
    const std::vector<std::string>& raised() const { return raised_list_; }
    // The alerts that want a stderr line, as "name: message".
    const std::vector<std::string>& for_stderr() const { return stderr_lines_; }

    // Waits (bounded) for the alert commands; one still running after `seconds` is killed with its process
    // group. Each failure is a security event.
    void finish(double seconds);

private:
    struct Command {
        pid_t pid = -1;
        int err_fd = -1;  // read end of the command's stderr, non-blocking
        std::string alert, err;
        double started = 0;  // steady clock, seconds
    };
    void drain(Command& c);

    std::string run_id_, script_;
    std::shared_ptr<const Secret> command_;
    SecuritySink sink_;
    AlertStore store_;
    std::set<std::string> raised_;
    std::vector<std::string> raised_list_, stderr_lines_;
    std::vector<Command> commands_;
};

}  // namespace hive
