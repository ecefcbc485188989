// Internal to host/audit: the chained line format and the readers shared by append, verify and show.
//
// One record is one line:
//   {<the caller's fields>,"prev":"<64 hex>","chain":"<64 hex>"}\n
// chain = H(prev + "\n" + prefix), prefix = the line up to and including the closing quote of prev,
// H = SHA-256, or HMAC-SHA-256 when a key is set. The two fields are located by position (always the
// last two), never by JSON key lookup, so a record that smuggles its own "prev" key cannot confuse us.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace hive::audit::detail {

inline constexpr std::string_view kZeroChain =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string chain_value(std::string_view key, std::string_view prev, std::string_view prefix);

struct ChainedLine {
    std::string_view prefix;  // hashed bytes: `{...,"prev":"<hex>"`
    std::string_view prev;
    std::string_view chain;
};
// Split a line (without its '\n') into its chain parts; nullopt when the tail is not ours.
std::optional<ChainedLine> split_chained_line(std::string_view line);

// A stream's files in chain order: rotated `<name>.<N>.gz` (or a plain `<name>.<N>` left by an
// interrupted rotation) by ascending N, then the live file. Only files that exist.
struct RotatedFile {
    std::int64_t n = 0;
    std::string gz;     // path, "" if absent
    std::string plain;  // path, "" if absent
};
std::vector<RotatedFile> list_rotated(const std::string& dir, const std::string& name);
std::vector<std::string> stream_files(const std::string& dir, const std::string& name);

// Reads a log file line by line; `.gz` paths are decompressed.
class LineReader {
public:
    LineReader() = default;
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;
    ~LineReader();

    Status open(const std::string& path);
    // Next line without its '\n' (a last line without one is returned too). False at the end or on
    // a read error; then error() says which.
    bool next(std::string& line);
    const std::optional<std::string>& error() const { return error_; }

private:
    bool fill();
    std::string path_;
    UniqueFd fd_;
    gzFile gz_ = nullptr;
    std::string buf_;
    std::size_t pos_ = 0;
    bool eof_ = false;
    std::optional<std::string> error_;
};

// The lock file that serialises one stream's appends and rotations: `<dir>/.<name>.lock`.
std::string lock_path(const std::string& dir, const std::string& name);

}  // namespace hive::audit::detail
