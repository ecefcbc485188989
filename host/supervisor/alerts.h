// Alerts: a threshold of monitoring.alert_thresholds crossed, or a failed run. Each alert is raised once
// per run: a security event, one line on stderr, and — when monitoring.alert_command is set — that command
// run by the parent (outside the sandbox) through /bin/sh with the alert as one JSON object on stdin.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace hive {

class Secret;

class Alerter {
public:
    // `security` receives (severity, kind, message, alert_json) for the security log.
    using SecuritySink = std::function<void(const std::string&, const std::string&, const std::string&, const std::string&)>;
    // `alert_command`: nullptr or empty for none. A Secret (common/secret.h): the command may carry a
    // credential, and the sandbox's processes, forks of hive-py, must not find it in their memory.
    Alerter(std::string run_id, std::string script, std::shared_ptr<const Secret> alert_command, SecuritySink sink);

    // Returns false when this alert (by name) was already raised in this run. `to_stderr`: also one line on
    // stderr at the end of the run (a failed run's alert adds none: its own stderr, or hive-py's reason
    // line, says why). The security event and the alert command happen at once.
    bool raise(const std::string& name, const std::string& message, double value, double threshold,
               bool to_stderr = true);
    const std::vector<std::string>& raised() const { return raised_list_; }
    // The alerts that want a stderr line, as "name: message".
    const std::vector<std::string>& for_stderr() const { return stderr_lines_; }

    // Waits (bounded) for the alert commands; one still running after `seconds` is killed.
    void finish(double seconds);

private:
    std::string run_id_, script_;
    std::shared_ptr<const Secret> command_;
    SecuritySink sink_;
    std::set<std::string> raised_;
    std::vector<std::string> raised_list_, stderr_lines_;
    std::vector<pid_t> commands_;
};

}  // namespace hive
