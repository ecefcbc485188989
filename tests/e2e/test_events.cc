// The audit hook and the event channel, end to end: every event kind reaches audit_events.log as one
// exact JSON line (event, kind, rendered args, decision); denials and tampering also reach
// security_events.log; arguments are rendered without running the script's code; nothing is lost
// when the child is killed mid-stream; a flood or garbage in every inherited fd leaves the parent
// healthy and the logs consistent. (Issue 4.)
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "logged.h"
#include "run.h"

using nlohmann::json;
using namespace hivetest;

namespace {

using Ran = Logged;

// Run `script` (written as script.py in `dir`) under a test policy, logging to `logs`.
Ran run_script(const TempDir& dir, const LogDir& logs, const std::string& script, const std::string& pol = "events",
               const std::vector<std::string>& args = {}, bool parse_events = true) {
    return run_logged(dir, logs, script, events_policy(pol), args, parse_events);
}

// The first logged event named `name` whose first argument is `arg0` (any, when empty).
const json* find_event(const std::vector<json>& evs, const std::string& name, const std::string& arg0 = "") {
    for (auto& e : evs)
        if (e["event"] == name && (arg0.empty() || (!e["args"].empty() && e["args"][0] == arg0))) return &e;
    return nullptr;
}

// The logged line, exactly: event, kind, args and decision (plus the fields every line carries).
void require_line(const std::vector<json>& evs, const std::string& name, const std::string& kind, const json& args,
                  const std::string& decision) {
    const json* e = find_event(evs, name, args.empty() ? "" : args[0].get<std::string>());
    INFO("looking for " << name << " " << args.dump());
    REQUIRE(e != nullptr);
    INFO("found " << e->dump());
    CHECK((*e)["kind"] == kind);
    CHECK((*e)["args"] == args);
    CHECK((*e)["decision"] == decision);
    CHECK((*e)["seq"].is_number_integer());
    CHECK((*e)["pid"].is_number_integer());
    CHECK((*e)["timestamp"].is_string());
}

// The security_events.log line for a denied or tampering event carries the event line itself.
const json* find_security(const std::vector<json>& sec, const std::string& kind, const std::string& event) {
    for (auto& s : sec)
        if (s["kind"] == kind && s.contains("event") && s["event"]["event"] == event) return &s;
    return nullptr;
}

int verify(const LogDir& logs) { return hive({"audit", "verify", logs.path}).exit_code; }

}  // namespace

// ---------------------------------------------------------------------------------------------------
// One test per event kind.

TEST_CASE("open: an allowed read is logged as allowed", "[events]") {
    TempDir d;
    LogDir logs;
    d.file("in.txt", "hello");
    auto r = run_script(d, logs, "import os\nprint(open(os.path.join(os.path.dirname(__file__), 'in.txt')).read())\n");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "hello\n");
    require_line(r.events, "open", "file", {d.path + "/in.txt", "r", "524288"}, "allowed");
    CHECK(find_security(r.security, "denied", "open") == nullptr);
}

TEST_CASE("open: a read of /etc/shadow is refused by the hook with a PermissionError naming the rule", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs,
                        "try:\n    open('/etc/shadow')\nexcept PermissionError as e:\n    print('refused:', e)\n");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out.find("refused: [Errno 13] hive-py: reading outside the paths security.filesystem allows: "
                       "'/etc/shadow'") != std::string::npos);
    require_line(r.events, "open", "file", {"/etc/shadow", "r", "524288"}, "denied_by_hook");
    const json* s = find_security(r.security, "denied", "open");
    REQUIRE(s != nullptr);
    CHECK((*s)["event"]["args"] == json({"/etc/shadow", "r", "524288"}));
    CHECK((*s)["event"]["decision"] == "denied_by_hook");
    CHECK(r.record["denials"].get<int>() >= 1);
}

