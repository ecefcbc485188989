// The policy parser on input found by tests/fuzz/fuzz_policy.cc (README "Reliability").
#include <catch2/catch.hpp>
#include <string>

#include "policy/policy.h"

namespace {

std::string error_of(const std::string& yaml) {
    auto r = hive::parse_policy(yaml, "p.yml", "/base");
    return r ? std::string("(accepted)") : r.error().message;
}

}  // namespace

// fuzz_policy: a path with a byte that is not UTF-8 was accepted, and the effective policy
// (--check-policy's YAML, the run record's JSON) showed U+FFFD there: another path than the one the
// sandbox was given. Strings that are not UTF-8 are refused, with their position.
TEST_CASE("policy: a string that is not valid UTF-8 is refused, with its position", "[policy][fuzz]") {
    CHECK(error_of("security:\n  filesystem:\n    allowed_paths: [\"/tm\x84pp\"]\n") ==
          "p.yml:3:21: security.filesystem.allowed_paths[0]: is not valid UTF-8 (a policy file is UTF-8 text)");
    CHECK(error_of("security:\n  monitoring:\n    alert_command: \"logger \xed\xa0\x80\"\n") ==
          "p.yml:3:20: security.monitoring.alert_command: is not valid UTF-8 (a policy file is UTF-8 text)");
    // UTF-8 paths are fine, and read back from the effective policy as they were.
    auto r = hive::parse_policy("security:\n  filesystem:\n    allowed_paths: [\"/tmp/\xc3\xa9t\xc3\xa9\"]\n", "p.yml", "/");
    REQUIRE(r);
    CHECK(r->filesystem.allowed_paths == std::vector<std::string>{"/tmp/\xc3\xa9t\xc3\xa9"});
    auto again = hive::parse_policy(hive::to_yaml(*r), "q.yml", "/");
    REQUIRE(again);
    CHECK(hive::equivalent(*r, *again));
}

// fuzz_policy: a ',' at the top level (", x", or after a flow collection) made YAML::LoadAll loop for
// ever, its vector of null documents growing by ~60 MB/s (yaml-cpp 0.7.0, jbeder/yaml-cpp#1040): a
// policy file discovered upward from the working directory could hang hive-py and exhaust the memory.
TEST_CASE("policy: a stray ',' is a syntax error, not an endless loop", "[policy][fuzz]") {
    CHECK(error_of(", x") == "p.yml:1:1: YAML syntax error: unexpected token (a ',' outside a flow collection?)");
    CHECK(error_of(",") == "p.yml:1:1: YAML syntax error: unexpected token (a ',' outside a flow collection?)");
    CHECK(error_of("# c\n  , 'x\n") == "p.yml:2:3: YAML syntax error: unexpected token (a ',' outside a flow collection?)");
    CHECK(error_of("[a]\n, x") == "p.yml:2:1: YAML syntax error: unexpected token (a ',' outside a flow collection?)");
    // What was refused before still is, with the same words.
    CHECK(error_of("security: {}\n---\nsecurity: {}\n").find("p.yml:3:1: (root): more than one YAML document") == 0);
    CHECK(error_of("") == "p.yml: the policy is empty: expected a map with the single key 'security'");
    CHECK(error_of("# only a comment\n") == "p.yml: the policy is empty: expected a map with the single key 'security'");
    CHECK(error_of("security: [").find("p.yml:1:") == 0);
}
