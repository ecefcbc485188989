// `hive-py audit show` and `audit verify` on log files nobody wrote that way (README "Reliability":
// found while writing tests/fuzz/fuzz_audit.cc, which runs both on arbitrary files).
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "audit/audit_log.h"
#include "run.h"

namespace {

std::string nested(int depth) { return std::string(std::size_t(depth), '[') + std::string(std::size_t(depth), ']'); }

}  // namespace

// Found by reading what fuzz_audit reaches: show printed a non-string field with nlohmann's dump(),
// which recurses once per level, and a line nested 200,000 deep overflowed the stack (SIGSEGV, exit
// 139 from `hive-py audit show`); with ordered_json, the parse itself copies recursively. Such a record
// is skipped by show; verify's check (accept) holds at that depth and reports it.
TEST_CASE("audit show: a record nested 200,000 deep is shown, the stack holds", "[audit][fuzz]") {
    hivetest::TempDir dir;
    dir.file("execution_audit.log",
             "{\"run_id\":" + nested(200000) + ",\"timestamp\":\"2026-11-27T10:00:00Z\",\"success\":true}\n");
    dir.file("audit_events.log", "{\"run_id\":" + nested(200000) + ",\"seq\":1,\"args\":[" + nested(200000) +
                                     "],\"event\":\"open\"}\n");
    std::ostringstream out, err;
    CHECK(hive::audit::audit_command({"show", dir.path}, out, err) == 0);
    CHECK(err.str().empty());

    std::ostringstream vout, verr;
    CHECK(hive::audit::audit_command({"verify", dir.path}, vout, verr) == 1);
    CHECK(vout.str().find("execution_audit.log:1: JSON record without prev/chain fields") != std::string::npos);
}

TEST_CASE("audit show: shallow nested values are still shown as JSON", "[audit][fuzz]") {
    hivetest::TempDir dir;
    dir.file("execution_audit.log", "{\"run_id\":[1,[2,{\"a\":3}]],\"timestamp\":\"t\"}\n");
    std::ostringstream out, err;
    CHECK(hive::audit::audit_command({"show", dir.path}, out, err) == 0);
    CHECK(out.str().find("  [1,[2,{\"a\":3}]]  ") != std::string::npos);
}
