// The record an audit event becomes in the ring, and its decoding in the parent.
//
// Binary, little-endian, every field length-prefixed so that the parent can bound-check a record that
// native code in the sandbox may have forged:
//   u32 pid, u32 reserved, u64 pid_seq, u64 time_ns (CLOCK_REALTIME), u8 decision, u8 kind, u16 nargs,
//   u16 name_len, name bytes, then nargs × (u16 len, bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hive::channel {

enum class Decision : std::uint8_t { allowed = 0, denied_by_hook = 1, denied_by_kernel = 2, counted = 3 };
// What the event is about, for the security log and for counting.
enum class Kind : std::uint8_t { file = 0, socket = 1, subprocess = 2, code = 3, tampering = 4, other = 5, summary = 6 };

const char* to_string(Decision d);
const char* to_string(Kind k);

inline constexpr std::size_t kMaxArgBytes = 1024;  // a rendered argument is cut here (and marked)
inline constexpr std::size_t kMaxArgs = 8;

// Child side: a fixed buffer, no allocation. Strings longer than kMaxArgBytes are cut with a marker.
class EventWriter {
public:
    EventWriter(std::uint32_t pid, std::uint64_t pid_seq, std::uint64_t time_ns, Decision d, Kind k,
                std::string_view name);
    void arg(std::string_view text);
    const void* data() const { return buf_; }
    std::size_t size() const { return len_; }

private:
    void put(const void* p, std::size_t n);
    std::uint8_t buf_[64 + 256 + kMaxArgs * (kMaxArgBytes + 64)];
    std::size_t len_ = 0;
    std::size_t nargs_off_ = 0;
    std::uint16_t nargs_ = 0;
};

struct Event {
    std::uint32_t pid = 0;
    std::uint64_t pid_seq = 0;
    std::uint64_t time_ns = 0;
    Decision decision = Decision::allowed;
    Kind kind = Kind::other;
    std::string name;
    std::vector<std::string> args;
};

// Parent side. Returns false (and a reason) for anything malformed.
bool decode(std::string_view rec, Event& out, std::string& why);

}  // namespace hive::channel
