// A copy of the audit trail's run records and security events for a central log server: RFC 5424
// structured syslog over a unix datagram socket (security.monitoring.syslog_socket, e.g. /dev/log, which
// rsyslog, syslog-ng and journald serve). Each message carries the record as it was written, its chain
// value included, so the remote copy also anchors the local trail's head: records cut off the local
// files, or the files rolled back with their heads, still show against it.
//
//   <PRI>1 2026-12-04T18:30:00.123456Z HOST hive-py PID run [hive@32473 run_id="..." stream="..." chain="..."] {...}
//
// A socket named .../journal/socket (systemd-journald's, /run/systemd/journal/socket) gets journald's
// native protocol instead: one datagram of KEY=value lines (MESSAGE the record, PRIORITY,
// SYSLOG_FACILITY, SYSLOG_IDENTIFIER=hive-py, HIVE_MSGID and one HIVE_<PARAM> per structured-data
// parameter, e.g. HIVE_RUN_ID, HIVE_CHAIN), a value holding a newline in the protocol's binary form.
//
// Facility 13 ("log audit"). The SD-ID's enterprise number is RFC 5612's documentation number 32473
// (hive-py has none of its own). Sending never blocks the run for long: a full receiver queue gets
// 50 ms, then the message counts as lost, and every failure is kept for the run's record and stderr.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"

namespace hive::audit {

class SyslogExport {
public:
    // Connects to `socket_path`; failure leaves the export off, with the reason in failures().
    explicit SyslogExport(const std::string& socket_path);

    struct Message {
        int severity = 6;               // RFC 5424: 0 emergency .. 7 debug
        std::string msgid;              // "run", "security", "alert" (no spaces, <= 32)
        std::string timestamp;          // RFC 3339 UTC, e.g. 2026-12-04T18:30:00.123456Z
        std::vector<std::pair<std::string, std::string>> params;  // the structured data's parameters
        std::string_view record;        // the JSON line as written to the local trail
    };
    // One datagram. false (and a failure kept) when it could not be sent.
    bool send(const Message& m);

    const std::string& path() const { return path_; }
    bool connected() const { return fd_.valid(); }
    std::size_t sent() const { return sent_; }
    // Readable reasons, one per kind of failure (a failure repeated is counted, not repeated).
    std::vector<std::string> failures() const;

    // RFC 5424 text of one message (exposed for tests).
    static std::string format(const Message& m, std::string_view hostname, long pid);
    // journald's native datagram for one message (exposed for tests).
    static std::string format_journal(const Message& m);
    // Whether `socket_path` is journald's native socket (a path ending in /journal/socket).
    static bool is_journal_socket(std::string_view socket_path);

private:
    void fail(const std::string& why);
    std::string path_, hostname_;
    bool journal_ = false;
    UniqueFd fd_;
    std::size_t sent_ = 0;
    std::vector<std::pair<std::string, std::size_t>> failures_;
};

}  // namespace hive::audit