TEST_CASE("os.listdir, os.mkdir, os.rename in /tmp", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import os
D = os.path.dirname(__file__)
os.mkdir(D + '/sub')
open(D + '/sub/a', 'w').close()
os.rename(D + '/sub/a', D + '/sub/b')
print(os.listdir(D + '/sub'))
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "['b']\n");
    require_line(r.events, "os.mkdir", "file", {d.path + "/sub", "511", "-1"}, "allowed");
    require_line(r.events, "os.rename", "file", {d.path + "/sub/a", d.path + "/sub/b", "-1", "-1"}, "allowed");
    require_line(r.events, "os.listdir", "file", {d.path + "/sub"}, "allowed");
}

TEST_CASE("shutil.copyfile", "[events]") {
    TempDir d;
    LogDir logs;
    d.file("src.txt", "payload");
    auto r = run_script(d, logs, R"(import os, shutil
D = os.path.dirname(__file__)
shutil.copyfile(D + '/src.txt', D + '/dst.txt')
print(open(D + '/dst.txt').read())
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "payload\n");
    require_line(r.events, "shutil.copyfile", "file", {d.path + "/src.txt", d.path + "/dst.txt"}, "allowed");
}

TEST_CASE("mmap.__new__ of an anonymous mapping", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, "import mmap\nm = mmap.mmap(-1, 4096)\nm[0:2] = b'ok'\nprint(m[0:2])\n");
    REQUIRE(r.o.exit_code == 0);
    require_line(r.events, "mmap.__new__", "file", {"-1", "4096", "0", "0"}, "allowed");
}

TEST_CASE("tempfile.mkstemp", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import os, tempfile
fd, p = tempfile.mkstemp(prefix='evt-', dir=os.path.dirname(__file__))
print(p)
)");
    REQUIRE(r.o.exit_code == 0);
    std::string p = r.o.out.substr(0, r.o.out.find('\n'));
    REQUIRE(p.rfind(d.path + "/evt-", 0) == 0);
    require_line(r.events, "tempfile.mkstemp", "file", {p}, "allowed");
}

TEST_CASE("socket.__new__ is refused: network is off", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import socket
try:
    socket.socket()
except PermissionError as e:
    print('refused:', e)
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out.find("refused: [Errno 1] hive-py: network access is off "
                       "(security.network.allowed_domains is empty)") != std::string::npos);
    require_line(r.events, "socket.__new__", "socket", {"<socket>", "2", "1", "0"}, "denied_by_hook");
    CHECK(find_security(r.security, "denied", "socket.__new__") != nullptr);
}

TEST_CASE("subprocess.Popen and os.system are refused: allow_subprocess is false", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import os, subprocess
for f in (lambda: subprocess.Popen(['/bin/true']), lambda: os.system('true')):
    try:
        f()
        print('ran')
    except PermissionError as e:
        print('refused:', e)
)");
    REQUIRE(r.o.exit_code == 0);
    const std::string msg = "refused: [Errno 1] hive-py: starting programs is off "
                            "(security.execution.allow_subprocess is false)\n";
    CHECK(r.o.out == msg + msg);
    require_line(r.events, "subprocess.Popen", "subprocess", {"/bin/true", "[/bin/true]", "None", "None"},
                 "denied_by_hook");
    require_line(r.events, "os.system", "subprocess", {"b'true'"}, "denied_by_hook");
    CHECK(find_security(r.security, "denied", "subprocess.Popen") != nullptr);
    CHECK(find_security(r.security, "denied", "os.system") != nullptr);
}

