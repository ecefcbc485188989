#include "common/json.h"

#include <cmath>
#include <cstdio>

namespace hive::json {

namespace {

// The length of the valid UTF-8 sequence of 2-4 bytes at s[i] (a byte >= 0x80), or 0 when there is none.
std::size_t sequence_length(std::string_view s, std::size_t i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t len = (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    if (len == 0 || i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const unsigned char b = static_cast<unsigned char>(s[i + k]);
        // The second byte's range depends on the lead byte (RFC 3629's table); the others are 80..bf.
        unsigned char lo = 0x80, hi = 0xbf;
        if (k == 1) {
            if (c == 0xe0) lo = 0xa0;       // overlong below U+0800
            else if (c == 0xed) hi = 0x9f;  // U+D800..U+DFFF, the surrogates
            else if (c == 0xf0) lo = 0x90;  // overlong below U+10000
            else if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
        }
        if (b < lo || b > hi) return 0;
    }
    return len;
}

}  // namespace

bool is_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t len = sequence_length(s, i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

void append_string(std::string& out, std::string_view s) {
    out += '"';
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"': out += "\\\""; continue;
            case '\\': out += "\\\\"; continue;
            case '\n': out += "\\n"; continue;
            case '\r': out += "\\r"; continue;
            case '\t': out += "\\t"; continue;
            default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            continue;
        }
        if (c < 0x80) {
            out += char(c);
            continue;
        }
        // One UTF-8 sequence copied whole, or the lead byte replaced (the rest are read on their own).
        if (const size_t len = sequence_length(s, i)) {
            out.append(s.substr(i, len));
            i += len - 1;
        } else {
            out += "\\ufffd";
        }
    }
    out += '"';
}

std::string quote(std::string_view s) {
    std::string out;
    append_string(out, s);
    return out;
}

void Object::key(std::string_view k) {
    if (body_.size() > 1) body_ += ',';
    append_string(body_, k);
    body_ += ':';
}

Object& Object::add(std::string_view k, std::string_view v) {
    key(k);
    append_string(body_, v);
    return *this;
}

Object& Object::add(std::string_view k, std::int64_t v) {
    key(k);
    body_ += std::to_string(v);
    return *this;
}

Object& Object::add(std::string_view k, double v) {
    key(k);
    if (!std::isfinite(v)) {
        body_ += "null";
        return *this;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    body_ += buf;
    return *this;
}

Object& Object::add(std::string_view k, bool v) {
    key(k);
    body_ += v ? "true" : "false";
    return *this;
}

Object& Object::add(std::string_view k, const std::vector<std::string>& values) {
    key(k);
    body_ += '[';
    for (size_t i = 0; i < values.size(); ++i) {
        if (i) body_ += ',';
        append_string(body_, values[i]);
    }
    body_ += ']';
    return *this;
}

Object& Object::add_raw(std::string_view k, std::string_view json_text) {
    key(k);
    body_ += json_text;
    return *this;
}

Object& Object::add(std::string_view k, const Object& nested) {
    key(k);
    body_ += nested.body_;
    body_ += '}';
    return *this;
}

std::optional<Object> Object::adopt(std::string&& text) {
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') return std::nullopt;
    Object o;
    text.pop_back();
    o.body_ = std::move(text);
    return o;
}

Object& Object::add_null(std::string_view k) {
    key(k);
    body_ += "null";
    return *this;
}

}  // namespace hive::json
