// Alert filtering across runs (supervisor/alert_store.h) and the Alerter's notifications: the window, the
// counts, concurrent runs under flock, a corrupt or oversized state file reset with a security event, a
// failing or hanging alert command bounded and recorded.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/secret.h"
#include "run.h"
#include "supervisor/alert_store.h"
#include "supervisor/alerts.h"

using namespace hive;
using hivetest::exists;
using hivetest::grep;
using hivetest::lines;
using hivetest::LogDir;
using hivetest::read_file;

namespace {

constexpr std::int64_t T0 = 1'800'000'000'000;  // ms

struct Sunk {
    std::string severity, kind, message, json;
};

Alerter::SecuritySink sink_into(std::vector<Sunk>& v) {
    return [&v](const std::string& s, const std::string& k, const std::string& m, const std::string& j) {
        v.push_back({s, k, m, j});
    };
}

std::shared_ptr<const Secret> command(const std::string& c) {
    auto s = Secret::copy_of(c);
    REQUIRE(s.ok());
    return std::move(s).value();
}

}  // namespace

TEST_CASE("alert store: one notification per script and alert in the window, then the count", "[alerts]") {
    LogDir d;
    AlertStore st(d.path, 10);
    auto a = st.decide("/s.py", "cpu_usage", "run1", T0);
    CHECK(a.notify);
    CHECK(a.count == 1);
    CHECK(a.suppressed_since_last == 0);
    CHECK(a.problems.empty());
    auto b = st.decide("/s.py", "cpu_usage", "run2", T0 + 1000);
    CHECK_FALSE(b.notify);
    CHECK(b.count == 2);
    CHECK(b.notified_run == "run1");
    CHECK(b.notified_at_ms == T0);
    auto c = st.decide("/s.py", "cpu_usage", "run3", T0 + 9999);
    CHECK_FALSE(c.notify);
    CHECK(c.count == 3);
    // Another alert of the same script, the same alert of another script: windows of their own.
    CHECK(st.decide("/s.py", "memory_usage", "run3", T0 + 2000).notify);
    CHECK(st.decide("/t.py", "cpu_usage", "run4", T0 + 2000).notify);
    // After the window: the next one goes out and says what was held back.
    auto e = st.decide("/s.py", "cpu_usage", "run5", T0 + 10000);
    CHECK(e.notify);
    CHECK(e.suppressed_since_last == 2);
    CHECK(e.count == 3);
    // ... and opens a new window.
    CHECK_FALSE(st.decide("/s.py", "cpu_usage", "run6", T0 + 10001).notify);
    auto f = st.decide("/s.py", "cpu_usage", "run7", T0 + 30000);
    CHECK(f.notify);
    CHECK(f.suppressed_since_last == 1);
}

TEST_CASE("alert store: window 0 filters nothing and writes no file", "[alerts]") {
    LogDir d;
    AlertStore st(d.path, 0);
    for (int i = 0; i < 3; ++i) CHECK(st.decide("/s.py", "cpu_usage", "r", T0).notify);
    CHECK_FALSE(exists(st.state_path()));
}

TEST_CASE("alert store: the file keeps only what a decision needs", "[alerts]") {
    LogDir d;
    AlertStore st(d.path, 10);
    for (int i = 0; i < 50; ++i) REQUIRE(st.decide("/s" + std::to_string(i) + ".py", "cpu_usage", "r", T0).notify);
    CHECK(lines(read_file(st.state_path())).size() == 51);  // header + 50
    REQUIRE_FALSE(st.decide("/s0.py", "cpu_usage", "r2", T0 + 1).notify);  // s0 now holds one back
    // Past the window: the quiet entries are gone; s0's count is kept for its next notification.
    REQUIRE(st.decide("/x.py", "cpu_usage", "r3", T0 + 20000).notify);
    auto kept = lines(read_file(st.state_path()));
    CHECK(kept.size() == 3);
    CHECK(grep(read_file(st.state_path()), " r ").size() == 1);
    // Past the stale horizon even a held-back count goes.
    REQUIRE(st.decide("/y.py", "cpu_usage", "r4", T0 + AlertStore::kStaleHorizonMs + 20000).notify);
    CHECK(lines(read_file(st.state_path())).size() == 2);
    // Never more than kMaxEntries.
    for (std::size_t i = 0; i < AlertStore::kMaxEntries + 20; ++i)
        st.decide("/m" + std::to_string(i) + ".py", "cpu_usage", "r", T0 + AlertStore::kStaleHorizonMs + 20000);
    CHECK(lines(read_file(st.state_path())).size() == AlertStore::kMaxEntries + 1);
}