TEST_CASE("os.fork: allowed, the child's events carry its own pid and sequence", "[events]") {
    TempDir d;
    LogDir logs;
    d.file("in.txt", "x");
    auto r = run_script(d, logs, R"(import os
D = os.path.dirname(__file__)
pid = os.fork()
if pid == 0:
    for i in range(20):
        open(D + '/in.txt').read()
    os._exit(0)
for i in range(20):
    os.listdir(D)
_, st = os.waitpid(pid, 0)
print('child', os.waitstatus_to_exitcode(st))
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "child 0\n");
    const json* fork = find_event(r.events, "os.fork");
    REQUIRE(fork != nullptr);
    CHECK((*fork)["args"] == json::array());
    CHECK((*fork)["decision"] == "allowed");
    CHECK((*fork)["kind"] == "subprocess");
    int parent_pid = (*fork)["pid"];
    int child_opens = 0, parent_listdirs = 0;
    for (auto& e : r.events) {
        if (e["event"] == "open" && e["args"][0] == d.path + "/in.txt") {
            CHECK(e["pid"] != parent_pid);
            ++child_opens;
        }
        if (e["event"] == "os.listdir" && e["args"][0] == d.path) {
            CHECK(e["pid"] == parent_pid);
            ++parent_listdirs;
        }
    }
    CHECK(child_opens == 20);
    CHECK(parent_listdirs == 20);
    // Each process numbers its own records from 1: the parent checks that per pid and would log an
    // out-of-sequence record as a channel fault.
    for (auto& s : r.security) CHECK(s["kind"] != "channel_fault");
    // The run-wide seq stays 1..N without gaps.
    for (std::size_t i = 0; i < r.events.size(); ++i) CHECK(r.events[i]["seq"] == i + 1);
}

TEST_CASE("import: json allowed, ctypes refused by the hook", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import json
try:
    import ctypes
    print('imported ctypes')
except ModuleNotFoundError as e:
    print('refused:', e)
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "refused: hive-py: import of 'ctypes' is refused by security.imports.deny\n");
    // sys.path: python3 -I -S's (the stdlib first), the script's directory last (it cannot shadow the
    // stdlib).
    const std::string path =
        "[/usr/lib/python311.zip, /usr/lib/python3.11, /usr/lib/python3.11/lib-dynload, " + d.path + "]";
    require_line(r.events, "import", "code",
                 {"json", "None", path, "[<module>, <type>, <type>, <type>]", "[<type>, <function>]"}, "allowed");
    require_line(r.events, "import", "code",
                 {"ctypes", "None", path, "[<module>, <type>, <type>, <type>]", "[<type>, <function>]"},
                 "denied_by_hook");
    const json* s = find_security(r.security, "denied", "import");
    REQUIRE(s != nullptr);
    CHECK((*s)["event"]["args"][0] == "ctypes");
}

TEST_CASE("exec and compile of exec('x=1')", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, "ns = {}\nexec('x=1', ns)\nprint(ns['x'])\n");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "1\n");
    require_line(r.events, "compile", "code", {"b'x=1'", "<string>"}, "allowed");
    // The exec of that code object is the event right after its compile.
    const json* c = find_event(r.events, "compile", "b'x=1'");
    REQUIRE(c != nullptr);
    std::size_t i = std::size_t((*c)["seq"].get<int>());  // seq is 1-based: events[i] is the next line
    REQUIRE(i < r.events.size());
    CHECK(r.events[i]["event"] == "exec");
    CHECK(r.events[i]["kind"] == "code");
    CHECK(r.events[i]["args"] == json({"<code>"}));
    CHECK(r.events[i]["decision"] == "allowed");
}

TEST_CASE("marshal.loads", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, "import marshal\nprint(marshal.loads(b'\\xe9\\x07\\x00\\x00\\x00'))\n");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "7\n");
    require_line(r.events, "marshal.loads", "code", {R"(b'\xe9\x07\x00\x00\x00')"}, "allowed");
}

TEST_CASE("pickle.find_class for pickle.loads of a class reference", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import pickle, collections
print(pickle.loads(pickle.dumps(collections.OrderedDict)).__name__)
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "OrderedDict\n");
    require_line(r.events, "pickle.find_class", "code", {"collections", "OrderedDict"}, "allowed");
}

