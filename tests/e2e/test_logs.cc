// The audit trail as a user meets it: measured figures, hash chains that `hive-py audit verify` checks,
// many runs appending at once, rotation, HMAC, alerts and the readable timeline.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "run.h"

using namespace hivetest;

namespace {


// The number after "key": in a JSON text (first occurrence).
double number_after(const std::string& text, const std::string& key) {
    std::smatch m;
    std::regex re("\"" + key + "\":(-?[0-9.eE+-]+)");
    if (!std::regex_search(text, m, re)) return -1;
    return std::stod(m[1]);
}

std::string last_line(const std::string& text) {
    auto l = lines(text);
    return l.empty() ? "" : l.back();
}

}  // namespace

TEST_CASE("logs: resource figures are measured and track reality", "[logs]") {
    LogDir logs;
    SECTION("200 MB allocated reports a peak of at least 200 MB") {
        auto r = hive({"--log-dir", logs.path, "-c", "a = b'x' * (200 * 1024 * 1024)\nprint(len(a))"});
        REQUIRE(r.exit_code == 0);
        auto rec = last_line(logs.read("execution_audit.log"));
        CHECK(number_after(rec, "peak_memory_mb") >= 200);
        CHECK(number_after(rec, "peak_memory_mb") < 512);
    }
    SECTION("a one-second spin reports at least 0.9 s of CPU") {
        auto r = hive({"--log-dir", logs.path, "-c",
                       "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass"});
        REQUIRE(r.exit_code == 0);
        auto rec = last_line(logs.read("execution_audit.log"));
        CHECK(number_after(rec, "user_cpu_seconds") + number_after(rec, "system_cpu_seconds") >= 0.9);
        // cpu_percent is CPU over wall time: positive, and not more than the machine's cores allow.
        CHECK(number_after(rec, "cpu_percent") > 0);
        CHECK(number_after(rec, "cpu_percent") <= 100.0 * std::thread::hardware_concurrency() + 1);
    }
    SECTION("writing 10 MB reports at least 10 MB written") {
        // Into the run's private /tmp (disk_mb: 100 by default), gone with the run.
        auto r = hive({"--log-dir", logs.path, "-c",
                       "with open('/tmp/big', 'wb') as f:\n    for i in range(10): f.write(b'y' * 1048576)"});
        REQUIRE(r.exit_code == 0);
        auto rec = last_line(logs.read("execution_audit.log"));
        CHECK(number_after(rec, "bytes_written") >= 10 * 1048576);
    }
    SECTION("samples show the curve of a long run") {
        TempDir d;
        auto pol = d.file("p.yml", "security:\n  monitoring:\n    sample_interval_ms: 100\n");
        auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                       "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass"});
        REQUIRE(r.exit_code == 0);
        auto samples = lines(logs.read("resource_usage.log"));
        CHECK(samples.size() >= 5);
        // The curve rises while the script spins (the very last sample may catch it already gone).
        double peak = 0;
        for (auto& l : samples) peak = std::max(peak, number_after(l, "cpu_seconds"));
        CHECK(peak > number_after(samples.front(), "cpu_seconds"));
        CHECK(peak >= 0.5);
    }
}

TEST_CASE("logs: the run record carries the specification's fields and ours", "[logs]") {
    LogDir logs;
    TempDir d;
    auto script = d.file("s.py", "import sys\nprint('out'); print('err', file=sys.stderr); sys.exit(3)\n");
    auto r = hive({"--log-dir", logs.path, script, "a1", "a2"});
    REQUIRE(r.exit_code == 3);
    auto rec = last_line(logs.read("execution_audit.log"));
    for (const char* k : {"\"timestamp\":", "\"script_path\":", "\"script_hash\":\"", "\"args\":[\"a1\",\"a2\"]",
                          "\"return_code\":3", "\"stdout_hash\":", "\"stderr_hash\":", "\"execution_time\":",
                          "\"success\":false", "\"resource_usage\":{", "\"run_id\":", "\"policy_source\":\"built-in default\"",
                          "\"policy_sha256\":", "\"layers\":[", "\"user\":", "\"cwd\":", "\"events\":", "\"denials\":",
                          "\"ended\":\"exit\"", "\"prev\":", "\"chain\":"})
        CHECK(rec.find(k) != std::string::npos);
    // The hashes are of the complete streams the user saw.
    auto sha = run({"/usr/bin/sha256sum"}, {.stdin_data = "out\n"});
    CHECK(rec.find("\"stdout_hash\":\"" + sha.out.substr(0, 64) + "\"") != std::string::npos);
}

