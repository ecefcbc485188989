// The parent's reading of the ring: sequence faults and undecodable records become security events,
// the counts in the run record follow what was recorded, and log_level decides what each stream keeps.
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "channel/event.h"
#include "run.h"
#include "supervisor/run_log.h"

using namespace hive;
using hivetest::grep;
using hivetest::LogDir;
namespace json = hive::json;

namespace {

std::string rec(std::uint32_t pid, std::uint64_t seq, channel::Decision d = channel::Decision::allowed) {
    channel::EventWriter w(pid, seq, 1, d, channel::Kind::file, "open");
    w.arg("/tmp/x");
    return std::string(static_cast<const char*>(w.data()), w.size());
}

audit::AuditLog open_log(const LogDir& d) {
    auto l = audit::AuditLog::open({d.path});
    REQUIRE(l.ok());
    return std::move(l).value();
}

}  // namespace

TEST_CASE("run log: a gap in a writer's sequence is a security event", "[runlog]") {
    LogDir d;
    Policy p;
    RunLog log("run1", p, open_log(d));
    channel::Drained dr;
    dr.records = {rec(2, 1), rec(2, 2), rec(2, 4), rec(3, 1), "garbage"};
    log.take(std::move(dr));
    log.finish("{\"run_id\":\"run1\"}");
    CHECK(log.events() == 4);
    auto sec = d.security();
    CHECK(grep(sec, "sequence gap from pid 2: expected 3, got 4 (1 record missing)").size() == 1);
    CHECK(grep(sec, "malformed event record").size() == 1);
    CHECK(log.channel_faults() == 2);
    CHECK(hivetest::lines(d.events()).size() == 4);
    CHECK(hivetest::lines(d.runs()).size() == 1);
}

TEST_CASE("run log: channel faults are all counted, and only the first 100 written", "[runlog]") {
    LogDir d;
    Policy p;
    RunLog log("run3", p, open_log(d));
    for (int round = 0; round < 3; ++round) {
        channel::Drained dr;
        dr.records.assign(50, "garbage");
        dr.faults = {"torn record: test"};
        dr.faults_dropped = 2;
        log.take(std::move(dr));
    }
    log.finish("{\"run_id\":\"run3\"}");
    CHECK(log.channel_faults() == 3 * 53);
    auto sec = d.security();
    CHECK(grep(sec, "\"kind\":\"channel_fault\"").size() == 101);
    CHECK(grep(sec, "further channel faults are counted in the run record, not logged").size() == 1);
}

TEST_CASE("run log: log_level WARNING keeps denials and drops allowed events", "[runlog]") {
    LogDir d;
    Policy p;
    p.monitoring.log_level = LogLevel::warning;
    RunLog log("run2", p, open_log(d));
    channel::Drained dr;
    dr.records = {rec(2, 1), rec(2, 2, channel::Decision::denied_by_hook), rec(2, 3)};
    log.take(std::move(dr));
    log.finish("{\"run_id\":\"run2\"}");
    CHECK(log.events() == 3);
    CHECK(log.denials() == 1);
    auto ev = hivetest::lines(d.events());
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].find("\"decision\":\"denied_by_hook\"") != std::string::npos);
    CHECK(grep(d.security(), "\"kind\":\"denied\"").size() == 1);
}

TEST_CASE("iso_time() is gmtime_r's UTC date and time, with microseconds", "[runlog]") {
    // Epoch, leap days (2000 is a leap year, 2100 is not), year and month ends, and now.
    std::vector<std::uint64_t> secs = {0, 59, 86399, 86400, 951782400, 951868799, 951868800, 978307199,
                                       1709164800, 4107542400, 4107628800, 4102444799, 1795826610};
    for (std::uint64_t day = 0; day < 80000; day += 37) secs.push_back(day * 86400 + day % 86400);
    for (std::uint64_t s : secs) {
        time_t t = time_t(s);
        tm g;
        REQUIRE(gmtime_r(&t, &g) != nullptr);
        char want[64];
        std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.123456Z", g.tm_year + 1900, g.tm_mon + 1,
                      g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec);
        INFO("unix time " << s);
        CHECK(hive::iso_time(s * 1000000000ull + 123456789ull) == want);
    }
}

TEST_CASE("run log: the run's denials are listed with their target and the key that decides them", "[runlog]") {
    LogDir d;
    Policy p;
    RunLog log("run3", p, open_log(d));
    auto denied = [](std::uint64_t seq, const char* name, std::vector<std::string> args) {
        channel::EventWriter w(2, seq, 1, channel::Decision::denied_by_hook, channel::Kind::file, name);
        for (auto& a : args) w.arg(a);
        return std::string(static_cast<const char*>(w.data()), w.size());
    };
    channel::Drained dr;
    dr.records = {denied(1, "open", {"/etc/shadow", "r"}), rec(2, 2), denied(3, "open", {"/etc/cron.d/x", "w"}),
                  denied(4, "import", {"ctypes"}), denied(5, "subprocess.Popen", {"/bin/sh"})};
    log.take(std::move(dr));
    log.security("high", "denied_by_kernel", "connect to 10.0.0.1:443 refused: not an allowed domain");
    log.finish("{\"run_id\":\"run3\"}");
    const auto& ds = log.denial_list();
    REQUIRE(ds.size() == 5);
    CHECK(ds[0].event == "open");
    CHECK(ds[0].target == "/etc/shadow");
    CHECK(ds[0].rule == "security.filesystem (readable paths)");
    CHECK(ds[1].rule == "security.filesystem.allowed_paths");
    CHECK(ds[2].rule == "security.imports");
    CHECK(ds[2].target == "ctypes");
    CHECK(ds[3].rule == "security.execution.allow_subprocess");
    CHECK(ds[4].event == "network.connect");
    CHECK(ds[4].decision == channel::Decision::denied_by_kernel);
    CHECK(log.denials() == 4);  // the hook's; the parent counts its network denials through event()
}

TEST_CASE("run log: records reach the trail as they were built, one object per line, chained", "[runlog]") {
    LogDir d;
    Policy p;
    RunLog log("run4", p, open_log(d));
    json::Object ev;
    ev.add("run_id", "run4").add("event", "network.connect").add("decision", "allowed");
    log.event(std::move(ev), channel::Decision::allowed);
    log.event("{\"run_id\":\"run4\",\"event\":\"as text\"}", channel::Decision::allowed);
    log.event("not an object", channel::Decision::allowed);  // refused, said in errors()
    log.sample("{\"run_id\":\"run4\",\"cpu_seconds\":0.5}");
    log.finish("{\"run_id\":\"run4\"}");
    auto ev_lines = hivetest::lines(d.events());
    REQUIRE(ev_lines.size() == 2);
    CHECK(ev_lines[0].rfind("{\"run_id\":\"run4\",\"event\":\"network.connect\",\"decision\":\"allowed\",\"prev\":\"", 0) == 0);
    CHECK(ev_lines[1].rfind("{\"run_id\":\"run4\",\"event\":\"as text\",\"prev\":\"", 0) == 0);
    CHECK(hivetest::lines(d.read("resource_usage.log")).size() == 1);
    REQUIRE(log.errors().size() == 1);
    CHECK(log.errors()[0] == "a parent's event that is not a JSON object was not recorded");
}
