// What the parent records about one run, in the four audit streams: the events the child reported
// (decoded from the ring and checked), security events, resource samples and the run record.
// monitoring.log_level sets each stream's spdlog level: events are info when allowed or counted and
// error when denied; security events are info/warn/error/critical for low/medium/high/critical;
// samples are info; the run record is always kept.
#pragma once

#include <spdlog/logger.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/chain_sink.h"
#include "channel/event.h"
#include "channel/ring.h"
#include "channel/sequence.h"
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
    // An event the parent itself decided (a network connect), already a JSON object.
    void event(const std::string& json_line, channel::Decision decision);
    void security(const std::string& severity, const std::string& kind, const std::string& message,
                  const std::string& extra_key = "", const std::string& extra_json = "");
    void sample(const std::string& json_line);
    // Write what is pending (every few hundred events, and at the end).
    void flush();
    // The run record, after everything else of the run.
    void finish(const std::string& execution_record);

    std::uint64_t next_seq() { return ++seq_; }
    std::uint64_t events() const { return events_; }
    std::uint64_t denials() const { return denials_; }
    std::uint64_t startup_events() const { return startup_events_; }
    // Faults of the event channel (malformed ring content, sequence gaps, duplicates, regressions).
    std::uint64_t channel_faults() const { return channel_faults_; }
    const channel::SequenceCheck& sequence() const { return seq_check_; }
    std::size_t pending() const { return pending_; }
    std::vector<std::string> errors() const;

private:
    std::string run_id_;
    audit::AuditLog log_;
    std::shared_ptr<audit::ChainSink> sinks_[4];
    std::shared_ptr<spdlog::logger> events_log_, security_log_, resource_log_, execution_log_;
    std::uint64_t seq_ = 0, events_ = 0, denials_ = 0, startup_events_ = 0;
    std::size_t pending_ = 0;
    void channel_fault(const std::string& text);
    std::uint64_t channel_faults_ = 0;
    channel::SequenceCheck seq_check_;
};

}  // namespace hive
