// A hive-py run whose audit logs the test reads back: its execution_audit.log record and the lines of
// audit_events.log and security_events.log that carry its run id. Shared by the tests of the hook
// (test_events.cc) and of the import whitelist (test_imports.cc).
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "run.h"

namespace hivetest {

// The JSON lines of a log file (none when it does not exist).
inline std::vector<nlohmann::json> json_lines(const std::string& file) {
    std::vector<nlohmann::json> v;
    if (!exists(file)) return v;
    for (auto& l : lines(read_file(file)))
        if (!l.empty()) v.push_back(nlohmann::json::parse(l));
    return v;
}

// policy/tests/events/<name>.yml
inline std::string events_policy(const std::string& name) {
    return policy_fixture("events/" + name + ".yml");
}

struct Logged {
    Outcome o;
    nlohmann::json record;                 // the run's execution_audit.log record
    std::vector<nlohmann::json> events;    // its audit_events.log lines, in file order
    std::vector<nlohmann::json> security;  // its security_events.log lines
};

// Run `script` (written as script.py in `dir`, run from there) under `policy_file`, logging to `logs`.
inline Logged run_logged(const TempDir& dir, const LogDir& logs, const std::string& script,
                         const std::string& policy_file, const std::vector<std::string>& args = {},
                         bool parse_events = true) {
    std::string path = dir.file("script.py", script);
    std::vector<std::string> argv{"--policy", policy_file, "--log-dir", logs.path, path};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions ro;
    ro.cwd = dir.path;
    Logged r;
    r.o = hive(argv, ro);
    INFO("stdout: " << r.o.out.substr(0, 4000));
    INFO("stderr: " << r.o.err.substr(0, 4000));
    auto recs = json_lines(logs.path + "/execution_audit.log");
    REQUIRE(recs.size() == 1);
    r.record = recs.back();
    const std::string id = r.record["run_id"];
    if (parse_events)
        for (auto& e : json_lines(logs.path + "/audit_events.log"))
            if (e["run_id"] == id) r.events.push_back(e);
    for (auto& e : json_lines(logs.path + "/security_events.log"))
        if (e["run_id"] == id) r.security.push_back(e);
    return r;
}

}  // namespace hivetest
