// What the parent records about one run, in the four audit streams: the events the child reported
// (decoded from the ring and checked), security events, resource samples and the run record.
// Each record is built once as a json::Object and handed to AuditLog, which chains and writes it: no
// logger in between, no text parsed again. monitoring.log_level decides what each stream keeps:
// events are INFO when allowed or counted and ERROR when denied; security events are
// INFO/WARNING/ERROR/CRITICAL for severity low/medium/high/critical; samples are INFO; the run record
// is always kept.
// With monitoring.syslog_socket, every run record and security event the trail keeps is also sent as
// RFC 5424 syslog (audit/syslog_export.h), with its chain value. A socket that is missing or refuses
// messages never costs the run: the failure is a security event of the run (syslog_unreachable) and one
// `hive-py: warning:` line on stderr, written by finish().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/syslog_export.h"
#include "channel/event.h"
#include "channel/ring.h"
#include "channel/sequence.h"
#include "common/json.h"
#include "policy/policy.h"

namespace hive {

std::string iso_time(std::uint64_t unix_ns);  // 2026-11-27T21:47:54.516683Z
std::string iso_now();

class RunLog {
public:
    RunLog(std::string run_id, const Policy& policy, audit::AuditLog log);
    RunLog(const RunLog&) = delete;
    RunLog& operator=(const RunLog&) = delete;

    const std::string& run_id() const { return run_id_; }

    // Decode and record what the child wrote into the ring; malformed or out-of-sequence records become
    // security events.
    void take(channel::Drained&& drained);
    // An event the parent itself decided (a network connect): a json::Object, or its text as
    // json::Object::str() made it (taken over as it is, not parsed).
    void event(json::Object&& event, channel::Decision decision);
    void event(const std::string& json_line, channel::Decision decision);
    void security(const std::string& severity, const std::string& kind, const std::string& message,
                  const std::string& extra_key = "", const std::string& extra_json = "");
    void sample(json::Object&& sample);
    void sample(const std::string& json_line);
    // Write what is pending (every few hundred events, and at the end).
    void flush();
    // The run record, after everything else of the run.
    void finish(json::Object&& execution_record);
    void finish(const std::string& execution_record);

    // The run's denials, in order, for the closing stderr line and --json: the event, its first
    // argument (the path, address or module) and the policy key that decides it. NB: the key is
    // derived from the event here (open's mode, the event's family); the hook's own message names the
    // exact rule but does not travel in the ring.
    struct Denial {
        std::string event, target, rule;
        channel::Decision decision = channel::Decision::denied_by_hook;
    };
    // Denials the hook reported are listed by take(); security events of kind "denied_by_kernel" (the
    // parent's network decisions, a seccomp kill) are listed with their message as the target.
    const std::vector<Denial>& denial_list() const { return denial_list_; }
    void add_denial(Denial d);

    std::uint64_t next_seq() { return ++seq_; }
    std::uint64_t events() const { return events_; }
    std::uint64_t denials() const { return denials_; }
    std::uint64_t startup_events() const { return startup_events_; }
    // Faults of the event channel (malformed ring content, sequence gaps, duplicates, regressions).
    std::uint64_t channel_faults() const { return channel_faults_; }
    // Events past monitoring.max_logged_events/max_logged_bytes: counted by name, not written.
    std::uint64_t summarised() const { return summarised_; }
    const channel::SequenceCheck& sequence() const { return seq_check_; }
    std::size_t pending() const { return pending_; }
    std::vector<std::string> errors() const;

private:
    void keep(audit::Stream s, LogLevel level, json::Object&& record);
    void write(audit::Stream s);
    void security_event(const std::string& severity, const std::string& kind, const std::string& message,
                        const std::string& extra_key, const json::Object* extra);
    void keep_security(const std::string& severity, const std::string& kind, json::Object&& record);
    std::optional<json::Object> adopt(const std::string& text, const char* what);

    void export_written(audit::Stream s, const std::vector<std::string>& lines);
    void report_syslog_failures();

    std::string run_id_;
    audit::AuditLog log_;
    LogLevel threshold_;
    std::vector<json::Object> pending_records_[4];  // by audit::Stream
    struct SecurityMeta {
        std::string severity, kind;
    };
    std::vector<SecurityMeta> pending_security_meta_;  // beside pending_records_[security], for syslog
    std::vector<Denial> denial_list_;  // bounded: kMaxDenialsListed
    std::unique_ptr<audit::SyslogExport> syslog_;
    std::size_t syslog_failures_reported_ = 0;
    bool alerted_ = false;
    std::vector<std::string> errors_;
    std::uint64_t seq_ = 0, events_ = 0, denials_ = 0, startup_events_ = 0;
    std::size_t pending_ = 0;
    void channel_fault(const std::string& text);
    bool within_budget(const json::Object& o, const std::string& name, channel::Decision decision);
    void count(channel::Decision decision);
    void keep_event(json::Object&& o, channel::Decision decision);
    void write_budget_summary();
    bool summarised_written_ = false;
    std::uint64_t denials_past_budget_ = 0;
    std::uint64_t channel_faults_ = 0;
    std::int64_t max_events_ = 0, max_bytes_ = 0;
    std::uint64_t logged_events_ = 0, logged_bytes_ = 0, summarised_ = 0;
    std::map<std::string, std::uint64_t> summary_;  // by event name, at most kMaxSummaryNames
    channel::SequenceCheck seq_check_;
};

}  // namespace hive