TEST_CASE("tampering: sys.addaudithook, sys.settrace, gc.get_objects reach security_events.log", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import sys, gc
sys.addaudithook(lambda ev, args: None)
sys.settrace(None)
n = len(gc.get_objects())
print('ok', n > 0)
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "ok True\n");
    require_line(r.events, "sys.addaudithook", "tampering", json::array(), "allowed");
    require_line(r.events, "sys.settrace", "tampering", json::array(), "allowed");
    require_line(r.events, "gc.get_objects", "tampering", {"-1"}, "allowed");
    for (const char* ev : {"sys.addaudithook", "sys.settrace", "gc.get_objects"}) {
        INFO(ev);
        const json* s = find_security(r.security, "tampering", ev);
        REQUIRE(s != nullptr);
        CHECK((*s)["message"] == std::string(ev) + " called by the script");
    }
}

TEST_CASE("a Python audit hook added by the script cannot hide later events", "[events]") {
    TempDir d;
    LogDir logs;
    d.file("in.txt", "x");
    auto r = run_script(d, logs, R"(import sys, os
def veto(ev, args):
    if ev == 'open' and 'in.txt' in str(args[0]):
        raise RuntimeError('vetoed')
sys.addaudithook(veto)
try:
    open(os.path.dirname(__file__) + '/in.txt')
except RuntimeError as e:
    print(e)
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "vetoed\n");
    // The C hook runs first: the open is on record even though a later Python hook vetoed it.
    require_line(r.events, "open", "file", {d.path + "/in.txt", "r", "524288"}, "allowed");
}

// ---------------------------------------------------------------------------------------------------
// Argument rendering.

TEST_CASE("rendering runs no script code: __repr__/__fspath__ objects are logged as <ClassName>", "[events]") {
    TempDir d;
    LogDir logs;
    // Every call of __repr__/__str__/__fspath__ is counted in the script and, for __repr__/__str__, leaves
    // a marker file. Python itself calls __fspath__ for open()/os.stat()/shutil.copyfile(); the hook must
    // add no call of its own: the counts must equal those of plain `python3 -I`.
    const std::string marker = d.path + "/repr-ran";
    d.file("real.txt", "data");
    const std::string script = R"(import os, sys, shutil
D = os.path.dirname(os.path.abspath(__file__))
calls = {'repr': 0, 'fspath': 0}
class Evil:
    def __repr__(self):
        calls['repr'] += 1
        open(D + '/repr-ran', 'w').write('x')
        return 'evil'
    __str__ = __repr__
    def __fspath__(self):
        calls['fspath'] += 1
        return D + '/real.txt'
class Sneaky(str):
    def __repr__(self):
        calls['repr'] += 1
        open(D + '/repr-ran', 'w').write('x')
        return 'sneaky'
e = Evil()
open(e).close()
os.stat(e)
shutil.copyfile(e, D + '/copy.txt')
sys.audit('open', e, 'r', 0)
sys.audit('os.listdir', Sneaky(D), (e, 1, [b'b', None]))
print(calls)
)";
    d.file("script.py", script);
    Outcome plain = python({d.path + "/script.py"});
    REQUIRE(plain.exit_code == 0);
    std::filesystem::remove(marker);
    auto r = run_script(d, logs, script);
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == plain.out);
    CHECK(r.o.out.find("'repr': 0") != std::string::npos);
    CHECK_FALSE(exists(marker));
    require_line(r.events, "shutil.copyfile", "file", {"<Evil>", d.path + "/copy.txt"}, "allowed");
    require_line(r.events, "open", "file", {"<Evil>", "r", "0"}, "allowed");
    require_line(r.events, "os.listdir", "file", {"<Sneaky>", "(<Evil>, 1, [b'b', None])"}, "allowed");
    // The path-like given to open() reaches the hook as the str Python made of it.
    require_line(r.events, "open", "file", {d.path + "/real.txt", "r", "524288"}, "allowed");
}