TEST_CASE("alert store: concurrent runs under flock send one notification", "[alerts]") {
    LogDir d;
    AlertStore st(d.path, 60);
    const std::string out = d.path + "/decisions";
    constexpr int kRuns = 8;
    std::vector<pid_t> kids;
    for (int i = 0; i < kRuns; ++i) {
        pid_t p = fork();
        REQUIRE(p >= 0);
        if (p == 0) {
            int n = 0;
            for (int k = 0; k < 20; ++k) {
                auto dd = st.decide("/s.py", "alert" + std::to_string(k), "run" + std::to_string(i), T0 + k);
                if (dd.notify) ++n;
                if (!dd.problems.empty()) _exit(100);
            }
            _exit(n);
        }
        kids.push_back(p);
    }
    int total = 0;
    for (pid_t p : kids) {
        int status = 0;
        REQUIRE(waitpid(p, &status, 0) == p);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) != 100);
        total += WEXITSTATUS(status);
    }
    CHECK(total == 20);  // each of the 20 alerts notified exactly once over the 8 runs
    auto after = st.decide("/s.py", "alert0", "later", T0 + 100);
    CHECK(after.count == kRuns + 1);  // the 7 suppressed ones were all counted
}

TEST_CASE("alert store: a corrupt or oversized state file is reset, with a problem to record", "[alerts]") {
    LogDir d;
    AlertStore st(d.path, 10);
    for (const std::string& garbage : {std::string("not a state file\n"), std::string("hive-py alerts.state 1\nzz 1 2\n"),
                                      std::string("hive-py alerts.state 1\n") + std::string(64, 'a') + " 5 -1 r a\n",
                                      std::string("hive-py alerts.state 1\n") + std::string(64, 'a') + " 5 1 r",
                                      std::string(AlertStore::kMaxFileBytes + 1, '\n'), std::string()}) {
        { std::ofstream(st.state_path(), std::ios::trunc) << garbage; }
        auto r = st.decide("/s.py", "cpu_usage", "r1", T0);
        CHECK(r.notify);
        REQUIRE(r.problems.size() == 1);
        CHECK(r.problems[0].find("alert state is reset") != std::string::npos);
        // The reset file is well formed again.
        auto r2 = st.decide("/s.py", "cpu_usage", "r2", T0 + 1);
        CHECK_FALSE(r2.notify);
        CHECK(r2.problems.empty());
    }
    // A directory where the file should be: the alert still goes out, the problem is said.
    std::remove(st.state_path().c_str());
    REQUIRE(mkdir(st.state_path().c_str(), 0700) == 0);
    auto r = st.decide("/s.py", "cpu_usage", "r1", T0);
    CHECK(r.notify);
    CHECK_FALSE(r.problems.empty());
    rmdir(st.state_path().c_str());
}

TEST_CASE("alerter: the notification carries the alert, the run, the count and the window", "[alerts]") {
    LogDir d;
    const std::string got = d.path + "/got.jsonl";
    std::vector<Sunk> ev;
    {
        Alerter a("run1", "/s.py", command("cat >> " + got), sink_into(ev), AlertStore(d.path, 60));
        CHECK(a.raise("cpu_usage", "CPU 90%", 90.0, 80.0));
        CHECK_FALSE(a.raise("cpu_usage", "again", 95.0, 80.0));  // once per run
        a.finish(5.0);
    }
    {
        Alerter a("run2", "/s.py", command("cat >> " + got), sink_into(ev), AlertStore(d.path, 60));
        CHECK(a.raise("cpu_usage", "CPU 91%", 91.0, 80.0));
        a.finish(5.0);
        REQUIRE(a.for_stderr().size() == 1);
        CHECK(a.for_stderr()[0] == "cpu_usage: CPU 91% (notification suppressed)");
        CHECK(a.raised().size() == 1);
    }
    auto sent = lines(read_file(got));
    REQUIRE(sent.size() == 1);
    for (const char* f : {"\"alert\":\"cpu_usage\"", "\"message\":\"CPU 90%\"", "\"value\":90", "\"threshold\":80",
                          "\"run_id\":\"run1\"", "\"script\":\"/s.py\"", "\"timestamp\":\"", "\"count\":1",
                          "\"window_seconds\":60", "\"suppressed_since_last\":0"})
        CHECK(sent[0].find(f) != std::string::npos);
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == "alert");
    CHECK(ev[0].json.find("\"suppressed\"") == std::string::npos);
    CHECK(ev[1].kind == "alert");
    CHECK(ev[1].json.find("\"suppressed\":true") != std::string::npos);
    CHECK(ev[1].json.find("\"notified_run\":\"run1\"") != std::string::npos);
    CHECK(ev[1].json.find("\"count\":2") != std::string::npos);
    CHECK(ev[1].message.find("notification suppressed: run run1 sent it") != std::string::npos);
}

