// Alert filtering across runs (BIP-025 "Alert Filtering: prevent alert fatigue"): the notifications of one
// alert (the script, the alert's name) are rate-limited to one per security.monitoring.alert_window_seconds
// over every run that shares a log directory. The state is one small file there, `alerts.state`, outside
// every path the sandbox can write, read and rewritten under flock(LOCK_EX) on `.alerts.state.lock` (the
// audit logs' habit: the lock file opened afresh for each decision), and replaced by rename, so a crash
// never leaves half a file.
//
// The file (text, one entry a line, after a header line `hive-py alerts.state 1`):
//   <sha256 of script NUL alert> <notified_at_ms> <suppressed> <run_id> <alert>
// notified_at_ms: when the last notification went out (Unix ms); suppressed: the alerts held back since.
// Bounded: an entry whose window has passed is dropped, unless it holds suppressed alerts, which the next
// notification reports (then it stays kStaleHorizonMs at most); at most kMaxEntries entries, the oldest
// dropped first. An unreadable file is reset (the caller records a security event) and never stops a run;
// a store that cannot be used at all lets the alert through (a missed alert costs more than a repeated one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hive {

struct AlertDecision {
    bool notify = true;
    // notify: the occurrences this notification stands for (this one and those suppressed since the last
    // notification); suppressed: the occurrences in the current window so far, this one included.
    std::int64_t count = 1;
    std::int64_t suppressed_since_last = 0;  // notify: held back since the previous notification
    std::string notified_run;                // suppressed: the run whose notification opened the window
    std::int64_t notified_at_ms = 0;         // suppressed: when that notification went out
    std::vector<std::string> problems;       // a reset state file, a failed lock or write: security events
};

class AlertStore {
public:
    static constexpr std::size_t kMaxEntries = 1024;
    static constexpr std::int64_t kStaleHorizonMs = 24 * 3600 * 1000;
    static constexpr std::int64_t kMaxFileBytes = 256 * 1024;
    static constexpr int kLockTries = 200;  // x 5 ms: the longest a decision waits for the lock

    // `window_seconds` 0: no filtering (decide() always notifies and touches no file).
    AlertStore(std::string dir, std::int64_t window_seconds);

    AlertDecision decide(const std::string& script, const std::string& alert, const std::string& run_id,
                         std::int64_t now_ms) const;

    std::string state_path() const { return dir_ + "/alerts.state"; }
    std::string lock_path() const { return dir_ + "/.alerts.state.lock"; }
    std::int64_t window_seconds() const { return window_s_; }

private:
    std::string dir_;
    std::int64_t window_s_;
};

std::int64_t unix_now_ms();

}  // namespace hive
