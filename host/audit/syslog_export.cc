#include "audit/syslog_export.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/result.h"

namespace hive::audit {

namespace {

constexpr int kFacilityLogAudit = 13;

// RFC 5424 PARAM-VALUE: '"', '\' and ']' escaped with a backslash.
void append_param_value(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '"' || c == '\\' || c == ']') out += '\\';
        out += c;
    }
}

// RFC 5424 header fields are PRINTUSASCII (33..126), NILVALUE "-" when empty.
std::string header_field(std::string_view v, std::size_t max) {
    std::string out;
    for (char c : v.substr(0, max))
        out += (c >= 33 && c <= 126) ? c : '_';
    return out.empty() ? "-" : out;
}

}  // namespace

bool SyslogExport::is_journal_socket(std::string_view p) {
    constexpr std::string_view tail = "/journal/socket";
    return p.size() >= tail.size() && p.substr(p.size() - tail.size()) == tail;
}

namespace {

// One field of journald's native protocol: KEY=value, or (a value holding a newline) KEY, a newline,
// the value's length as 64-bit little-endian, the value, a newline.
void journal_field(std::string& out, std::string_view key, std::string_view value) {
    out += key;
    if (value.find('\n') == std::string_view::npos) {
        out += '=';
        out += value;
    } else {
        out += '\n';
        std::uint64_t n = value.size();
        for (int i = 0; i < 8; ++i) out += char((n >> (8 * i)) & 0xff);
        out += value;
    }
    out += '\n';
}

// A journal field name: upper case letters, digits and '_', not starting with '_' (those are journald's).
std::string journal_key(std::string_view param) {
    std::string k = "HIVE_";
    for (char c : param) k += (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_';
    return k.substr(0, 64);
}

}  // namespace

std::string SyslogExport::format_journal(const Message& m) {
    std::string s;
    s.reserve(m.record.size() + 256);
    journal_field(s, "MESSAGE", m.record);
    journal_field(s, "PRIORITY", std::to_string(m.severity < 0 ? 0 : m.severity > 7 ? 7 : m.severity));
    journal_field(s, "SYSLOG_FACILITY", std::to_string(kFacilityLogAudit));
    journal_field(s, "SYSLOG_IDENTIFIER", "hive-py");
    journal_field(s, "HIVE_MSGID", m.msgid);
    journal_field(s, "HIVE_TIMESTAMP", m.timestamp);
    for (const auto& [k, v] : m.params) journal_field(s, journal_key(k), v);
    return s;
}

SyslogExport::SyslogExport(const std::string& socket_path) : path_(socket_path), journal_(is_journal_socket(socket_path)) {
    char host[256] = {0};
    if (::gethostname(host, sizeof host - 1) == 0) hostname_ = host;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path) {
        fail("socket path " + socket_path + " is longer than a unix socket address allows");
        return;
    }
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        fail(Error::from_errno("socket", "AF_UNIX, SOCK_DGRAM", errno).message);
        return;
    }
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        fail(Error::from_errno("connect", socket_path, errno).message);
        return;
    }
    fd_ = std::move(fd);
}

void SyslogExport::fail(const std::string& why) {
    for (auto& [w, n] : failures_)
        if (w == why) {
            ++n;
            return;
        }
    failures_.emplace_back(why, 1);
}

std::vector<std::string> SyslogExport::failures() const {
    std::vector<std::string> out;
    for (const auto& [w, n] : failures_) out.push_back(n == 1 ? w : w + " (" + std::to_string(n) + " times)");
    return out;
}

std::string SyslogExport::format(const Message& m, std::string_view hostname, long pid) {
    std::string s;
    s.reserve(m.record.size() + 256);
    s += '<';
    s += std::to_string(kFacilityLogAudit * 8 + (m.severity < 0 ? 0 : m.severity > 7 ? 7 : m.severity));
    s += ">1 ";
    s += header_field(m.timestamp, 32);
    s += ' ';
    s += header_field(hostname, 255);
    s += " hive-py ";
    s += std::to_string(pid);
    s += ' ';
    s += header_field(m.msgid, 32);
    s += " [hive@32473";
    for (const auto& [k, v] : m.params) {
        s += ' ';
        s += header_field(k, 32);
        s += "=\"";
        append_param_value(s, v);
        s += '"';
    }
    s += "] ";
    s += m.record;
    return s;
}

bool SyslogExport::send(const Message& m) {
    if (!fd_.valid()) return false;
    const std::string text = journal_ ? format_journal(m) : format(m, hostname_, long(::getpid()));
    for (int attempt = 0;; ++attempt) {
        ssize_t n = ::send(fd_.get(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == ssize_t(text.size())) {
            ++sent_;
            return true;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && attempt == 0) {
            // The receiver's queue is full: give it a moment, once, then count the message lost.
            pollfd p{fd_.get(), POLLOUT, 0};
            ::poll(&p, 1, 50);
            continue;
        }
        fail(n < 0 ? Error::from_errno("send", path_, errno).message
                   : "send(" + path_ + "): " + std::to_string(n) + " of " + std::to_string(text.size()) + " bytes");
        return false;
    }
}

}  // namespace hive::audit
