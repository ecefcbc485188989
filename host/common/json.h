// Writing JSON text without a DOM: the parent builds records on its hot path (one per audit event).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hive::json {

// Append `s` as a JSON string literal (quoted, escaped; invalid UTF-8 bytes become \ufffd).
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
    std::string str() const { return body_ + "}"; }

private:
    void key(std::string_view k);
    std::string body_ = "{";
};

}  // namespace hive::json
