// Attack tests: a death by seccomp of a process of the sandbox besides the script's own is recorded
// (THREAT-MODEL.md: "the run record is true"). The script's process may fork (max_processes 5), hand the
// forbidden call to its child, and exit 0. The sandbox's init (pid 1 of the run's pid namespace) reaps
// every process no one else waited for: the script's own, orphans, and the zombies the script leaves
// when it ends; it counts their deaths by a signal, and the run record says `sandbox_kills` while
// security_events.log carries a `kernel_kill` event. What the init cannot see: a child the script's
// process waits for itself (waitpid, or SIGCHLD ignored): the kernel gives that status to the parent
// only (README: the limit). ctypes_chmod_allowed.yml allows ctypes, so the raw syscall passes the hook.
#include <catch2/catch.hpp>

#include "run.h"

#include <string>
#include <vector>

using namespace hivetest;

namespace {

struct Run {
    Outcome o;
    std::string exec_log, security_log;
    std::string dump() const {
        auto at = exec_log.find("\"return_code\"");
        return "exit " + std::to_string(o.exit_code) + "\n--- stdout\n" + o.out + "--- stderr\n" + o.err +
               "--- execution_audit.log (from return_code)\n" + (at == std::string::npos ? exec_log : exec_log.substr(at)) +
               "--- security_events.log\n" + security_log;
    }
};

const char* const kPrelude = R"PY(
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def ptrace():   # PTRACE_TRACEME: seccomp kills the process (SECCOMP_RET_KILL_PROCESS)
    libc.syscall(ctypes.c_long(101), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
    os._exit(0)
)PY";

Run sandboxed(const std::string& code) {
    LogDir logs;
    Run r;
    r.o = hive({"--policy", policy_fixture("attack/ctypes_chmod_allowed.yml"), "--log-dir", logs.path, "-c",
                std::string(kPrelude) + code});
    r.exec_log = logs.runs();
    r.security_log = logs.security();
    return r;
}

bool ready(const Run& r) { return hivetest::sandbox_set_up(r.o); }

}  // namespace

TEST_CASE("attack: a forked child killed by seccomp is recorded, though the script exits 0", "[attack][seccomp]") {
    // The script sees its child die (waitid with WNOWAIT: without reaping it) and exits 0; the zombie
    // goes to the init, which reaps it.
    Run r = sandboxed(R"PY(
pid = os.fork()
if pid == 0:
    ptrace()
info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
print(f"child_signal={info.si_status}", flush=True)
)PY");
    if (!ready(r)) return;
    INFO(r.dump());
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out.find("child_signal=31") != std::string::npos);  // SIGSYS: the kernel killed it
    REQUIRE(lines(r.exec_log).size() == 1);
    CHECK(r.exec_log.find("\"ended\":\"exit\"") != std::string::npos);
    CHECK(r.exec_log.find("\"sandbox_kills\":1") != std::string::npos);
    const auto kills = grep(r.security_log, "\"kernel_kill\"");
    REQUIRE(kills.size() == 1);
    CHECK(kills[0].find("\"high\"") != std::string::npos);
    CHECK(kills[0].find("SIGSYS") != std::string::npos);
    CHECK(grep(r.security_log, "denied_by_kernel").empty());  // the script itself was not killed
}

TEST_CASE("attack: an orphaned grandchild killed by seccomp after its parent exited is recorded", "[attack][seccomp]") {
    // The grandchild is reparented to the sandbox's init (pid 1 of its pid namespace), which reaps it.
    Run r = sandboxed(R"PY(
pid = os.fork()
if pid == 0:
    if os.fork() == 0:
        time.sleep(0.3)
        ptrace()
    os._exit(0)
os.waitpid(pid, 0)
time.sleep(1.5)
print("parent done", flush=True)
)PY");
    if (!ready(r)) return;
    INFO(r.dump());
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.exec_log.find("\"sandbox_kills\":1") != std::string::npos);
    CHECK(grep(r.security_log, "\"kernel_kill\"").size() == 1);
}

TEST_CASE("attack: several killed children are counted, the script's own kill is seccomp_kill", "[attack][seccomp]") {
    SECTION("three children") {
        Run r = sandboxed(R"PY(
for i in range(3):
    pid = os.fork()
    if pid == 0:
        ptrace()
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
)PY");
        if (!ready(r)) return;
        INFO(r.dump());
        REQUIRE(r.o.exit_code == 0);
        CHECK(r.exec_log.find("\"sandbox_kills\":3") != std::string::npos);
        const auto kills = grep(r.security_log, "\"kernel_kill\"");
        REQUIRE(kills.size() == 1);
        CHECK(kills[0].find("3 processes") != std::string::npos);
    }
    SECTION("the script itself") {
        Run r = sandboxed("ptrace()\n");
        if (!ready(r)) return;
        INFO(r.dump());
        CHECK(r.o.exit_code == 159);
        CHECK(r.exec_log.find("\"ended\":\"seccomp_kill\"") != std::string::npos);
        CHECK(r.exec_log.find("\"sandbox_kills\":1") != std::string::npos);
        CHECK(grep(r.security_log, "denied_by_kernel").size() == 1);
        CHECK(grep(r.security_log, "\"kernel_kill\"").empty());
    }
}

TEST_CASE("a child that exits, or that the script kills itself, is no kernel kill", "[attack][seccomp]") {
    Run r = sandboxed(R"PY(
import signal
a = os.fork()
if a == 0:
    os._exit(3)
b = os.fork()
if b == 0:
    time.sleep(30)
    os._exit(0)
os.kill(b, signal.SIGTERM)
os.waitpid(a, 0)
os.waitpid(b, 0)
# A child still running when the script ends is swept by the init's SIGKILL: not counted either.
if os.fork() == 0:
    time.sleep(30)
    os._exit(0)
)PY");
    if (!ready(r)) return;
    INFO(r.dump());
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.seconds < 20);
    CHECK(r.exec_log.find("\"sandbox_kills\":0") != std::string::npos);
    CHECK(grep(r.security_log, "\"kernel_kill\"").empty());
}
