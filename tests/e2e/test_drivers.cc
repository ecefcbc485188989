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
