// Internal to host/audit: the head of a stream, which anchors the end of its chain.
//
// A chain shows an edited, inserted, deleted or reordered record, but not records cut off its end, nor a
// file replaced by an older copy: what is left is still a chain. So every append also rewrites the
// stream's head, `<dir>/.<name>.head`, under the same lock: how many records the stream holds (over all
// its rotated files) and the chain value of the last one, signed (HMAC-SHA-256 with the log's key, else
// plain SHA-256, which only shows damage). `audit verify` compares the files with it.
//
// When the live file does not end at the head's record, the next append looks for that record: found,
// the records after it were added without a head update (a writer that died in between, a hive-py that
// kept no heads) and are counted in; not found, the file lost its end, and the append continues the
// chain from the head's value, so the cut stays visible after later runs (their first record's prev
// names a record that is gone). Forged records added at the end are thus taken in by the next run
// unless they fail their chain check, which an HMAC key ensures.
//
// One line of JSON, padded with spaces to a fixed size, so that it is rewritten in place by one pwrite:
//   {"stream":"audit_events.log","records":5017,"chain":"<64 hex>","rebuilt_at":0,"sig":"<64 hex>"}
// sig = H("head" + "\n" + the text up to `,"sig"`). rebuilt_at > 0: the head was missing or unreadable
// when that record was appended (a log written before heads were kept, or a head deleted) and was rebuilt
// from the files; the end of the chain before that record is not anchored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hive::audit::detail {

inline constexpr std::size_t kHeadSize = 320;  // bytes, the trailing '\n' included

struct Head {
    std::int64_t records = 0;
    std::string chain;  // 64 hex; the zero chain for an empty stream
    std::int64_t rebuilt_at = 0;
};

std::string head_path(const std::string& dir, const std::string& name);

// Exactly kHeadSize bytes.
std::string format_head(const std::string& name, const Head& h, std::string_view key);

enum class HeadState { absent, valid, bad };
struct HeadRead {
    HeadState state = HeadState::absent;
    Head head;
    std::string why;  // for bad: "signature does not match", "not a head", ...
};
HeadRead parse_head(std::string_view text, const std::string& name, std::string_view key);

// Reads the head through an open fd (the writer's) or a path (verify's).
Result<HeadRead> read_head(int fd, const std::string& path, const std::string& name, std::string_view key);
Result<HeadRead> read_head(const std::string& path, const std::string& name, std::string_view key);

// Rewrites the head in place (fd opened O_RDWR). Caller holds the stream lock.
Status write_head(int fd, const std::string& path, const std::string& name, const Head& h, std::string_view key);

}  // namespace hive::audit::detail