TEST_CASE("alerter: a corrupt state file is a security event, and the alert still goes out", "[alerts]") {
    LogDir d;
    { std::ofstream(d.path + "/alerts.state") << "\x01\x02garbage"; }
    std::vector<Sunk> ev;
    Alerter a("run1", "/s.py", command("cat > " + d.path + "/got"), sink_into(ev), AlertStore(d.path, 60));
    a.raise("cpu_usage", "CPU", 90.0, 80.0);
    a.finish(5.0);
    CHECK(read_file(d.path + "/got").find("\"alert\":\"cpu_usage\"") != std::string::npos);
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == "alert_state");
    CHECK(ev[0].message.find("is unreadable") != std::string::npos);
    CHECK(ev[1].kind == "alert");
    CHECK(ev[1].json.find("\"suppressed\"") == std::string::npos);
}

TEST_CASE("alerter: a failing alert command is recorded with its status and stderr", "[alerts]") {
    LogDir d;
    std::vector<Sunk> ev;
    Alerter a("run1", "/s.py", command("cat >/dev/null; echo 'webhook refused' >&2; exit 3"), sink_into(ev));
    a.raise("cpu_usage", "CPU", 90.0, 80.0);
    a.finish(5.0);
    REQUIRE(ev.size() == 2);
    CHECK(ev[1].kind == "alert_command");
    CHECK(ev[1].severity == "high");
    CHECK(ev[1].message == "alert cpu_usage: the alert command exited with status 3; its stderr: webhook refused");
}

TEST_CASE("alerter: a hanging alert command is killed with its process group at the bound", "[alerts]") {
    LogDir d;
    std::vector<Sunk> ev;
    const std::string pidfile = d.path + "/sleep.pid";
    // The shell starts a child of its own: the group goes with it.
    Alerter a("run1", "/s.py", command("sleep 60 & echo $! > " + pidfile + "; wait"), sink_into(ev));
    a.raise("run_failed", "failed", 1.0, 0.0, false);
    auto t0 = std::chrono::steady_clock::now();
    a.finish(0.5);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(took < 1.5);
    REQUIRE(ev.size() == 2);
    CHECK(ev[1].kind == "alert_command");
    CHECK(ev[1].message.find("the alert command killed after 0.") != std::string::npos);
    CHECK(ev[1].message.find("(hive-py waits at most 0.5 s after the run's end)") != std::string::npos);
    const std::string pid = lines(read_file(pidfile)).at(0);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        std::string stat = read_file("/proc/" + pid + "/stat");
        gone = stat.empty() || stat.find(") Z") != std::string::npos;
        if (!gone) usleep(10000);
    }
    CHECK(gone);
}

TEST_CASE("alerter: without an alert command nothing is held back and no state is kept", "[alerts]") {
    LogDir d;
    std::vector<Sunk> ev;
    for (int i = 0; i < 2; ++i) {
        Alerter a("run" + std::to_string(i), "/s.py", nullptr, sink_into(ev), AlertStore(d.path, 60));
        a.raise("cpu_usage", "CPU", 90.0, 80.0);
        CHECK(a.for_stderr().at(0) == "cpu_usage: CPU");
    }
    REQUIRE(ev.size() == 2);
    CHECK(ev[1].json.find("\"suppressed\"") == std::string::npos);
    CHECK_FALSE(exists(d.path + "/alerts.state"));
}
