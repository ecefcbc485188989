// A flood of audit events against the trail (#17: "flood of audit events: ~11 MB/s of log, unbounded"):
// past monitoring.max_logged_events / max_logged_bytes the run's events are counted by name, not
// written one by one; the run record says how many (events_summarised), one log_budget security event
// marks where the budget ran out and one at the end carries the counts. The run is never silently
// unlogged: its counts include every event, and a denial past the budget still gets one of 1,000 lines.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "run.h"

using namespace hivetest;
using nlohmann::json;

namespace {

struct Run {
    Outcome o;
    json record;
    std::string events, security;
    LogDir logs;
};

void flood(Run& r, const std::string& policy_text, const std::string& code) {
    PolicyDir dir;
    const std::string policy = dir.file("budget.yml", policy_text);
    r.o = hive({"--policy", policy, "--log-dir", r.logs.path, "-c", code});
    const auto recs = lines(r.logs.runs());
    if (!recs.empty()) r.record = json::parse(recs.back(), nullptr, false);
    r.events = r.logs.events();
    r.security = r.logs.security();
}

}  // namespace

TEST_CASE("attack: a flood of events past the log budget is counted, not written", "[attack][limits][log_budget]") {
    Run r;
    flood(r, "security:\n  filesystem:\n    allowed_paths: [\"/tmp\"]\n  monitoring:\n    max_logged_events: 1000\n",
          "for i in range(20000): open('/dev/null').close()\n"
          "for i in range(5):\n"
          "    try: open('/etc/shadow')\n"
          "    except PermissionError: pass\n"
          "print('done')\n");
    if (!sandbox_set_up(r.o)) return;
    INFO(r.o.err + r.security.substr(0, 3000));
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "done\n");
    REQUIRE(r.record.is_object());
    const long events = r.record["events"].get<long>();
    CHECK(events >= 20005);
    // 1,000 written; the 5 denials past the budget written too (the denial reserve); the rest counted.
    CHECK(lines(r.events).size() == 1005);
    const auto denied = grep(r.events, "\"decision\":\"denied_by_hook\"");
    CHECK(denied.size() == 5);
    for (const auto& d : denied) CHECK(d.find("\"args\":[\"/etc/shadow\"") != std::string::npos);
    CHECK(r.record["events_summarised"].get<long>() == events - 1005);
    CHECK(r.record["denials"] == 5);
    const auto budget = grep(r.security, "\"kind\":\"log_budget\"");
    REQUIRE(budget.size() == 2);
    CHECK(budget[0].find("the run's log budget is spent (1000 events") != std::string::npos);
    const json summary = json::parse(budget[1], nullptr, false);
    REQUIRE(summary.is_object());
    CHECK(summary["summary"]["open"].get<long>() == r.record["events_summarised"].get<long>());
    // The trail is still whole.
    Outcome v = hive({"audit", "verify", r.logs.path});
    CHECK(v.exit_code == 0);
}

TEST_CASE("attack: the log budget in bytes holds against long event arguments", "[attack][limits][log_budget]") {
    Run r;
    // Each open names a ~3,000-byte path: 65,536 bytes of budget is ~20 events.
    flood(r, "security:\n  filesystem:\n    allowed_paths: [\"/tmp\"]\n  monitoring:\n    max_logged_bytes: 65536\n",
          "p = '/tmp/' + 'x' * 3000\n"
          "for i in range(2000):\n"
          "    try: open(p)\n"
          "    except OSError: pass\n");
    if (!sandbox_set_up(r.o)) return;
    INFO(r.o.err + r.security.substr(0, 2000));
    REQUIRE(r.o.exit_code == 0);
    REQUIRE(r.record.is_object());
    CHECK(r.logs.read("audit_events.log").size() < 65536 + 65536);  // the records, plus their chain fields
    CHECK(r.record["events_summarised"].get<long>() > 1900);
}

TEST_CASE("a run within the log budget writes every event and says nothing of a budget", "[log_budget]") {
    Run r;
    flood(r, "security:\n  monitoring:\n    max_logged_events: 1000\n", "for i in range(100): open('/dev/null').close()\n");
    if (!sandbox_set_up(r.o)) return;
    REQUIRE(r.o.exit_code == 0);
    REQUIRE(r.record.is_object());
    CHECK(r.record["events_summarised"] == 0);
    CHECK(long(lines(r.events).size()) == r.record["events"].get<long>());
    CHECK(grep(r.security, "log_budget").empty());
}
