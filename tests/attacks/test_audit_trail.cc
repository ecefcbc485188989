// Attacks on the person who reads the audit trail: whatever a script puts in its events (names,
// arguments) is data, and `hive-py audit show` prints it escaped, on a terminal or for jq.
#include <catch2/catch.hpp>
#include <string>

#include "run.h"

using namespace hivetest;

TEST_CASE("attack: escape sequences in an event name and its arguments never reach the auditor's terminal raw",
          "[attack][audit]") {
    LogDir logs;
    // An event name and arguments that would retitle the terminal, clear it and turn it red.
    auto r = hive({"--log-dir", logs.path, "-c",
                   "import sys\nsys.audit('os.\\x1b]0;PWNED\\x07x', '\\x1b[2J\\x1b[31m', '\\x9b1m', '\\u202eevil')\n"
                   "try:\n    open('/etc/shadow')\nexcept OSError: pass\n"});
    REQUIRE(r.exit_code == 0);
    REQUIRE(grep(logs.events(), "\"event\":\"os.\\u001b]0;PWNED\\u0007x\"").size() == 1);
    for (const char* extra : {"--all", "--json"}) {
        auto s = hive({"audit", "show", logs.path, extra});
        INFO(extra << ": " << s.out << s.err);
        CHECK(s.exit_code == 0);
        CHECK(s.out.find("PWNED") != std::string::npos);
        for (char ch : s.out) {
            unsigned char u = static_cast<unsigned char>(ch);
            CHECK((u >= 0x20 || u == '\n'));
            CHECK(u < 0x7f);  // here: no other non-ASCII text was logged
        }
    }
    auto s = hive({"audit", "show", logs.path, "--all"});
    CHECK(s.out.find("os.\\x1b]0;PWNED\\x07x") != std::string::npos);
    CHECK(s.out.find("\\x1b[2J\\x1b[31m, \\u009b1m, \\u202eevil") != std::string::npos);
}
