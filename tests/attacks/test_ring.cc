// Attack tests on the event ring (THREAT-MODEL: "the unsandboxed parent survives anything" and "the
// event trail is unforgeable"). A script under a policy that allows ctypes has the shared mapping in its
// address space, header and all; it rewrites the header and the slots as hostile native code would.
// The parent must neither crash (exit 139, no record), nor hang, nor grow: it records the run as usual,
// with every malformed thing as a channel_fault security event, and its peak RSS stays within 32 MiB
// (32 rings) of a run of the same script that attacks nothing, in the same build: a reader that copies
// the ring over and over, as one did, passes that in well under a second. The normal build also runs it
// under a 1 GiB address-space limit, as before; the sanitizer build cannot (ASan reserves terabytes of
// address space at start-up), and there both runs carry the same ASan overhead (shadow, quarantine). A record hidden by rewriting the ring shows as a sequence gap, and the run
// record of such a policy says that its trail is advisory.
//
// The script finds the ring through the audit hook's configuration (`g_cfg`, whose first field is the
// ring's address): hive-py is not PIE, so the test reads that symbol's address from the binary with nm
// and passes it as sys.argv[1]. Every bomb is bounded: the policy's timeout_seconds (15), the loop
// counts, the harness' own timeout.
#include <catch2/catch.hpp>

#include "run.h"

#include <cstdio>
#include <regex>
#include <string>
#include <vector>

using namespace hivetest;

namespace {

const char* kPolicy = R"YAML(security:
  execution:
    timeout_seconds: 15
    cpu_seconds: 10
    memory_mb: 512
    file_size_mb: 10
    max_processes: 5
  filesystem:
    allowed_paths: ["/tmp"]
    blocked_operations: [delete, chmod, chown]
  network:
    allowed_domains: []
  imports:
    allow: [ctypes, _ctypes]
)YAML";

// The address of hive::hook::(anonymous)::g_cfg in the built binary ("" when nm cannot say).
std::string hook_config_address() {
    static std::string addr = [] {
        Outcome o = run({"/usr/bin/nm", "-C", hive_bin()});
        std::smatch m;
        static const std::regex re("([0-9a-f]+) [bBdD] hive::hook::\\(anonymous namespace\\)::g_cfg\\n");
        return std::regex_search(o.out, m, re) ? m[1].str() : std::string();
    }();
    return addr;
}

// Finds the ring: the header's fields are reserve, tail, tail_gen|waiters, capacity, wake_fd.
const char* kPrelude = R"PY(
import ctypes, os, struct, sys, time
_cfg = ctypes.c_void_p.from_address(int(sys.argv[1], 16)).value
A = ctypes.c_void_p.from_address(_cfg).value
H = (ctypes.c_uint64 * 5).from_address(A)
CAP = H[3]
assert CAP == 1 << 20, "not the ring: capacity %r" % CAP
D = memoryview((ctypes.c_ubyte * CAP).from_address(A + 4096)).cast('B')
def put(pos, b):  # into the data region at ring position pos, wrapping
    o = pos % CAP
    first = min(len(b), CAP - o)
    D[o:o + first] = b[:first]
    if first < len(b): D[0:len(b) - first] = b[first:]
def get(pos, n):
    return bytes(D[(pos + i) % CAP] for i in range(n))
print("ring found", flush=True)
)PY";

struct Run {
    Outcome o;
    std::string runs, events, security;
};

Outcome run_hive(const std::string& policy, const std::string& logs, const std::string& code) {
    RunOptions ro;
    ro.timeout_seconds = 40;
    std::vector<std::string> argv{hive_bin(), "--policy", policy, "--log-dir", logs, "-c", std::string(kPrelude) + code,
                                  hook_config_address()};
#ifndef HIVE_SANITIZE
    // The parent may not grow: under 1 GiB of address space a reader that loops and allocates dies.
    argv.insert(argv.begin(), {"/usr/bin/prlimit", "--as=1073741824", "--"});
#endif
    return run(argv, ro);
}

