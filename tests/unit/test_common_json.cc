// host/common/json.h, the writer of every record: its output must be JSON whatever the bytes. Cases
// found by tests/fuzz/fuzz_json.cc (README "Reliability").
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "common/json.h"

namespace {

// What a strict JSON reader makes of json::quote(s): the string, or "<not JSON>".
std::string read_back(const std::string& s) {
    const std::string q = hive::json::quote(s);
    if (!nlohmann::json::accept(q)) return "<not JSON>";
    return nlohmann::json::parse(q).get<std::string>();
}

const std::string kFffd = "\xef\xbf\xbd";

}  // namespace

TEST_CASE("json: valid UTF-8 is copied as it is, escapes as JSON has them", "[json]") {
    CHECK(read_back("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf") ==
          "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
    CHECK(hive::json::quote(std::string("a\"b\\c\n\x01\x7f", 8)) == "\"a\\\"b\\\\c\\n\\u0001\\u007f\"");
    CHECK(read_back(std::string("nul\0byte", 8)) == std::string("nul\0byte", 8));
}

// Found by fuzz_json: lead bytes 0xf5-0xff were taken for 3-byte sequences and copied, as were overlong
// forms, UTF-16 surrogates and code points above U+10FFFF: the record was not JSON (a strict reader,
// nlohmann's or Python's json.loads on bytes, refuses it). A script's output (--json's stdout/stderr)
// and whatever native code writes into the event ring reach this writer.
TEST_CASE("json: every byte outside valid UTF-8 becomes U+FFFD, and the output stays JSON", "[json]") {
    CHECK(read_back("\xf8\x88\x80") == kFffd + kFffd + kFffd);          // 0xf8: no such lead byte
    CHECK(read_back("\xff\xbf\xbf") == kFffd + kFffd + kFffd);
    CHECK(read_back("\xf5\x80\x80\x80") == kFffd + kFffd + kFffd + kFffd);
    CHECK(read_back("\xed\xa0\x80") == kFffd + kFffd + kFffd);          // U+D800, a surrogate
    CHECK(read_back("\xe0\x80\xaf") == kFffd + kFffd + kFffd);          // overlong '/'
    CHECK(read_back("\xf0\x80\x80\xaf") == kFffd + kFffd + kFffd + kFffd);
    CHECK(read_back("\xf4\x90\x80\x80") == kFffd + kFffd + kFffd + kFffd);  // U+110000
    CHECK(read_back("\xc0\xaf") == kFffd + kFffd);
    CHECK(read_back("a\xe2\x82") == "a" + kFffd + kFffd);               // cut short
    // The edges that are valid stay.
    CHECK(read_back("\xed\x9f\xbf") == "\xed\x9f\xbf");                 // U+D7FF
    CHECK(read_back("\xe0\xa0\x80") == "\xe0\xa0\x80");                 // U+0800
    CHECK(read_back("\xf0\x90\x80\x80") == "\xf0\x90\x80\x80");         // U+10000
    hive::json::Object o;
    o.add("\xf8k", "\xed\xa0\x80").add("list", std::vector<std::string>{"\xff", "ok"});
    CHECK(nlohmann::json::accept(o.str()));
}
