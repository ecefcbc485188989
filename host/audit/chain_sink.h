// An spdlog sink that writes one audit stream through AuditLog: spdlog gives the parent its levels
// (monitoring.log_level decides what each stream keeps) and the logger/sink plumbing; the sink keeps
// each message (a JSON object, pattern "%v") until flush(), then appends the batch under one lock with
// the hash chain (audit_log.h). Single-threaded: the supervisor is.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <string>
#include <vector>

#include "audit/audit_log.h"

namespace hive::audit {

class ChainSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
public:
    ChainSink(AuditLog& log, Stream stream) : log_(log), stream_(stream) {}
    // Append failures, as readable lines (the run then exits 125: its record is not complete).
    const std::vector<std::string>& errors() const { return errors_; }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;

private:
    AuditLog& log_;
    Stream stream_;
    std::vector<std::string> pending_, errors_;
};

}  // namespace hive::audit
