// host/common/json.h, the writer of every record (run record, --json result, audit and security events)
// fed hostile strings: whatever the bytes, the output must be JSON (nlohmann::json::accept) and each
// string must read back as itself, with every byte that is not part of valid UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF) replaced by U+FFFD, one per byte.
//
// Input: a sequence of operations, each one byte then its operands; a string operand is one length
// byte then that many bytes (a length byte of 255 takes two more bytes of length).
// fuzz-link: hive_common
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/json.h"
#include "fuzz_input.h"

namespace {

using hivefuzz::Input;
using nlohmann::json;

std::string take_string(Input& in) {
    std::size_t n = in.byte();
    if (n == 255) n = in.raw<std::uint16_t>();
    std::string s;
    for (std::size_t i = 0; i < n && !in.empty(); ++i) s += char(in.byte());
    return s;
}

// The reference: what a strict UTF-8 reader sees, invalid bytes as U+FFFD each.
std::string expected_text(const std::string& s) {
    std::string out;
    auto cont = [&](std::size_t i, unsigned lo, unsigned hi) {
        if (i >= s.size()) return false;
        unsigned c = static_cast<unsigned char>(s[i]);
        return c >= lo && c <= hi;
    };
    for (std::size_t i = 0; i < s.size();) {
        unsigned c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        if (c < 0x80) len = 1;
        else if (c >= 0xc2 && c <= 0xdf) len = cont(i + 1, 0x80, 0xbf) ? 2 : 0;
        else if (c == 0xe0) len = cont(i + 1, 0xa0, 0xbf) && cont(i + 2, 0x80, 0xbf) ? 3 : 0;
        else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
            len = cont(i + 1, 0x80, 0xbf) && cont(i + 2, 0x80, 0xbf) ? 3 : 0;
        else if (c == 0xed) len = cont(i + 1, 0x80, 0x9f) && cont(i + 2, 0x80, 0xbf) ? 3 : 0;
        else if (c == 0xf0) len = cont(i + 1, 0x90, 0xbf) && cont(i + 2, 0x80, 0xbf) && cont(i + 3, 0x80, 0xbf) ? 4 : 0;
        else if (c >= 0xf1 && c <= 0xf3)
            len = cont(i + 1, 0x80, 0xbf) && cont(i + 2, 0x80, 0xbf) && cont(i + 3, 0x80, 0xbf) ? 4 : 0;
        else if (c == 0xf4) len = cont(i + 1, 0x80, 0x8f) && cont(i + 2, 0x80, 0xbf) && cont(i + 3, 0x80, 0xbf) ? 4 : 0;
        if (len == 0) {
            out += "\xef\xbf\xbd";
            ++i;
        } else {
            out.append(s, i, len);
            i += len;
        }
    }
    return out;
}

struct Expect {
    std::string key;  // as it must read back
    json value;       // as it must read back
    bool is_double = false;
};

void check_string_literal(const std::string& s) {
    std::string q = hive::json::quote(s);
    if (!json::accept(q)) hivefuzz::fail("json::quote output is not JSON", q);
    json j = json::parse(q);
    if (!j.is_string() || j.get<std::string>() != expected_text(s)) hivefuzz::fail("json::quote does not read back", q);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in(data, size);
    hive::json::Object o;
    std::vector<Expect> want;
    for (int i = 0; !in.empty() && i < 64; ++i) {
        const std::uint8_t op = in.byte() % 8;
        const std::string raw_key = take_string(in);
        check_string_literal(raw_key);
        // A unique prefix: a hostile key cannot collide with another one after U+FFFD replacement.
        const std::string key = "k" + std::to_string(i) + ":" + raw_key;
        const std::string key_read = "k" + std::to_string(i) + ":" + expected_text(raw_key);
        switch (op) {
            case 0: {
                std::string v = take_string(in);
                o.add(key, v);
                want.push_back({key_read, expected_text(v)});
                break;
            }
            case 1: {
                auto v = in.raw<std::int64_t>();
                o.add(key, v);
                want.push_back({key_read, v});
                break;
            }
            case 2: {
                auto v = in.raw<double>();
                o.add(key, v);
                if (std::isfinite(v)) {
                    char buf[32];
                    std::snprintf(buf, sizeof buf, "%.6g", v);
                    want.push_back({key_read, std::strtod(buf, nullptr), true});
                } else {
                    want.push_back({key_read, nullptr});
                }
                break;
            }
            case 3: {
                bool v = in.byte() & 1;
                o.add(key, v);
                want.push_back({key_read, v});
                break;
            }
            case 4: {
                std::vector<std::string> v;
                json arr = json::array();
                for (int n = in.byte() % 8; n > 0; --n) {
                    v.push_back(take_string(in));
                    arr.push_back(expected_text(v.back()));
                }
                o.add(key, v);
                want.push_back({key_read, arr});
                break;
            }
            case 5:
                o.add_null(key);
                want.push_back({key_read, nullptr});
                break;
            case 6: {  // a nested object, as the run record nests resource_usage and the policy
                hive::json::Object sub;
                std::string k = take_string(in), v = take_string(in);
                sub.add(k, v).add("n", std::int64_t(i));
                o.add_raw(key, sub.str());
                json js = json::object();
                js[expected_text(k)] = expected_text(v);
                js["n"] = i;
                if (expected_text(k) == "n") js["n"] = i;  // the later key wins, as in nlohmann's parse
                want.push_back({key_read, js});
                break;
            }
            default: {
                std::string v = take_string(in);
                o.add(key, v.c_str());  // the const char* overload: the string up to its first NUL
                want.push_back({key_read, expected_text(std::string(v.c_str()))});
                break;
            }
        }
    }
    const std::string text = o.str();
    if (!json::accept(text)) hivefuzz::fail("json::Object output is not JSON", text);
    const json j = json::parse(text);
    HIVE_FUZZ_CHECK(j.is_object(), text);
    HIVE_FUZZ_CHECK(j.size() == want.size(), text);
    for (const Expect& e : want) {
        auto it = j.find(e.key);
        if (it == j.end()) hivefuzz::fail("a key does not read back", e.key);
        if (e.is_double) {
            if (!it->is_number() || it->get<double>() != e.value.get<double>()) hivefuzz::fail("a double does not read back", text);
        } else if (*it != e.value) {
            hivefuzz::fail("a value does not read back", e.key);
        }
    }
    return 0;
}