TEST_CASE("the stdlib's path-likes (pathlib, os.DirEntry) are logged as their paths and checked by the hook",
          "[events]") {
    TempDir d;
    LogDir logs;
    d.file("in.txt", "one");
    d.file("in2.txt", "two");
    d.file("in3.txt", "three");
    // shutil raises its events with the arguments as given: Path objects whose str() was never asked
    // for, a DirEntry, a PosixPath subclass that computes its own path (its type name only: reading it
    // would run the script's code).
    const std::string script = R"(import os, shutil, pathlib
D = pathlib.Path(os.path.dirname(os.path.abspath(__file__)))
shutil.copyfile(D / 'in.txt', D / 'out.txt')
try:
    shutil.copyfile(D / 'in.txt', pathlib.PurePosixPath('/usr/lib/hive-test-x.txt'))
except PermissionError as e:
    print('refused:', e)
entry = next(e for e in os.scandir(D) if e.name == 'in2.txt')
shutil.copyfile(entry, D / 'out2.txt')
class Mine(pathlib.PosixPath):
    def __fspath__(self):
        return str(D / 'in3.txt')
shutil.copyfile(Mine('/nowhere'), str(D / 'out3.txt'))
print(open(D / 'out.txt').read(), open(D / 'out2.txt').read(), open(D / 'out3.txt').read())
)";
    auto r = run_script(d, logs, script);
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "refused: [Errno 13] hive-py: writing outside security.filesystem.allowed_paths: "
                     "'/usr/lib/hive-test-x.txt'\none two three\n");
    CHECK_FALSE(exists("/usr/lib/hive-test-x.txt"));
    const std::vector<json> copies = [&] {
        std::vector<json> v;
        for (auto& e : r.events)
            if (e["event"] == "shutil.copyfile") v.push_back(e);
        return v;
    }();
    REQUIRE(copies.size() == 4);
    CHECK(copies[0]["args"] == json({d.path + "/in.txt", d.path + "/out.txt"}));
    CHECK(copies[0]["decision"] == "allowed");
    CHECK(copies[1]["args"] == json({d.path + "/in.txt", "/usr/lib/hive-test-x.txt"}));
    CHECK(copies[1]["decision"] == "denied_by_hook");
    CHECK(copies[2]["args"] == json({d.path + "/in2.txt", d.path + "/out2.txt"}));
    CHECK(copies[2]["decision"] == "allowed");
    CHECK(copies[3]["args"] == json({"<Mine>", d.path + "/out3.txt"}));
    const json* s = find_security(r.security, "denied", "shutil.copyfile");
    REQUIRE(s != nullptr);
    CHECK((*s)["event"]["args"] == json({d.path + "/in.txt", "/usr/lib/hive-test-x.txt"}));
}

TEST_CASE("a 100 KB argument is cut and marked ...[truncated]", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(try:
    open('/tmp/' + 'A' * 100000)
except OSError as e:
    print(type(e).__name__)
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "OSError\n");
    const std::string cut = "/tmp/" + std::string(1024 - 5 - 14, 'A') + "...[truncated]";
    REQUIRE(cut.size() == 1024);
    require_line(r.events, "open", "file", {cut, "r", "524288"}, "allowed");
}

TEST_CASE("bytes arguments render as b'...' with escapes", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import os
try:
    open(os.path.dirname(__file__).encode() + b"/b\xff'\\q")
except OSError as e:
    print(type(e).__name__)
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "FileNotFoundError\n");
    require_line(r.events, "open", "file", {"b'" + d.path + R"(/b\xff\x27\x5cq')", "r", "524288"}, "allowed");
}

// ---------------------------------------------------------------------------------------------------
// Start-up, sequence.

TEST_CASE("start-up events are counted, not logged: the first line is hive.startup", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, "print('hi')\n");
    REQUIRE(r.o.exit_code == 0);
    REQUIRE(!r.events.empty());
    long startup = r.record["startup_events"].get<long>();
    CHECK(startup > 0);
    const json& first = r.events.front();
    CHECK(first["seq"] == 1);
    CHECK(first["event"] == "hive.startup");
    CHECK(first["kind"] == "summary");
    CHECK(first["decision"] == "counted");
    CHECK(first["args"] == json({std::to_string(startup)}));
    // The script's own run comes next; nothing of the interpreter's start-up is logged one by one.
    REQUIRE(r.events.size() >= 2);
    CHECK(r.events[1]["event"] == "cpython.run_file");
    CHECK(r.events[1]["args"] == json({d.path + "/script.py"}));
    CHECK(r.record["events"].get<std::size_t>() == r.events.size());
}

