// The parent's drivers check every syscall result: a failing call either ends the run with a line that
// names the call, its argument and errno (and nothing ran), or the run goes on by another route and the
// trail says so. `nofeature --fail SYSCALL=ERRNO` (tests/support) makes one call fail for hive-py and
// everything it starts. Closed standard streams at start are handled too.
#include <catch2/catch.hpp>
#include <string>

#include "run.h"

using namespace hivetest;

namespace {

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

std::string describe(const Outcome& o) {
    return "exit=" + std::to_string(o.exit_code) + "\n--- stdout ---\n" + o.out + "--- stderr ---\n" + o.err;
}

Outcome hive_failing(const std::string& call, const std::vector<std::string>& args) {
    std::vector<std::string> argv{HIVE_NOFEATURE_BIN, "--fail", call, "--", hive_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

}  // namespace

TEST_CASE("drivers: getrandom failing is an error, never a run id of zeros", "[drivers]") {
    LogDir logs;
    auto r = hive_failing("getrandom=EIO", {"--log-dir", logs.path, "-c", "print('ran')"});
    INFO(describe(r));
    CHECK(r.exit_code == 125);
    CHECK(r.out.empty());
    CHECK(r.err == "hive-py: error: cannot make a run id: getrandom(8 bytes): EIO (Input/output error)\n");
    CHECK_FALSE(contains(logs.runs(), "0000000000000000"));
    CHECK(logs.runs().empty());
}

TEST_CASE("drivers: without a pidfd the run still ends when the script does, and the trail says why", "[drivers]") {
    LogDir logs;
    auto r = hive_failing("pidfd_open=ENOSYS", {"--log-dir", logs.path, "-c", "print('ran'); raise SystemExit(4)"});
    INFO(describe(r));
    CHECK(r.exit_code == 4);
    CHECK(r.out == "ran\n");
    CHECK(r.seconds < 10);  // not the wall clock (timeout_seconds is 300)
    CHECK(contains(logs.runs(), "\"exit_code\":4"));
    CHECK(contains(logs.security(), "pidfd_open(sandbox init "));
    CHECK(contains(logs.security(), "ENOSYS"));
}

TEST_CASE("drivers: closed standard streams at start: the script's exit code is recorded as such", "[drivers]") {
    LogDir logs;
    // The shell closes stdin, stdout and stderr before hive-py starts.
    auto r = run({"/bin/sh", "-c", "exec 0<&- 1>&- 2>&-; exec " + hive_bin() + " --log-dir " + logs.path +
                                       " -c 'import sys; print(\"lost\"); sys.exit(3)'"});
    INFO(describe(r));
    CHECK(r.exit_code == 3);
    const std::string rec = logs.runs();
    CHECK(contains(rec, "\"return_code\":3"));
    CHECK(contains(rec, "\"ended\":\"exit\""));
    CHECK_FALSE(contains(rec, "init_died"));
}

TEST_CASE("record: a run the wall clock ended records the layers that protected it", "[drivers][logs]") {
    LogDir logs;
    PolicyDir pd;
    auto pol = pd.file("p.yml", "security:\n  execution:\n    timeout_seconds: 1\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c", "import time; time.sleep(30)"});
    INFO(describe(r));
    CHECK(r.exit_code == 124);
    const std::string rec = logs.runs();
    CHECK(contains(rec, "\"ended\":\"timeout\""));
    CHECK_FALSE(contains(rec, "\"layers\":[]"));
    CHECK(contains(rec, "\"seccomp\""));
    CHECK(contains(rec, "\"no_new_privs\""));
}

TEST_CASE("json result: one JSON object on every path, errors included", "[drivers][json]") {
    // A usage error: nothing parsed but --json.
    auto u = hive({"--json", "--no-such-option", "x.py"});
    INFO(describe(u));
    CHECK(u.exit_code == 2);
    CHECK(u.out == "{\"success\":false,\"stdout\":\"\",\"stderr\":\"\",\"return_code\":2,\"exit_code\":2,"
                   "\"execution_time\":0,\"error\":\"hive-py: error: unknown option '--no-such-option' (hive-py's options stand "
                   "before the script; see --help)\"}\n");
    CHECK(contains(u.err, "hive-py: error: unknown option"));
    // A script that does not exist.
    auto m = hive({"--json", "/nonexistent/script.py"});
    CHECK(m.exit_code == 2);
    CHECK(contains(m.out, "\"success\":false"));
    CHECK(contains(m.out, "\"error\":\"hive-py: error: can't open script '/nonexistent/script.py'"));
    CHECK(hivetest::lines(m.out).size() == 1);
    // A set-up failure (exit 125) and a finished run carry exit_code and alerts.
    LogDir logs;
    auto f = hive_failing("getrandom=EIO", {"--json", "--log-dir", logs.path, "-c", "pass"});
    CHECK(f.exit_code == 125);
    CHECK(contains(f.out, "\"exit_code\":125,"));
    auto ok = hive({"--json", "--log-dir", logs.path, "-c", "raise SystemExit(3)"});
    CHECK(ok.exit_code == 3);
    CHECK(contains(ok.out, "\"exit_code\":3,"));
    CHECK(contains(ok.out, "\"alerts\":[\"run_failed: the run failed: exit 3 (exit)\"]"));
}

TEST_CASE("closing line: a denial the script catches is named on stderr, with the way to see it", "[drivers][logs]") {
    LogDir logs;
    auto r = hive({"--log-dir", logs.path, "-c", "try:\n    open('/etc/shadow')\nexcept OSError:\n    pass\nprint('ok')"});
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(r.out == "ok\n");  // never on stdout
    const auto l = lines(r.err);
    REQUIRE(l.size() == 1);
    const std::string id = l[0].substr(std::string("hive-py: run ").size(), 16);
    CHECK(l[0] == "hive-py: run " + id + ": 1 denied (open /etc/shadow), 0 alerts; see: hive-py audit show " +
                      logs.path + " --run " + id);
    // The command it names shows that run's denial.
    auto shown = hive({"audit", "show", logs.path, "--run", id});
    CHECK(shown.exit_code == 0);
    CHECK(contains(shown.out, "/etc/shadow"));
    // --json carries the denials.
    auto j = hive({"--json", "--log-dir", logs.path, "-c", "try:\n    open('/etc/shadow')\nexcept OSError:\n    pass"});
    CHECK(contains(j.out, "\"denials\":[{\"event\":\"open\",\"target\":\"/etc/shadow\","));
    CHECK(contains(j.out, "\"denial_count\":1"));
    // Nothing denied: nothing said.
    auto quiet = hive({"--log-dir", logs.path, "-c", "print('x')"});
    CHECK(quiet.err.empty());
}
