#include "common/json.h"

#include <cmath>
#include <cstdio>

namespace hive::json {

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
        // Validate one UTF-8 sequence; copy it whole or replace the lead byte.
        size_t len = (c >= 0xf0 && c <= 0xf4) ? 4 : (c >= 0xe0) ? 3 : (c >= 0xc2 && c <= 0xdf) ? 2 : 0;
        bool valid = len > 0 && i + len <= s.size();
        for (size_t k = 1; valid && k < len; ++k)
            valid = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        if (valid) {
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