TEST_CASE("sequence: seq is 1..N without gaps, timestamps never go back", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import os
D = os.path.dirname(__file__)
for i in range(500):
    os.listdir(D)
    try:
        open(D + '/missing-%d' % i)
    except FileNotFoundError:
        pass
)");
    REQUIRE(r.o.exit_code == 0);
    REQUIRE(r.events.size() > 1000);
    CHECK(r.record["events"].get<std::size_t>() == r.events.size());
    std::string prev;
    int missing = 0;
    for (std::size_t i = 0; i < r.events.size(); ++i) {
        INFO(r.events[i].dump());
        REQUIRE(r.events[i]["seq"] == i + 1);
        std::string ts = r.events[i]["timestamp"];
        CHECK(ts >= prev);  // fixed-width ISO 8601 UTC: text order is time order
        prev = ts;
        if (r.events[i]["event"] == "open" &&
            r.events[i]["args"][0] == d.path + "/missing-" + std::to_string(missing))
            ++missing;  // the opens appear in the order the script made them
    }
    CHECK(missing == 500);
}

// ---------------------------------------------------------------------------------------------------
// Killed mid-stream: every event the script made before the kill is in the log.

namespace {

// The script prints "opened K" after each open of MARK/K. Returns the last K printed (-1: none).
long last_printed(const std::string& out) {
    long last = -1;
    for (auto& l : lines(out)) {
        if (l.rfind("opened ", 0) != 0) continue;
        try {
            last = std::stol(l.substr(7));
        } catch (...) {
        }
    }
    // A line cut by the kill has no newline: lines() still yields it, but it may be a truncated number.
    if (!out.empty() && out.back() != '\n' && last > 0) last -= 1;
    return last;
}

void check_stream(const Ran& r, const std::string& mark) {
    long last = last_printed(r.o.out);
    INFO("last printed: " << last);
    REQUIRE(last >= 10);
    std::set<long> logged;
    for (auto& e : r.events) {
        if (e["event"] != "open") continue;
        std::string p = e["args"][0];
        if (p.rfind(mark, 0) == 0) logged.insert(std::stol(p.substr(mark.size())));
    }
    for (long k = 0; k <= last; ++k) {
        INFO("open of " << mark << k << " printed but not logged");
        REQUIRE(logged.count(k));
    }
    // Contiguous: 0..M with M = last or last + 1 (the open after the last print, when the kill came
    // between that open's record and its print).
    REQUIRE(!logged.empty());
    CHECK(*logged.begin() == 0);
    CHECK(long(logged.size()) == *logged.rbegin() + 1);
    CHECK(*logged.rbegin() <= last + 1);
}

const char* kStream = R"(import os, sys, time, threading
mode = sys.argv[1]
MARK = os.path.dirname(__file__) + '/evt-'
if mode == 'seccomp':
    import ctypes
    libc = ctypes.CDLL(None)
    def killer():
        time.sleep(0.4)
        libc.syscall(101, 0, 0, 0, 0)  # ptrace: SECCOMP_RET_KILL_PROCESS
    threading.Thread(target=killer, daemon=True).start()
i = 0
while True:
    try:
        open(MARK + str(i))
    except FileNotFoundError:
        pass
    print('opened', i, flush=True)
    i += 1
    if mode == 'cpu':
        for _ in range(20000):
            pass
    else:
        time.sleep(0.002)
)";

}  // namespace

TEST_CASE("killed by the CPU limit mid-stream: every event before the kill is logged", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, kStream, "cpu", {"cpu"});
    CHECK(r.record["ended"] == "cpu_limit");
    CHECK(r.o.exit_code == r.record["exit_code"].get<int>());
    CHECK(r.o.exit_code >= 128);
    check_stream(r, d.path + "/evt-");
    CHECK(verify(logs) == 0);
}

