// Alert filtering as an operator meets it (BIP-025 "Alert Filtering: prevent alert fatigue"): runs of one
// script crossing one threshold within monitoring.alert_window_seconds send one notification; the next one
// after the window carries the count; other scripts and other alerts are not held back; every alert stays
// in the run's own trail and stderr; a failing or hanging alert command neither changes the run's exit
// status nor holds it up past the documented bound, and is recorded.
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "run.h"

using namespace hivetest;

namespace {

// Every run crosses an execution_time threshold of 10 ms; the command appends each notification to a
// file in /var/tmp, outside every path the sandbox may write.
struct Setup {
    LogDir logs;
    PolicyDir pd;
    TempDir sink{"/var/tmp/hive-test-alerts-XXXXXX"};
    std::string got() const { return read_file(sink.path + "/alerts.jsonl"); }
    std::string policy(const std::string& name, const std::string& monitoring) const {
        return pd.file(name, "security:\n  monitoring:\n    alert_thresholds: {execution_time: 0.001}\n"
                             "    alert_command: \"cat >> " + sink.path + "/alerts.jsonl\"\n" + monitoring);
    }
};

}  // namespace

TEST_CASE("alerts: three runs of one script over one threshold within the window send one notification", "[alerts]") {
    Setup s;
    const std::string pol = s.policy("p.yml", "");  // the default window, 300 s
    std::vector<Outcome> runs;
    for (int i = 0; i < 3; ++i) runs.push_back(hive({"--policy", pol, "--log-dir", s.logs.path, "-c", "pass"}));
    for (auto& r : runs) {
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(grep(r.err, "hive-py: alert: execution_time: ").size() == 1);  // each run's caller is told
    }
    CHECK(grep(runs[0].err, "(notification suppressed)").empty());
    CHECK(grep(runs[1].err, "(notification suppressed) (run ").size() == 1);
    CHECK(grep(runs[2].err, "(notification suppressed) (run ").size() == 1);

    auto sent = lines(s.got());
    REQUIRE(sent.size() == 1);
    for (const char* f : {"\"alert\":\"execution_time\"", "\"threshold\":0.001", "\"value\":", "\"script\":\"pass\"",
                          "\"count\":1", "\"window_seconds\":300", "\"suppressed_since_last\":0", "\"timestamp\":\""})
        CHECK(sent[0].find(f) != std::string::npos);

    // Every alert is in the trail: the run record's alerts and a security event, suppressed or not.
    CHECK(grep(s.logs.runs(), "\"alerts\":[\"execution_time: ").size() == 3);
    auto alerts = grep(s.logs.security(), "\"kind\":\"alert\"");
    REQUIRE(alerts.size() == 3);
    CHECK(alerts[0].find("\"suppressed\":true") == std::string::npos);
    CHECK(alerts[1].find("\"suppressed\":true") != std::string::npos);
    CHECK(alerts[1].find("\"count\":2") != std::string::npos);
    CHECK(alerts[2].find("\"count\":3") != std::string::npos);
    CHECK(alerts[2].find("notification suppressed: run ") != std::string::npos);
    // The run each suppressed one points to is the run that notified.
    const auto id_at = sent[0].find("\"run_id\":\"");
    REQUIRE(id_at != std::string::npos);
    const std::string first_run = sent[0].substr(id_at + 10, 16);
    CHECK(alerts[2].find("\"notified_run\":\"" + first_run + "\"") != std::string::npos);
    CHECK(exists(s.logs.path + "/alerts.state"));
    CHECK(hive({"audit", "verify", s.logs.path}).exit_code == 0);
}

