// enforcement: strict | best_effort, and set-up failures, on a machine that lacks a kernel feature.
// `nofeature` (tests/support) makes user namespaces or Landlock look missing the way a restrictive
// container or an older kernel would: their syscalls fail for hive-py and everything it starts.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "run.h"

using namespace hivetest;

namespace {


Outcome hive_without(const std::string& feature, const std::vector<std::string>& args) {
    std::vector<std::string> argv{HIVE_NOFEATURE_BIN, feature, "--", hive_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

// Runs as an unprivileged user need root and setpriv(1) to switch to uid 65534; false (and a WARN) if
// this machine has not got them.
bool can_run_unprivileged() {
    if (geteuid() == 0 && exists("/usr/bin/setpriv")) return true;
    WARN("SKIPPED: needs root to switch to an unprivileged user with setpriv(1)");
    return false;
}

// hive-py as uid/gid 65534 with `args`, logging to a directory that user owns.
Outcome hive_unprivileged(const LogDir& logs, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", hive_bin(),
                                  "--log-dir", logs.path};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {.env_extra = {{"HOME", "/nonexistent"}}});
}

}  // namespace

TEST_CASE("enforcement: strict refuses to run without user namespaces", "[enforcement]") {
    TempDir d;
    LogDir logs;
    auto marker = d.path + "/ran";
    auto r = hive_without("--no-userns", {"--log-dir", logs.path, "-c", "open('" + marker + "', 'w')"});
    CHECK(r.exit_code == 125);
    CHECK(r.err.find("missing user namespace") != std::string::npos);
    CHECK(r.err.find("strict") != std::string::npos);
    CHECK(lines(r.err).size() == 1);
    CHECK(!exists(marker));
}

