// The kernel's own audit records, as its netlink socket delivers them (NETLINK_AUDIT, the read-only
// multicast group auditd's readers use): the text after the netlink header,
//
//   audit(1796417842.757:2686): domain=157e06116 blockers=fs.read_file path="/etc/shadow" dev="vda" ino=941
//
// i.e. "audit(SECONDS.MILLIS:SERIAL): " then space-separated key=value fields. A value is plain, quoted
// ("..."; the kernel quotes only strings without a quote, space or control byte in them), or, for the
// strings a process chooses (a path, its comm, its exe), hex-encoded when it holds such a byte. Parsing
// is pure so that it can be fuzzed: the records carry paths and names a hostile script picked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hive::audit::kernel {

// Record types hive-py reads (linux/audit.h; the Landlock ones are newer than Debian 12's headers).
inline constexpr int kSyscall = 1300;          // AUDIT_SYSCALL: pid, ses, syscall, exit of the event
inline constexpr int kEndOfEvent = 1320;       // AUDIT_EOE
inline constexpr int kSeccomp = 1326;          // AUDIT_SECCOMP: a seccomp action the kernel logged
inline constexpr int kTrustedApp = 1121;       // AUDIT_TRUSTED_APP: a message hive-py itself sends
inline constexpr int kLandlockAccess = 1423;   // AUDIT_LANDLOCK_ACCESS: a denial (kernel >= 6.15)
inline constexpr int kLandlockDomain = 1424;   // AUDIT_LANDLOCK_DOMAIN: a domain's allocation or end

// Longest record text taken (the kernel's own bound is MAX_AUDIT_MESSAGE_LENGTH, 8970 bytes).
inline constexpr std::size_t kMaxRecordText = 9000;

struct Record {
    int type = 0;
    std::uint64_t serial = 0;  // the event's serial: the records of one event share it
    std::string stamp;         // "1796417842.757"
    std::vector<std::pair<std::string, std::string>> fields;  // values decoded (unquoted, hex undone)

    // The value of the first field named `key`, or nullptr.
    const std::string* get(std::string_view key) const;
    // The value as an unsigned integer (decimal, or hex with `base` 16), if it is one.
    std::optional<std::uint64_t> number(std::string_view key, int base = 10) const;
};

// nullopt when `text` is not an audit record (no "audit(S.M:N): " prefix, or longer than kMaxRecordText).
// Fields that do not parse are skipped; at most 64 are kept.
std::optional<Record> parse(int type, std::string_view text);

// A value the kernel may have hex-encoded (audit_log_untrustedstring: path, name, comm, exe, ...).
bool is_untrusted_string_field(std::string_view key);

}  // namespace hive::audit::kernel
