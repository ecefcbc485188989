// execution.allow_subprocess and filesystem.exec_paths: programs start only where the policy says, and
// what they run stays under the same kernel rules (Landlock, seccomp, namespaces, limits).
#include <catch2/catch.hpp>
#include <string>

#include "run.h"

using namespace hivetest;

namespace {
}  // namespace

TEST_CASE("subprocess: off by default, with a clear error", "[subprocess]") {
    LogDir logs;
    auto r = hive({"--log-dir", logs.path, "-c",
                   "import subprocess\ntry:\n    subprocess.run(['/usr/bin/echo', 'x'])\nexcept PermissionError as e: print(e)"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "[Errno 1] hive-py: starting programs is off (security.execution.allow_subprocess is false)\n");
}

TEST_CASE("subprocess: a program in exec_paths runs, others do not, and the program stays sandboxed", "[subprocess]") {
    LogDir logs;
    TempDir d;
    auto pol = d.file("p.yml", "security:\n  execution:\n    allow_subprocess: true\n"
                               "  filesystem:\n    exec_paths: [/usr/bin/cat, /usr/bin/echo]\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "import subprocess, os\n"
                   "print(subprocess.run(['/usr/bin/echo', 'hello'], capture_output=True, text=True).stdout.strip())\n"
                   "try:\n    subprocess.run(['/usr/bin/id'])\nexcept PermissionError as e: print('id:', e.strerror)\n"
                   // cat may run, but it runs under the sandbox's Landlock domain: no /etc/shadow for it either.
                   "r = subprocess.run(['/usr/bin/cat', '/etc/shadow'], capture_output=True, text=True)\n"
                   "print('cat shadow:', r.returncode, 'Permission denied' in r.stderr)\n"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "hello\nid: hive-py: this program is not in security.filesystem.exec_paths\ncat shadow: 1 True\n");
    CHECK(grep(read_file(logs.path + "/audit_events.log"), "\"event\":\"subprocess.Popen\"").size() == 3);
}

TEST_CASE("subprocess: exec_paths hold at the kernel level when the hook is bypassed", "[subprocess][attack]") {
    LogDir logs;
    TempDir d;
    auto pol = d.file("p.yml", "security:\n  imports: {allow: [ctypes, _ctypes]}\n  execution:\n    allow_subprocess: true\n"
                               "  filesystem:\n    exec_paths: [/usr/bin/echo]\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "import ctypes, os\n"
                   "libc = ctypes.CDLL(None, use_errno=True)\n"
                   "pid = os.fork()\n"
                   "if pid == 0:\n"
                   "    argv = (ctypes.c_char_p * 2)(b'/usr/bin/id', None)\n"
                   "    libc.execv(b'/usr/bin/id', argv)\n"
                   "    os._exit(100 + ctypes.get_errno())\n"
                   "print('child exit', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "child exit 113\n");  // 100 + EACCES: Landlock grants no execute right on /usr/bin/id
}