Run attack(const std::string& code, const std::string& pol = kPolicy) {
    TempDir dir("/var/tmp/hive-ring-XXXXXX");
    LogDir logs;
    const std::string policy = dir.file("policy.yml", pol);
    Run r;
    r.o = run_hive(policy, logs.path, code);
    r.runs = logs.runs();
    r.events = logs.events();
    r.security = logs.security();
    return r;
}

// wait4's peak RSS of a run that finds the ring and attacks nothing (the larger of hive-py's own and its
// sandbox's, as for the attacks), once per test program.
long quiet_rss_kb() {
    static const long kb = [] {
        TempDir dir("/var/tmp/hive-ring-XXXXXX");
        LogDir logs;
        Outcome o = run_hive(dir.file("policy.yml", kPolicy), logs.path,
                             "print('survived', flush=True)\nopen('/tmp/hive-ring-after', 'a').close()\n");
        return o.exit_code == 0 ? o.max_rss_kb : 0L;
    }();
    return kb;
}

std::string dump(const Run& r) {
    return "exit " + std::to_string(r.o.exit_code) + " after " + std::to_string(r.o.seconds) + " s\n--- stdout\n" +
           r.o.out + "--- stderr\n" + r.o.err + "--- execution_audit.log\n" + r.runs +
           "--- security_events.log (head)\n" + r.security.substr(0, 4000);
}

bool ready() {
    if (hook_config_address().empty()) {
        WARN("SKIPPED: nm finds no g_cfg symbol in " << hive_bin() << " (a stripped build?)");
        return false;
    }
    return true;
}

// The run was supervised to its end and recorded: the script's own exit code, one run record, in time.
void check_recorded(const Run& r, int exit_code) {
    INFO(dump(r));
    CHECK(r.o.exit_code == exit_code);
    CHECK(r.o.term_signal == 0);
    CHECK(r.o.seconds < 30);
    // The parent did not grow: hive-py's peak (with its sandbox's) within 32 rings of a quiet run's.
    const long quiet = quiet_rss_kb();
    INFO("peak RSS " << r.o.max_rss_kb << " KB, a quiet run's " << quiet << " KB");
    CHECK(quiet > 0);
    CHECK(r.o.max_rss_kb < quiet + 32 * 1024);
    CHECK(r.o.out.find("ring found") != std::string::npos);
    CHECK(r.o.out.find("survived") != std::string::npos);
    REQUIRE(grep(r.runs, "\"exit_code\":" + std::to_string(exit_code)).size() == 1);
    CHECK(r.runs.find("\"trail\":\"advisory\"") != std::string::npos);
    CHECK(r.runs.find("\"channel_faults\":0,") == std::string::npos);
    CHECK_FALSE(grep(r.security, "\"kind\":\"channel_fault\"").empty());
    // The channel works again after the attack: the script's last event is in the trail.
    CHECK(r.events.find("hive-ring-after") != std::string::npos);
}

}  // namespace

TEST_CASE("attack ring: a rewritten capacity and tail do not crash the parent", "[attack][ring]") {
    if (!ready()) return;
    // The parent used to read `capacity` and `tail` from the header: data + (tail & (capacity - 1)) is
    // 64 TiB past the mapping, and the parent died of SIGSEGV (exit 139, no run record).
    Run r = attack(R"PY(
r0 = H[0]
H[3] = 1 << 47
H[1] = 1 << 46
H[0] = (1 << 46) + 64
time.sleep(0.3)            # raises no recorded event: the hook writes nothing meanwhile
H[3] = CAP; H[0] = r0; H[1] = r0
print("survived", flush=True)
open("/tmp/hive-ring-after", "a").close()
)PY");
    INFO(dump(r));
    check_recorded(r, 0);
    CHECK(r.security.find("ring header rewritten: reserve 0x400000000040 is outside") != std::string::npos);
}

