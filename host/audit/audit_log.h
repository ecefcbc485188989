// The parent's tamper-evident audit logs. Four files in one log directory, each a hash-chained stream of
// JSON lines (one object per line, friendly to jq):
//   execution_audit.log  one record per run (BIP-025's fields and ours)
//   audit_events.log     every audit event the child reported (the companion event stream)
//   security_events.log  denials, kernel kills, tampering, missing layers, alerts — with a severity
//   resource_usage.log   resource samples taken during a run
// Every appended line carries "prev" (the chain value of the previous record of the same stream, across
// rotations) and "chain" (SHA-256, or HMAC-SHA-256 with a key, over prev + the record's own bytes).
// Appends from many hive-py processes at once are serialised with flock: no torn or interleaved lines.
#pragma once

#include <cstdint>
#include <memory>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "common/secret.h"

namespace hive::audit {

enum class Stream { execution, events, security, resource };
const char* file_name(Stream s);  // "execution_audit.log", ...

struct LogOptions {
    std::string dir;                          // created (0700) if missing
    std::int64_t max_bytes = 10 * 1024 * 1024;  // rotate a stream's file once it passes this size
    // Raw key bytes (common/secret.h: the sandbox, a fork of hive-py, sees zeros there); null = plain
    // SHA-256 chain.
    std::shared_ptr<const Secret> hmac_key;
    bool fsync = false;                       // fsync the live file after each append (slower)
    // Compress rotated files in a detached process instead of under the append (hive-py's runs do:
    // gzip of a 10 MB file would otherwise land on one unlucky run's critical path). Until it finishes
    // the rotated file stays plain, which verify reads as well.
    bool compress_in_background = false;
};

class AuditLog {
public:
    static Result<AuditLog> open(const LogOptions& opts);
    AuditLog(AuditLog&&) noexcept;
    AuditLog& operator=(AuditLog&&) noexcept;
    ~AuditLog();

    // Append records to one stream, under one lock: each record's text as json::Object made it, with
    // the chain fields written after its last member (the record is not parsed or copied first). Either
    // all lines land or an error says why.
    // `written`, when given, receives each line as it landed (chain fields included, no newline).
    Status append(Stream s, const std::vector<json::Object>& records, std::vector<std::string>* written = nullptr);
    Status append(Stream s, const json::Object& record);
    const std::string& dir() const;

private:
    AuditLog() = default;
    struct Impl;
    Impl* impl_ = nullptr;
};

struct VerifyIssue {
    std::string file;     // the file (rotated .gz files included) where the chain breaks
    std::int64_t line = 0;  // 1-based line in that file
    std::string what;     // "record edited", "record missing or inserted before this one", ...
};

struct StreamSummary {
    std::string name;                 // "execution_audit.log", ...
    int files = 0;                    // files read (rotated + live); 0 = the stream has no file yet
    std::int64_t records = 0;         // lines checked
    std::int64_t issues = 0;
    std::int64_t chain_mismatches = 0;  // == records when every chain fails: wrong or missing key
};

struct VerifyReport {
    std::int64_t records = 0;  // records checked over every stream
    std::vector<VerifyIssue> issues;  // empty = every chain intact
    std::vector<StreamSummary> streams;  // one per stream, in Stream order
    std::vector<std::string> notes;      // what verify cannot vouch for, though nothing is wrong
};

// Check every stream's chain in `dir`, reading rotated (gzip) files in order before the live file, and
// its end against the stream's head (`.<name>.head`, rewritten with every append): records cut off the
// end, a deleted stream file or one replaced by an older copy are issues too.
Result<VerifyReport> verify(const std::string& dir, std::string_view hmac_key);

// The HMAC key in a key file: its raw bytes, minus one trailing "\n" or "\r\n" (so `echo secret > f`
// works). Writers and `audit verify --key-file` must both read keys through this.
Result<std::shared_ptr<const Secret>> read_key_file(const std::string& path);

// `hive-py audit verify|show ...`: argv after "audit". Prints to stdout/stderr, returns an exit code.
int audit_command(const std::vector<std::string>& args);
// `colour`: ANSI colours in show's timeline (the one-argument form: when stdout is a terminal).
int audit_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, bool colour = false);

}  // namespace hive::audit