TEST_CASE("killed by the timeout mid-stream: every event before the kill is logged", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, kStream, "timeout", {"timeout"});
    CHECK(r.record["ended"] == "timeout");
    CHECK(r.o.exit_code == 124);
    check_stream(r, d.path + "/evt-");
    CHECK(verify(logs) == 0);
}

TEST_CASE("killed by seccomp mid-stream: every event before the kill is logged", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, kStream, "ctypes", {"seccomp"});
    CHECK(r.record["ended"] == "seccomp_kill");
    CHECK(r.o.exit_code == 128 + 31);
    check_stream(r, d.path + "/evt-");
    // The ctypes.* events of the kill itself are on record too.
    CHECK(find_event(r.events, "ctypes.dlopen") != nullptr);
    CHECK(verify(logs) == 0);
}

// ---------------------------------------------------------------------------------------------------
// Flood and garbage.

TEST_CASE("flood: 200,000 events keep the parent healthy and the log consistent", "[events]") {
    TempDir d;
    LogDir logs;
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_script(d, logs, R"(import sys, time
t = time.monotonic()
for i in range(200000):
    sys.audit('os.listdir', 'x')
print('%.3f' % (time.monotonic() - t))
)",
                        "flood", {}, /*parse_events=*/false);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(r.o.exit_code == 0);
    const std::string id = r.record["run_id"];
    std::size_t n = 0, floods = 0;
    for (auto& l : lines(read_file(logs.path + "/audit_events.log"))) {
        if (l.find("\"run_id\":\"" + id + "\"") == std::string::npos) continue;
        ++n;
        if (l.find(R"("event":"os.listdir","kind":"file","args":["x"],"decision":"allowed")") != std::string::npos)
            ++floods;
    }
    CHECK(floods == 200000);
    CHECK(r.record["events"].get<std::size_t>() == n);
    CHECK(n >= 200000);
    for (auto& s : r.security) CHECK(s["kind"] != "channel_fault");
    CHECK(verify(logs) == 0);
    double script_s = std::stod(r.o.out);
    std::printf("flood: 200000 events, script loop %.2f s (%.0f events/s), run wall time %.2f s\n", script_s,
                200000 / script_s, wall);
    WARN("flood: script loop " << script_s << " s = " << long(200000 / script_s) << " events/s; wall " << wall
                               << " s");
}

TEST_CASE("garbage into every inherited fd leaves the parent healthy", "[events]") {
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import os, sys
for fd in range(1024):
    try:
        os.write(fd, b"\x00garbage" * 100)
    except OSError:
        pass
    if fd >= 3:
        try:
            os.close(fd)
        except OSError:
            pass
os.write(2, b'\nstill here\n')
os.listdir(os.path.dirname(__file__))
sys.exit(7)
)");
    CHECK(r.o.exit_code == 7);
    CHECK(r.record["exit_code"] == 7);
    CHECK(r.record["ended"] == "exit");
    CHECK(r.o.err.find("still here") != std::string::npos);
    require_line(r.events, "os.listdir", "file", {d.path}, "allowed");
    CHECK(r.record["events"].get<std::size_t>() == r.events.size());
    CHECK(verify(logs) == 0);
}

TEST_CASE("a script cannot forge the sandbox's report of how the run ended", "[events]") {
    // The report pipe's write end stays open in the script (seccomp refuses close() on it): writing a
    // well-formed record into it must not change what the parent records about the run.
    TempDir d;
    LogDir logs;
    auto r = run_script(d, logs, R"(import os, stat, struct, sys
rec = struct.pack('<IIiiI28s400s', 0x48495645, 1, 0, 1, 0, b'forged', b'the script wrote this')
for fd in range(3, 64):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, rec)
    except OSError:
        pass
sys.exit(3)
)");
    CHECK(r.o.exit_code == 3);
    CHECK(r.record["ended"] == "exit");
    CHECK(r.record["exit_code"] == 3);
    CHECK(r.o.err.find("the script wrote this") == std::string::npos);
    CHECK(verify(logs) == 0);
}