TEST_CASE("attack ring: a reserve far ahead over committed garbage neither hangs nor grows the parent",
          "[attack][ring]") {
    if (!ready()) return;
    // Every 16 bytes a committed 8-byte record of garbage, and a reserve 1 TiB ahead: the parent used to
    // read the same megabyte over and over into memory until it died (or forever).
    Run r = attack(R"PY(
pattern = (struct.pack("<I", 0x80000000 | 8) + b"\xee" * 12) * (CAP // 16)
time.sleep(0.2)           # the reader has caught up: its position (published in tail) is reserve
t = H[1]
rot = t % 16              # a record starts at every position = t (mod 16)
D[:] = pattern[CAP - rot:] + pattern[:CAP - rot]   # memoryview stores: no audit event, no record
H[0] = t + (1 << 40)
time.sleep(1.0)
H[0] = H[1]               # the reader's own position, which it publishes
time.sleep(0.2)
H[0] = H[1]
print("survived", flush=True)
open("/tmp/hive-ring-after", "a").close()
)PY");
    INFO(dump(r));
    check_recorded(r, 0);
    CHECK(r.security.find("malformed event record") != std::string::npos);
    // Bounded output: at most 100 fault lines and the note that the rest are only counted.
    CHECK(grep(r.security, "\"kind\":\"channel_fault\"").size() <= 102);
    CHECK(r.security.find("further channel faults are counted in the run record") != std::string::npos);
}

TEST_CASE("attack ring: a torn reservation and a length word past the reserve are faults, not a hang",
          "[attack][ring]") {
    if (!ready()) return;
    Run r = attack(R"PY(
r0 = H[0]
put(r0, struct.pack("<I", 0x80000000 | 60000))   # committed, claims far more than the 16 bytes reserved
H[0] = r0 + 16
time.sleep(0.3)
print("survived", flush=True)
open("/tmp/hive-ring-after", "a").close()
H[0] = H[0] + 64          # reserved, never committed: the script's process ends first
)PY");
    INFO(dump(r));
    check_recorded(r, 0);
    CHECK(r.security.find("malformed record header 0x8000ea60") != std::string::npos);
    CHECK(r.security.find("torn record") != std::string::npos);
}

TEST_CASE("attack ring: denials hidden under a forged record leave a sequence gap", "[attack][ring][seq]") {
    if (!ready()) return;
    // The script holds the reader at an uncommitted slot, makes 20 denied reads (the hook records them
    // behind the slot), then commits the slot as one forged, well-formed "allowed" record that swallows
    // all 20. The denials vanish from the trail; the next record's number shows the gap.
    Run r = attack(R"PY(
blk = H[0]
H[0] = blk + 16
for i in range(20):
    try:
        open("/etc/shadow")
    except PermissionError:
        pass
end = H[0]
n = end - blk - 8                                   # the payload that makes the slot cover everything
seq = struct.unpack("<Q", get(blk + 16 + 8 + 8, 8))[0]   # the first hidden record's number
name = b"open"
payload = struct.pack("<IIQQBBHH", os.getpid(), 0, seq, time.time_ns(), 0, 0, 1, len(name)) + name
arg = n - len(payload) - 2
payload += struct.pack("<H", arg) + b"x" * arg
assert len(payload) == n and n % 8 == 0
put(blk + 8, payload)
put(blk, struct.pack("<I", 0x80000000 | n))        # commit last
print("survived", flush=True)
open("/tmp/hive-ring-after", "a").close()
)PY");
    INFO(dump(r));
    check_recorded(r, 0);
    // The attack worked on the trail (the 20 denials are gone) and shows as a gap of 19.
    CHECK(r.events.find("\"args\":[\"/etc/shadow\"") == std::string::npos);
    CHECK(r.runs.find("\"denials\":0,") != std::string::npos);
    CHECK(r.security.find("records missing)") != std::string::npos);
    CHECK(std::regex_search(r.security, std::regex("sequence gap from pid [0-9]+: expected [0-9]+, got [0-9]+ \\(19 records missing\\)")));
}

TEST_CASE("attack ring: without native code the run record says the trail is sequenced", "[attack][ring][seq]") {
    LogDir logs;
    Outcome o = hive({"--log-dir", logs.path, "-c", "print('ok')"});
    INFO(o.err);
    REQUIRE(o.exit_code == 0);
    CHECK(logs.runs().find("\"trail\":\"sequenced\"") != std::string::npos);
    CHECK(logs.runs().find("\"channel_faults\":0") != std::string::npos);
    CHECK(logs.security().find("channel_fault") == std::string::npos);
}
