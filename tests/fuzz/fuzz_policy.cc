// hive::parse_policy, the policy parser and validator (yaml-cpp underneath), fed any text. It must return
// a policy or an error of the form `FILE:...: what is wrong`, never throw, crash or hang. A policy it
// accepts must be within the schema's bounds, and its effective form must read back as the same policy:
// to_yaml (--check-policy's output) parses to an equivalent policy, to_json (the run record's) is JSON.
// fuzz-link: hive_policy
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_input.h"
#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const std::string base = "/fuzz/base";
    auto r = hive::parse_policy(text, "fuzz.yml", base);
    if (!r) {
        const std::string& m = r.error().message;
        HIVE_FUZZ_CHECK(m.rfind("fuzz.yml", 0) == 0, m);
        return 0;
    }
    const hive::Policy& p = *r;
    const auto& x = p.execution;
    HIVE_FUZZ_CHECK(x.timeout_seconds >= 1 && x.timeout_seconds <= 86400);
    HIVE_FUZZ_CHECK(x.cpu_seconds >= 1 && x.cpu_seconds <= 86400);
    HIVE_FUZZ_CHECK(x.memory_mb >= 32 && x.memory_mb <= 1048576);
    HIVE_FUZZ_CHECK(x.max_processes >= 1 && x.max_processes <= 4096);
    HIVE_FUZZ_CHECK(x.max_open_files >= 16 && x.max_open_files <= 65536);
    for (int port : p.network.blocked_ports) HIVE_FUZZ_CHECK(port >= 1 && port <= 65535);
    for (const auto* list : {&p.filesystem.allowed_paths, &p.filesystem.read_only_paths, &p.filesystem.exec_paths})
        for (const auto& path : *list) {
            HIVE_FUZZ_CHECK(!path.empty() && path[0] == '/', path);
            HIVE_FUZZ_CHECK(hive::normalize_path(path, "/") == path, path);
        }
    HIVE_FUZZ_CHECK(p.filesystem.exec_paths.empty() || x.allow_subprocess);

    const std::string yaml = hive::to_yaml(p);
    auto again = hive::parse_policy(yaml, "fuzz-effective.yml", base);
    if (!again) hivefuzz::fail("the effective policy (to_yaml) does not parse", again.error().message + "\n" + yaml);
    if (!hive::equivalent(p, *again)) hivefuzz::fail("the effective policy (to_yaml) reads back different", yaml);
    const std::string js = hive::to_json(p);
    if (!nlohmann::json::accept(js)) hivefuzz::fail("the policy's JSON (to_json) is not JSON", js);
    return 0;
}
