// Writing JSON text without a DOM: the parent builds records on its hot path (one per audit event).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hive::json {

// True when `s` is valid UTF-8 (RFC 3629: no overlong form, no UTF-16 surrogate, nothing above
// U+10FFFF): what append_string copies unchanged.
bool is_utf8(std::string_view s);

// Append `s` as a JSON string literal (quoted, escaped; invalid UTF-8 bytes become \ufffd, one each).
void append_string(std::string& out, std::string_view s);
std::string quote(std::string_view s);

// Builds one JSON object: Object o; o.add("k", "v").add("n", 3); o.str() -> {"k":"v","n":3}
class Object {
public:
    Object& add(std::string_view key, std::string_view value);
    Object& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    Object& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
    Object& add(std::string_view key, std::int64_t value);
    Object& add(std::string_view key, int value) { return add(key, std::int64_t(value)); }
    Object& add(std::string_view key, double value);
    Object& add(std::string_view key, bool value);
    Object& add(std::string_view key, const std::vector<std::string>& values);
    Object& add_raw(std::string_view key, std::string_view json_text);  // already JSON
    Object& add_null(std::string_view key);
    Object& add(std::string_view key, const Object& nested);  // nested's text, closed
    std::string str() const { return body_ + "}"; }
    // The text so far without its closing brace (`{"k":"v"`): where the audit chain appends its fields,
    // so that a record is serialised once (host/audit/audit_log.h).
    std::string_view open_text() const { return body_; }
    // The object whose complete text `text` is, as Object::str() made it: taken over, not parsed (only
    // its braces are checked). nullopt when it does not start with '{' and end with '}'.
    static std::optional<Object> adopt(std::string&& text);

private:
    void key(std::string_view k);
    std::string body_ = "{";
};

}  // namespace hive::json