TEST_CASE("logs: editing, deleting or swapping records makes audit verify fail at the right record", "[logs]") {
    LogDir logs;
    for (int i = 0; i < 4; ++i) REQUIRE(hive({"--log-dir", logs.path, "-c", "print(" + std::to_string(i) + ")"}).exit_code == 0);
    auto ok = hive({"audit", "verify", logs.path});
    INFO(ok.out << ok.err);
    REQUIRE(ok.exit_code == 0);
    const std::string f = logs.path + "/execution_audit.log";
    auto original = read_file(f);
    auto recs = lines(original);
    REQUIRE(recs.size() == 4);
    auto write = [&](const std::vector<std::string>& ls) {
        std::ofstream o(f, std::ios::trunc);
        for (auto& l : ls) o << l << "\n";
    };
    SECTION("one byte edited") {
        auto ls = recs;
        auto pos = ls[1].find("\"return_code\":0");
        ls[1][pos + 14] = '7';
        write(ls);
        auto v = hive({"audit", "verify", logs.path});
        CHECK(v.exit_code == 1);
        CHECK((v.out + v.err).find("execution_audit.log:2") != std::string::npos);
    }
    SECTION("a line deleted") {
        auto ls = recs;
        ls.erase(ls.begin() + 2);
        write(ls);
        auto v = hive({"audit", "verify", logs.path});
        CHECK(v.exit_code == 1);
        CHECK((v.out + v.err).find("execution_audit.log:3") != std::string::npos);
    }
    SECTION("two lines swapped") {
        auto ls = recs;
        std::swap(ls[1], ls[2]);
        write(ls);
        auto v = hive({"audit", "verify", logs.path});
        CHECK(v.exit_code == 1);
        CHECK((v.out + v.err).find("execution_audit.log:2") != std::string::npos);
    }
}

TEST_CASE("logs: cutting the newest records, deleting a stream or restoring an older copy makes audit verify fail",
          "[logs]") {
    LogDir logs;
    for (int i = 0; i < 3; ++i) REQUIRE(hive({"--log-dir", logs.path, "-c", "print(" + std::to_string(i) + ")"}).exit_code == 0);
    const std::string f = logs.path + "/execution_audit.log";
    const std::string older = read_file(f);
    REQUIRE(hive({"--log-dir", logs.path, "-c", "print(3)"}).exit_code == 0);
    REQUIRE(hive({"audit", "verify", logs.path}).exit_code == 0);
    auto recs = lines(read_file(f));
    REQUIRE(recs.size() == 4);
    auto write = [&](const std::string& text) { std::ofstream(f, std::ios::trunc) << text; };
    SECTION("the last record cut off") {
        write(older);  // the first three lines, byte for byte: what `head -n 3` or a truncate leaves
        auto v = hive({"audit", "verify", logs.path});
        INFO(v.out << v.err);
        CHECK(v.exit_code == 1);
        CHECK(grep(v.out, f + ":4: the newest records were cut off: the head counts 4 records").size() == 1);
        CHECK(grep(v.out, "FAILED").size() == 1);
        // A later run does not paper over it.
        REQUIRE(hive({"--log-dir", logs.path, "-c", "pass"}).exit_code == 0);
        v = hive({"audit", "verify", logs.path});
        CHECK(v.exit_code == 1);
        CHECK(grep(v.out, f + ":4: record deleted, inserted or reordered").size() == 1);
    }
    SECTION("the stream file deleted") {
        REQUIRE(std::remove(f.c_str()) == 0);
        auto v = hive({"audit", "verify", logs.path});
        INFO(v.out << v.err);
        CHECK(v.exit_code == 1);
        CHECK(grep(v.out, f + ": stream file deleted: the head counts 4 records").size() == 1);
    }
    SECTION("the file replaced by an older copy of itself") {
        TempDir other("/var/tmp/hive-older-XXXXXX");
        std::string copy = other.path + "/execution_audit.log";
        std::ofstream(copy) << older;
        REQUIRE(std::rename(copy.c_str(), f.c_str()) == 0);
        auto v = hive({"audit", "verify", logs.path});
        INFO(v.out << v.err);
        CHECK(v.exit_code == 1);
        CHECK(grep(v.out, "execution_audit.log: 3 records, 1 problem").size() == 1);
    }
}

