#include "audit/kernel_record.h"

#include <charconv>

namespace hive::audit::kernel {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// The kernel writes a chosen string as upper-case hex, two digits a byte, when it holds a byte that
// would break the record (audit_string_contains_control). "(null)" and plain words stay as they are.
std::optional<std::string> unhex(std::string_view v) {
    if (v.empty() || v.size() % 2 != 0) return std::nullopt;
    std::string out;
    out.reserve(v.size() / 2);
    for (std::size_t i = 0; i < v.size(); i += 2) {
        const int hi = hex_digit(v[i]), lo = hex_digit(v[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += char(hi * 16 + lo);
    }
    return out;
}

}  // namespace

bool is_untrusted_string_field(std::string_view key) {
    for (std::string_view k : {"path", "name", "comm", "exe", "cwd", "proctitle", "ocomm", "key"})
        if (key == k) return true;
    return false;
}

const std::string* Record::get(std::string_view key) const {
    for (const auto& [k, v] : fields)
        if (k == key) return &v;
    return nullptr;
}

std::optional<std::uint64_t> Record::number(std::string_view key, int base) const {
    const std::string* v = get(key);
    if (!v || v->empty()) return std::nullopt;
    std::string_view s = *v;
    if (base == 16 && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n, base);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return n;
}

std::optional<Record> parse(int type, std::string_view text) {
    if (text.size() > kMaxRecordText) return std::nullopt;
    while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.remove_suffix(1);
    constexpr std::string_view kHead = "audit(";
    if (text.substr(0, kHead.size()) != kHead) return std::nullopt;
    text.remove_prefix(kHead.size());
    // "audit(S.M:N):" then the fields; an event's end (AUDIT_EOE) has none.
    const auto close = text.find(')');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view inside = text.substr(0, close);
    std::string_view body = text.substr(close + 1);
    if (!body.empty()) {
        if (body.front() != ':') return std::nullopt;
        body.remove_prefix(1);
    }
    const auto c = inside.find(':');
    if (c == std::string_view::npos || c == 0) return std::nullopt;
    Record r;
    r.type = type;
    r.stamp = std::string(inside.substr(0, c));
    const std::string_view serial = inside.substr(c + 1);
    auto [p, ec] = std::from_chars(serial.data(), serial.data() + serial.size(), r.serial);
    if (ec != std::errc() || p != serial.data() + serial.size()) return std::nullopt;

    while (!body.empty() && r.fields.size() < 64) {
        while (!body.empty() && body.front() == ' ') body.remove_prefix(1);
        if (body.empty()) break;
        const auto eq = body.find('=');
        const auto sp = body.find(' ');
        if (eq == std::string_view::npos || eq == 0 || (sp != std::string_view::npos && sp < eq)) {
            // A word without a value (a message's free text), or "=x" without a key: skip it.
            body.remove_prefix(sp == std::string_view::npos ? body.size() : sp + 1);
            continue;
        }
        std::string key(body.substr(0, eq));
        body.remove_prefix(eq + 1);
        std::string value;
        bool quoted = false;
        if (!body.empty() && body.front() == '"') {
            const auto end = body.find('"', 1);
            if (end == std::string_view::npos) break;  // an unterminated quote: the rest is not fields
            value = std::string(body.substr(1, end - 1));
            body.remove_prefix(end + 1);
            quoted = true;
        } else if (!body.empty() && body.front() == '\'') {  // a user message's msg='...' part
            const auto end = body.find('\'', 1);
            if (end == std::string_view::npos) break;
            value = std::string(body.substr(1, end - 1));
            body.remove_prefix(end + 1);
            quoted = true;
        } else {
            const auto end = body.find(' ');
            value = std::string(body.substr(0, end));
            body.remove_prefix(end == std::string_view::npos ? body.size() : end);
        }
        if (!quoted && is_untrusted_string_field(key) && value != "(null)" && value != "?")
            if (auto decoded = unhex(value)) value = std::move(*decoded);
        r.fields.emplace_back(std::move(key), std::move(value));
    }
    return r;
}

}  // namespace hive::audit::kernel