TEST_CASE("alerts: after the window the next notification says how many were held back", "[alerts]") {
    Setup s;
    const std::string wide = s.policy("wide.yml", ""), narrow = s.policy("narrow.yml", "    alert_window_seconds: 2\n");
    // Two runs well inside any window (the 300 s one), then a run whose 2 s window has passed.
    REQUIRE(hive({"--policy", wide, "--log-dir", s.logs.path, "-c", "pass"}).exit_code == 0);
    REQUIRE(hive({"--policy", wide, "--log-dir", s.logs.path, "-c", "pass"}).exit_code == 0);
    REQUIRE(lines(s.got()).size() == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2200));
    auto r = hive({"--policy", narrow, "--log-dir", s.logs.path, "-c", "pass"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(grep(r.err, "(notification suppressed)").empty());
    auto sent = lines(s.got());
    REQUIRE(sent.size() == 2);
    CHECK(sent[1].find("\"suppressed_since_last\":1") != std::string::npos);
    CHECK(sent[1].find("\"count\":2") != std::string::npos);
    CHECK(sent[1].find("\"window_seconds\":2") != std::string::npos);
    // ... and opens a window of its own: the next run right after is held back.
    REQUIRE(hive({"--policy", narrow, "--log-dir", s.logs.path, "-c", "pass"}).exit_code == 0);
    CHECK(lines(s.got()).size() == 2);
}

TEST_CASE("alerts: another script or another threshold is not held back and window 0 holds nothing back", "[alerts]") {
    Setup s;
    const std::string pol = s.policy("p.yml", "");
    REQUIRE(hive({"--policy", pol, "--log-dir", s.logs.path, "-c", "pass"}).exit_code == 0);
    REQUIRE(hive({"--policy", pol, "--log-dir", s.logs.path, "-c", "x = 1"}).exit_code == 0);  // another script
    auto sent = lines(s.got());
    REQUIRE(sent.size() == 2);
    CHECK(sent[1].find("\"script\":\"x = 1\"") != std::string::npos);
    // The same script over another threshold (1% of memory_mb: the interpreter alone is more).
    const std::string mem = s.pd.file("mem.yml", "security:\n  monitoring:\n    alert_thresholds: {execution_time: 0.001, "
                                                 "memory_usage: 1}\n    alert_command: \"cat >> " + s.sink.path +
                                                 "/alerts.jsonl\"\n");
    auto r = hive({"--policy", mem, "--log-dir", s.logs.path, "-c", "pass"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    sent = lines(s.got());
    REQUIRE(sent.size() == 3);
    CHECK(sent[2].find("\"alert\":\"memory_usage\"") != std::string::npos);
    CHECK(grep(r.err, "hive-py: alert: execution_time: ").at(0).find("(notification suppressed)") != std::string::npos);
    CHECK(grep(r.err, "hive-py: alert: memory_usage: ").at(0).find("(notification suppressed)") == std::string::npos);
    // Window 0: every run's alert goes out.
    const std::string every = s.policy("every.yml", "    alert_window_seconds: 0\n");
    for (int i = 0; i < 2; ++i) REQUIRE(hive({"--policy", every, "--log-dir", s.logs.path, "-c", "pass"}).exit_code == 0);
    CHECK(lines(s.got()).size() == 5);
}

TEST_CASE("alerts: a failing alert command is recorded and leaves the run's exit status alone", "[alerts]") {
    LogDir logs;
    PolicyDir pd;
    const std::string pol = pd.file("p.yml", "security:\n  monitoring:\n    alert_thresholds: {execution_time: 0.001}\n"
                                             "    alert_command: \"cat >/dev/null; echo no route to pager >&2; exit 3\"\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c", "raise SystemExit(4)"});
    INFO(r.err);
    CHECK(r.exit_code == 4);
    auto failed = grep(logs.security(), "\"kind\":\"alert_command\"");
    REQUIRE(failed.size() == 2);  // execution_time and run_failed: each its own command
    CHECK(failed[0].find("the alert command exited with status 3; its stderr: no route to pager") != std::string::npos);
    CHECK(failed[0].find("\"severity\":\"high\"") != std::string::npos);
    CHECK(grep(r.err, "hive-py: warning: alert command for execution_time exited with status 3 (run ").size() == 1);
    CHECK(grep(r.err, "no route to pager").empty());  // the command's stderr goes to the record, not ours
}

TEST_CASE("alerts: a hanging alert command is killed at the bound and recorded and the run is not held up", "[alerts]") {
    LogDir logs;
    PolicyDir pd;
    // `sleep` as a child of the shell, holding no descriptor of hive-py's caller: the group is killed.
    const std::string pol = pd.file("p.yml", "security:\n  monitoring:\n    alert_thresholds: {execution_time: 0.001}\n"
                                             "    alert_command: \"cat >/dev/null; sleep 60; exit 0\"\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c", "pass"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.seconds < 5.0 + 3.0);  // the documented 5 s after the script's end, and a loaded machine's margin
    CHECK(r.seconds > 4.5);
    auto killed = grep(logs.security(), "\"kind\":\"alert_command\"");
    REQUIRE(killed.size() == 1);
    CHECK(killed[0].find("alert execution_time: the alert command killed after ") != std::string::npos);
    CHECK(killed[0].find("(hive-py waits at most 5 s after the run's end)") != std::string::npos);
    CHECK(grep(r.err, "hive-py: warning: alert command for execution_time killed after ").size() == 1);
    CHECK(grep(logs.runs(), "\"exit_code\":0").size() == 1);
}

TEST_CASE("attack: a script cannot silence its own alerts by writing the alert state", "[alerts][attack]") {
    Setup s;
    const std::string pol = s.policy("p.yml", "");
    // A forged entry (notified just now) would hold a script's alert back for the window: the file lies in the log
    // directory, which no policy may make writable, so Landlock refuses the open.
    const std::string code = "import hashlib, time\n"
                             "key = hashlib.sha256(b'x' + b'\\0' + b'execution_time').hexdigest()\n"
                             "line = 'hive-py alerts.state 1\\n%s %d 0 forged execution_time\\n' % (key, time.time() * 1000)\n"
                             "for p in ['" + s.logs.path + "/alerts.state', '" + s.logs.path + "/x.tmp']:\n"
                             "    try:\n"
                             "        open(p, 'w').write(line)\n"
                             "        print('WROTE', p)\n"
                             "    except PermissionError as e:\n"
                             "        print('refused', e.errno)\n";
    auto r = hive({"--policy", pol, "--log-dir", s.logs.path, "-c", code});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "refused 13\nrefused 13\n");
    CHECK_FALSE(exists(s.logs.path + "/x.tmp"));
    auto sent = lines(s.got());
    REQUIRE(sent.size() == 1);  // its alert went out
}