TEST_CASE("logs: 50 concurrent runs leave intact chains and exactly 50 run records", "[logs]") {
    LogDir logs;
    std::vector<std::thread> ts;
    std::vector<int> codes(50, -1);
    for (int i = 0; i < 50; ++i)
        ts.emplace_back([&, i] { codes[i] = hive({"--log-dir", logs.path, "-c", "import json; print(json.dumps(" + std::to_string(i) + "))"}).exit_code; });
    for (auto& t : ts) t.join();
    for (int c : codes) CHECK(c == 0);
    CHECK(lines(logs.read("execution_audit.log")).size() == 50);
    auto v = hive({"audit", "verify", logs.path});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
}

TEST_CASE("logs: rotation and compression keep audit verify green", "[logs]") {
    LogDir logs;
    TempDir d;
    auto pol = d.file("p.yml", "security:\n  monitoring:\n    log_max_bytes: 4096\n");
    for (int i = 0; i < 6; ++i) REQUIRE(hive({"--policy", pol, "--log-dir", logs.path, "-c", "import json, csv, re"}).exit_code == 0);
    // Compression happens in a detached process, off the run's critical path: wait for it (bounded).
    for (int i = 0; i < 100 && !exists(logs.path + "/audit_events.log.1.gz"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(exists(logs.path + "/audit_events.log.1.gz"));
    auto v = hive({"audit", "verify", logs.path});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
}

TEST_CASE("logs: with an HMAC key, verify needs the key", "[logs]") {
    LogDir logs;
    char t[] = "/var/tmp/hive-key-XXXXXX";
    std::string kd = mkdtemp(t);
    std::ofstream(kd + "/key") << "s3cret-key";
    TempDir d;
    auto pol = d.file("p.yml", "security:\n  monitoring:\n    hmac_key_file: " + kd + "/key\n");
    REQUIRE(hive({"--policy", pol, "--log-dir", logs.path, "-c", "print(1)"}).exit_code == 0);
    CHECK(hive({"audit", "verify", logs.path, "--key-file", kd + "/key"}).exit_code == 0);
    CHECK(hive({"audit", "verify", logs.path}).exit_code == 1);
    std::system(("rm -rf " + kd).c_str());
}

TEST_CASE("logs: an HMAC key file the sandbox could read is refused before anything runs", "[logs]") {
    LogDir logs;
    TempDir d;  // the script's directory: readable by the script (its sibling modules)
    std::ofstream(d.path + "/hmac.key") << "s3cret-key";
    auto script = d.file("s.py", "print('ran')\n");
    auto in_script_dir = d.file("p1.yml", "security:\n  monitoring:\n    hmac_key_file: " + d.path + "/hmac.key\n");
    auto r = hive({"--policy", in_script_dir, "--log-dir", logs.path, script});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == "hive-py: error: security.monitoring.hmac_key_file " + d.path + "/hmac.key lies inside " + d.path +
                       " (the script's directory), which the script may read: it could read the key and forge the audit chain; keep the key "
                       "elsewhere\n");
    // Inside a writable path, and inside the stdlib (a path every run may read).
    char t[] = "/var/tmp/hive-keyw-XXXXXX";
    std::string w = mkdtemp(t);
    std::ofstream(w + "/k") << "s3cret-key";
    auto in_writable = d.file("p2.yml", "security:\n  filesystem:\n    allowed_paths: [\"" + w +
                                            "\"]\n  monitoring:\n    hmac_key_file: " + w + "/k\n");
    r = hive({"--policy", in_writable, "--log-dir", logs.path, "-c", "pass"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("hmac_key_file " + w + "/k lies inside " + w + " (security.filesystem.allowed_paths[0]),") !=
          std::string::npos);
    // --check-policy says so too, rather than calling the policy valid.
    auto checked = hive({"--check-policy", in_writable});
    CHECK(checked.exit_code == 2);
    CHECK(checked.out.empty());
    CHECK(checked.err == r.err);
    auto in_stdlib = d.file("p3.yml", "security:\n  monitoring:\n    hmac_key_file: /usr/lib/python3.11/os.py\n");
    r = hive({"--policy", in_stdlib, "--log-dir", logs.path, "-c", "pass"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("lies inside /usr/lib/python3.11 (system: the stdlib),") != std::string::npos);
    // A key with a second name (a hard link), which could lie anywhere.
    char t2[] = "/var/tmp/hive-keyl-XXXXXX";
    std::string kd = mkdtemp(t2);
    std::ofstream(kd + "/k") << "s3cret-key";
    REQUIRE(link((kd + "/k").c_str(), (kd + "/k2").c_str()) == 0);
    auto linked = d.file("p4.yml", "security:\n  monitoring:\n    hmac_key_file: " + kd + "/k\n");
    r = hive({"--policy", linked, "--log-dir", logs.path, "-c", "pass"});
    CHECK(r.exit_code == 2);
    CHECK(r.err == "hive-py: error: security.monitoring.hmac_key_file " + kd + "/k has 2 names (hard links): one may "
                   "lie where the script can read it; give the key a single name\n");
    std::system(("rm -rf " + kd).c_str());
    // Nothing ran: no record.
    CHECK_FALSE(exists(logs.path + "/execution_audit.log"));
    std::system(("rm -rf " + w).c_str());
}

TEST_CASE("logs: alerts reach the alert command once each, as JSON", "[logs]") {
    LogDir logs;
    TempDir d;
    char t[] = "/var/tmp/hive-alert-XXXXXX";
    std::string ad = mkdtemp(t);
    auto pol = d.file("p.yml", "security:\n  execution:\n    cpu_seconds: 2\n  monitoring:\n    sample_interval_ms: 50\n"
                               "    alert_thresholds: {cpu_usage: 25}\n    alert_command: \"cat >> " + ad + "/alerts.jsonl\"\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass\nraise SystemExit(4)"});
    CHECK(r.exit_code == 4);
    auto got = read_file(ad + "/alerts.jsonl");
    CHECK(grep(got, "\"alert\":\"cpu_usage\"").size() == 1);   // sampled during the run, then not repeated
    CHECK(grep(got, "\"alert\":\"run_failed\"").size() == 1);
    CHECK(grep(r.err, "hive-py: alert: cpu_usage").size() == 1);
    CHECK(grep(r.err, "hive-py: alert: run_failed").empty());  // the script's own stderr says why it failed
    CHECK(grep(logs.read("security_events.log"), "\"kind\":\"alert\"").size() == 2);
    std::system(("rm -rf " + ad).c_str());
}

TEST_CASE("logs: log_level WARNING keeps only events that were not simply allowed", "[logs]") {
    LogDir logs;
    TempDir d;
    auto pol = d.file("p.yml", "security:\n  monitoring:\n    log_level: WARNING\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "import json\ntry:\n    open('/etc/shadow')\nexcept PermissionError: pass"});
    CHECK(r.exit_code == 0);
    auto ev = lines(logs.read("audit_events.log"));
    REQUIRE(!ev.empty());
    for (auto& l : ev) CHECK(l.find("\"decision\":\"allowed\"") == std::string::npos);
    CHECK(grep(logs.read("audit_events.log"), "/etc/shadow").size() == 1);
}

TEST_CASE("logs: audit show prints a readable timeline of a run", "[logs]") {
    LogDir logs;
    auto r = hive({"--json", "--log-dir", logs.path, "-c", "open('/usr/lib/python3.11/os.py').close()\nimport json"});
    REQUIRE(r.exit_code == 0);
    std::smatch m;
    REQUIRE(std::regex_search(r.out, m, std::regex("\"run_id\":\"([0-9a-f]+)\"")));
    auto s = hive({"audit", "show", logs.path, "--run", m[1]});
    INFO(s.out << s.err);
    CHECK(s.exit_code == 0);
    CHECK(s.out.find(m[1].str()) != std::string::npos);
    CHECK(s.out.find("open") != std::string::npos);
}

TEST_CASE("logs: audit show and verify read the directory a plain run wrote to", "[logs]") {
    LogDir logs;
    TempDir cwd;
    RunOptions ro;
    ro.cwd = cwd.path;  // a ./logs here would be the old default: there is none
    ro.env_extra = {{"HIVE_LOG_DIR", logs.path}};
    auto r = hive({"-c", "print('plain run')"}, ro);
    REQUIRE(r.exit_code == 0);
    REQUIRE(exists(logs.path + "/execution_audit.log"));
    auto s = hive({"audit", "show"}, ro);
    INFO(s.out << s.err);
    CHECK(s.exit_code == 0);
    CHECK(grep(s.out, "ok rc=0").size() == 1);
    CHECK(grep(s.out, "-c print('plain run')").size() == 1);
    auto v = hive({"audit", "verify"}, ro);
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
    CHECK(grep(v.out, "OK: ").size() == 1);
    // With nothing logged there yet: one line naming the directory, exit 2.
    LogDir empty;
    std::string gone = empty.path + "/never";
    ro.env_extra = {{"HIVE_LOG_DIR", gone}};
    s = hive({"audit", "show"}, ro);
    CHECK(s.exit_code == 2);
    CHECK(lines(s.err).size() == 1);
    CHECK(s.err.find(gone) != std::string::npos);
}

TEST_CASE("logs: audit show filters a real trail, and its --json feeds jq", "[logs]") {
    LogDir logs;
    TempDir d;
    auto reader = d.file("reader.py", "open('/usr/lib/python3.11/os.py').close()\n");
    auto snoop = d.file("snoop.py", "try:\n    open('/etc/shadow')\nexcept OSError: pass\nimport json\n");
    REQUIRE(hive({"--log-dir", logs.path, reader}).exit_code == 0);
    REQUIRE(hive({"--log-dir", logs.path, snoop}).exit_code == 0);

    auto all = hive({"audit", "show", logs.path});
    INFO(all.out << all.err);
    CHECK(grep(all.out, "reader.py").size() == 1);
    CHECK(grep(all.out, "snoop.py").size() == 1);
    CHECK(grep(all.out, "1 denied").size() == 1);
    CHECK(grep(all.out, "denied_by_hook    /etc/shadow").size() == 1);

    auto denied = hive({"audit", "show", logs.path, "--denied"});
    CHECK(grep(denied.out, "reader.py").empty());
    CHECK(grep(denied.out, "/etc/shadow").size() == 1);
    auto by_script = hive({"audit", "show", logs.path, "--script", reader});
    CHECK(grep(by_script.out, "reader.py").size() == 1);
    CHECK(grep(by_script.out, "snoop.py").empty());
    auto imports = hive({"audit", "show", logs.path, "--event", "import", "--since", "1h"});
    CHECK(grep(imports.out, "import ").size() >= 1);
    CHECK(grep(imports.out, "snoop.py").size() == 1);
    auto future = hive({"audit", "show", logs.path, "--since", "2999-01-01"});
    CHECK(grep(future.out, "no runs match").size() == 1);

    auto js = hive({"audit", "show", logs.path, "--denied", "--json"});
    REQUIRE(js.exit_code == 0);
    auto jq = run({"/usr/bin/jq", "-r", "select(.type == \"event\") | \"\\(.event) \\(.args[0]) \\(.decision)\""},
                  {.stdin_data = js.out});
    INFO(jq.err);
    CHECK(jq.exit_code == 0);
    CHECK(jq.out == "open /etc/shadow denied_by_hook\n");

    for (std::vector<std::string> bad : {std::vector<std::string>{"audit", "show", logs.path, "--since", "soon"},
                                         {"audit", "show", logs.path, "--nope"},
                                         {"audit", "verify", logs.path, "--json"}}) {
        auto u = hive(bad);
        CHECK(u.exit_code == 2);
        CHECK(u.out.empty());
        CHECK(lines(u.err).size() == 1);
    }
}

TEST_CASE("logs: the log directory can never be inside a writable path", "[logs]") {
    TempDir d;
    auto r = hive({"--log-dir", d.path + "/logs", "-c", "print(1)"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("lies inside the writable path /tmp") != std::string::npos);
    CHECK(r.out.empty());
    CHECK(!exists(d.path + "/logs"));
}