TEST_CASE("enforcement: best_effort runs without user namespaces and says so", "[enforcement]") {
    TempDir d;
    LogDir logs;
    auto pol = d.file("p.yml", "security:\n  enforcement: best_effort\n");
    auto r = hive_without("--no-userns", {"--policy", pol, "--log-dir", logs.path, "-c",
                                          "try:\n    open('/etc/shadow')\nexcept PermissionError as e: print('denied')"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "denied\n");
    CHECK(r.err.find("hive-py: warning: running without user namespace") != std::string::npos);
    auto rec = read_file(logs.path + "/execution_audit.log");
    CHECK(rec.find("namespace:user") == std::string::npos);
    CHECK(rec.find("\"landlock:abi") != std::string::npos);
    CHECK(rec.find("\"seccomp\"") != std::string::npos);
    CHECK(grep(read_file(logs.path + "/security_events.log"), "\"kind\":\"missing_layer\"").size() == 1);
}

TEST_CASE("enforcement: strict refuses to run without Landlock, best_effort runs and records it", "[enforcement]") {
    TempDir d;
    LogDir logs;
    auto marker = d.path + "/ran";
    auto r = hive_without("--no-landlock", {"--log-dir", logs.path, "-c", "open('" + marker + "', 'w')"});
    CHECK(r.exit_code == 125);
    CHECK(r.err.find("missing landlock") != std::string::npos);
    CHECK(!exists(marker));

    auto pol = d.file("p.yml", "security:\n  enforcement: best_effort\n");
    auto b = hive_without("--no-landlock", {"--policy", pol, "--log-dir", logs.path, "-c", "print('ran')"});
    CHECK(b.exit_code == 0);
    CHECK(b.out == "ran\n");
    CHECK(b.err.find("hive-py: warning: running without landlock") != std::string::npos);
    CHECK(read_file(logs.path + "/execution_audit.log").find("\"landlock:abi") == std::string::npos);
}

TEST_CASE("enforcement: a layer that fails in the child is one clear line and nothing runs", "[enforcement]") {
    TempDir d;
    LogDir logs;
    auto marker = d.path + "/ran";
    auto r = hive_without("--fail-landlock-restrict", {"--log-dir", logs.path, "-c", "open('" + marker + "', 'w')"});
    CHECK(r.exit_code == 125);
    CHECK(r.err.find("sandbox set-up failed at step 'landlock': landlock_restrict_self(ruleset): E2BIG") != std::string::npos);
    CHECK(lines(r.err).size() == 1);
    CHECK(!exists(marker));
    auto rec = read_file(logs.path + "/execution_audit.log");
    CHECK(rec.find("\"ended\":\"setup_failed\"") != std::string::npos);
}

TEST_CASE("enforcement: --doctor reports every layer of this machine", "[enforcement]") {
    auto r = hive({"--doctor"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    for (const char* layer : {"user", "mount", "pid", "net", "ipc", "uts", "landlock", "seccomp", "cgroup"})
        CHECK(r.out.find(layer) != std::string::npos);
    // The build compiled every shape's seccomp program (a build that could not would start ~1 ms slower).
    CHECK(r.out.find("[yes] seccomp programs built in: 32 of 32 policy shapes") != std::string::npos);
    auto n = hive_without("--no-landlock", {"--doctor"});
    CHECK(n.out.find("would refuse") != std::string::npos);
    // A run here would be refused: the doctor says so with its exit status too.
    CHECK(n.exit_code == 1);
}

TEST_CASE("enforcement: --doctor --json is one JSON object: layers, verdict, missing, grants", "[enforcement][json]") {
    auto r = hive({"--doctor", "--json"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    REQUIRE(lines(r.out).size() == 1);
    auto check = run({"/usr/bin/python3", "-c",
                      "import json, sys\nd = json.loads(sys.stdin.read())\n"
                      "names = [l['name'] for l in d['layers']]\n"
                      "assert 'landlock' in names and 'uid map' in names and 'pids cgroup' in names, names\n"
                      "assert d['verdict'] == 'would run with all layers' and d['missing'] == [], d\n"
                      "assert any(g['path'] == '/usr/lib/python3.11' for g in d['grants'])\nprint('ok')\n"},
                     {.stdin_data = r.out});
    INFO(check.err);
    CHECK(check.out == "ok\n");
    auto n = hive_without("--no-landlock", {"--doctor", "--json"});
    CHECK(n.exit_code == 1);
    CHECK(n.out.find("\"verdict\":\"would refuse\"") != std::string::npos);
}

TEST_CASE("enforcement: --doctor answers for an unprivileged caller as a run would find it", "[enforcement][user]") {
    if (!can_run_unprivileged()) return;
    LogDir logs;
    auto d = run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", hive_bin(), "--doctor"});
    INFO(d.out << d.err);
    // The namespaces are made with a user namespace, as a run makes them: not refused for lack of root.
    CHECK(d.out.find("[yes] namespace mount") != std::string::npos);
    CHECK(d.out.find("[yes] namespace pid") != std::string::npos);
    CHECK(d.out.find("[yes] uid map: uid/gid 1000 in a user namespace map to 65534/65534 outside") != std::string::npos);
    CHECK(d.out.find("would run with all layers") != std::string::npos);
    CHECK(d.exit_code == 0);
    // And a run agrees.
    REQUIRE(chown(logs.path.c_str(), 65534, 65534) == 0);
    auto r = hive_unprivileged(logs, {"-c", "print('ran')"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "ran\n");
}

TEST_CASE("enforcement: an unprivileged user gets every layer, and max_processes per run", "[enforcement][user]") {
    if (!can_run_unprivileged()) return;
    LogDir logs;
    REQUIRE(chown(logs.path.c_str(), 65534, 65534) == 0);
    const std::string fork_loop =
        "import os, time\n"
        "n = 0\n"
        "for i in range(20):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(1); os._exit(0)\n"
        "        n += 1\n"
        "    except BlockingIOError:\n"
        "        break\n"
        "print('forked', n, 'uid', os.getuid())\n";
    // Ten runs at once as the same user: each has its own user namespace, so each gets its own count
    // (RLIMIT_NPROC is counted per user namespace), not a share of one.
    std::vector<Outcome> outs(10);
    std::vector<std::thread> ts;
    for (int i = 0; i < 10; ++i)
        ts.emplace_back([&, i] { outs[i] = hive_unprivileged(logs, {"-c", fork_loop}); });
    for (auto& t : ts) t.join();
    for (auto& o : outs) {
        INFO(o.err);
        CHECK(o.exit_code == 0);
        CHECK(o.out == "forked 4 uid 1000\n");  // max_processes 5: the script and four children
    }
    auto rec = lines(logs.runs());
    REQUIRE(rec.size() == 10);
    CHECK(rec[0].find("\"namespace:user\"") != std::string::npos);
    CHECK(rec[0].find("\"landlock:abi") != std::string::npos);
    CHECK(rec[0].find("\"seccomp\"") != std::string::npos);
    CHECK(rec[0].find("\"user\":65534") != std::string::npos);
}

TEST_CASE("enforcement: an unprivileged user's run records the script's I/O", "[enforcement][user]") {
    if (!can_run_unprivileged()) return;
    LogDir logs;
    REQUIRE(chown(logs.path.c_str(), 65534, 65534) == 0);
    // The init reports its own /proc/self/io (the parent may not read an unprivileged init's): the
    // script's 7,000 bytes are in the result.
    Outcome o = hive_unprivileged(logs, {"--json", "-c",
                                         "import os, tempfile\n"
                                         "with tempfile.TemporaryFile(dir='/tmp') as f: f.write(b'x' * 7000)\n"});
    INFO(o.out << o.err);
    REQUIRE(o.exit_code == 0);
    const auto at = o.out.find("\"bytes_written\":");
    REQUIRE(at != std::string::npos);
    const long long written = std::stoll(o.out.substr(at + 16));
    CHECK(written >= 7000);
    CHECK(written < 7000 + 4096);
}

TEST_CASE("enforcement: root inside a user namespace of its own runs under strict, max_processes held by RLIMIT_NPROC",
          "[enforcement][user]") {
    if (!can_run_unprivileged() || !exists("/usr/bin/unshare")) return;
    LogDir logs;
    REQUIRE(chown(logs.path.c_str(), 65534, 65534) == 0);
    // uid 65534 makes a user namespace in which it is uid 0: euid 0, but not the host's root, which the
    // kernel holds to RLIMIT_NPROC like any user. It was refused (exit 125: no pids cgroup for uid 0).
    const std::string fork_loop =
        "import os, time\nn = 0\nfor i in range(20):\n    try:\n        if os.fork() == 0:\n"
        "            time.sleep(1); os._exit(0)\n        n += 1\n    except BlockingIOError:\n        break\n"
        "print('forked', n)\n";
    auto r = run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/unshare", "-Ur",
                  hive_bin(), "--log-dir", logs.path, "-c", fork_loop},
                 {.env_extra = {{"HOME", "/nonexistent"}}});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "forked 4\n");  // max_processes 5: the script and four children
    auto d = run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/unshare", "-Ur",
                  hive_bin(), "--doctor"});
    CHECK(d.exit_code == 0);
    CHECK(d.out.find("strict: would run with all layers") != std::string::npos);
}
