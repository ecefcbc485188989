// Attack tests: the script cannot change the caller's terminal (THREAT-MODEL.md: "the caller's terminal
// and session are unharmed"). The run gets a pty of the test's own as its stdin and controlling terminal
// (setsid -c, as a user's shell would give it), and the script tries what would outlive the run: a new
// line discipline (TIOCSETD; N_NULL leaves a terminal dead), pushed keystrokes (TIOCSTI), a console ioctl
// (TIOCLINUX), all refused by seccomp with EPERM, through fcntl.ioctl and through libc past the audit
// hook; and raw mode / a new window size, which the parent puts back after the run (TerminalGuard).
#include <catch2/catch.hpp>

#include "run.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace hivetest;

namespace {

struct Pty {
    int master = -1, slave = -1;
    std::string name;
    Pty() {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(master >= 0);
        REQUIRE(grantpt(master) == 0);
        REQUIRE(unlockpt(master) == 0);
        name = ptsname(master);
        slave = open(name.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);  // keeps the pty alive
        REQUIRE(slave >= 0);
    }
    ~Pty() {
        close(slave);
        close(master);
    }
    // What reached the terminal's input queue and its echo on the master side.
    std::string drain() const {
        std::string s;
        char buf[4096];
        fcntl(master, F_SETFL, O_NONBLOCK);
        for (int fd : {slave, master})
            for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) s.append(buf, std::size_t(n));
        return s;
    }
};

struct Run {
    Outcome o;
    std::string exec_log;
    bool res(const std::string& name, long& rc, int& err) const {
        for (const auto& l : lines(o.out))
            if (l.rfind(name + "=", 0) == 0) return std::sscanf(l.c_str() + name.size() + 1, "%ld %d", &rc, &err) == 2;
        return false;
    }
    std::string dump() const { return "exit " + std::to_string(o.exit_code) + "\n--- stdout\n" + o.out + "--- stderr\n" + o.err; }
};

// hive-py with the pty as its stdin and controlling terminal; stdout/stderr stay pipes the test reads.
Run on_pty(const Pty& pty, const std::string& pol, const std::string& code) {
    LogDir logs;
    Run r;
    r.o = run({"/bin/sh", "-c", "exec /usr/bin/setsid -c -w \"$@\" < \"$0\"", pty.name, hive_bin(), "--policy",
               policy_fixture("attack/" + pol + ".yml"), "--log-dir", logs.path, "-c", code});
    r.exec_log = logs.runs();
    return r;
}

bool ready(const Run& r) { return hivetest::sandbox_set_up(r.o); }

bool can_run() {
    if (exists("/usr/bin/setsid")) return true;
    WARN("SKIPPED: no setsid(1) here to give the run a controlling terminal");
    return false;
}

void check_refused(const Run& r, const std::string& name) {
    INFO(name);
    long rc = 0;
    int err = 0;
    REQUIRE(r.res(name, rc, err));
    CHECK(rc == -1);
    CHECK(err == EPERM);
}

const char* const kPyPrelude = R"PY(
import fcntl, os, struct, termios
print(f"isatty={int(os.isatty(0))} 0", flush=True)
def t(name, fn):
    try:
        fn()
        print(f"{name}=0 0", flush=True)
    except OSError as e:
        print(f"{name}=-1 {e.errno}", flush=True)
)PY";

}  // namespace

TEST_CASE("attack: TIOCSETD, TIOCSTI, TIOCLINUX on the caller's terminal through fcntl.ioctl (seccomp EPERM)",
          "[attack][tty]") {
    if (!can_run()) return;
    Pty pty;
    Run r = on_pty(pty, "chmod_allowed", std::string(kPyPrelude) + R"PY(
t("tiocsetd_n_tty", lambda: fcntl.ioctl(0, termios.TIOCSETD, struct.pack("i", 0)))
t("tiocsetd_n_null", lambda: fcntl.ioctl(0, termios.TIOCSETD, struct.pack("i", 27)))
t("tiocsti", lambda: fcntl.ioctl(0, termios.TIOCSTI, b"Z"))
t("tioclinux", lambda: fcntl.ioctl(0, termios.TIOCLINUX, b"\x00"))
t("tiocgetd", lambda: fcntl.ioctl(0, termios.TIOCGETD, struct.pack("i", 0)))
)PY");
    if (!ready(r)) return;
    const std::string typed = pty.drain();
    INFO(r.dump() << "--- terminal\n" << typed);
    REQUIRE(r.o.exit_code == 0);
    long rc = 0;
    int err = 0;
    REQUIRE(r.res("isatty", rc, err));
    REQUIRE(rc == 1);
    for (const char* n : {"tiocsetd_n_tty", "tiocsetd_n_null", "tiocsti", "tioclinux"}) check_refused(r, n);
    REQUIRE(r.res("tiocgetd", rc, err));
    CHECK(rc == 0);  // reading the terminal's state stays allowed
    int ldisc = -1;
    REQUIRE(ioctl(pty.slave, TIOCGETD, &ldisc) == 0);
    CHECK(ldisc == 0);  // N_TTY, as before the run
    CHECK(typed.find('Z') == std::string::npos);
}

TEST_CASE("attack: TIOCSETD and TIOCSTI through libc ioctl, past the audit hook (seccomp EPERM)", "[attack][tty]") {
    if (!can_run()) return;
    Pty pty;
    Run r = on_pty(pty, "ctypes_chmod_allowed", std::string(kPyPrelude) + R"PY(
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def c(name, rc):
    print(f"{name}={rc} {ctypes.get_errno() if rc == -1 else 0}", flush=True)
n_null = ctypes.c_int(27)
ctypes.set_errno(0); c("libc_tiocsetd", libc.ioctl(0, termios.TIOCSETD, ctypes.byref(n_null)))
ctypes.set_errno(0); c("raw_tiocsetd_hi", libc.syscall(ctypes.c_long(16), ctypes.c_long(0),
                                                       ctypes.c_long((1 << 32) | termios.TIOCSETD), ctypes.byref(n_null)))
ok = 0
for ch in b"echo PWNED\n":
    ctypes.set_errno(0)
    if libc.ioctl(0, termios.TIOCSTI, ctypes.c_char_p(bytes([ch]))) == 0: ok += 1
    else: err = ctypes.get_errno()
print(f"libc_tiocsti={-1 if ok == 0 else ok} {err if ok == 0 else 0}", flush=True)
)PY");
    if (!ready(r)) return;
    const std::string typed = pty.drain();
    INFO(r.dump() << "--- terminal\n" << typed);
    REQUIRE(r.o.exit_code == 0);
    for (const char* n : {"libc_tiocsetd", "raw_tiocsetd_hi", "libc_tiocsti"}) check_refused(r, n);
    int ldisc = -1;
    REQUIRE(ioctl(pty.slave, TIOCGETD, &ldisc) == 0);
    CHECK(ldisc == 0);
    CHECK(typed.find("PWNED") == std::string::npos);
}

// Hidden ("[.]") until the supervisor constructs a TerminalGuard (host/supervisor/terminal.h) around the
// run: then this runs with the rest and the tag loses its dot.
TEST_CASE("attack: raw mode, echo off and a window size set by the script are undone after the run",
          "[attack][tty][terminal_guard]") {
    if (!can_run()) return;
    Pty pty;
    winsize ws0{24, 80, 0, 0};
    REQUIRE(ioctl(pty.slave, TIOCSWINSZ, &ws0) == 0);
    termios before{};
    REQUIRE(tcgetattr(pty.slave, &before) == 0);
    Run r = on_pty(pty, "chmod_allowed", std::string(kPyPrelude) + R"PY(
import tty
t("setraw", lambda: tty.setraw(0))
def noecho():
    a = termios.tcgetattr(0)
    a[3] &= ~(termios.ECHO | termios.ICANON)
    termios.tcsetattr(0, termios.TCSANOW, a)
t("noecho", noecho)
t("winsz", lambda: fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 3, 9, 0, 0)))
)PY");
    if (!ready(r)) return;
    INFO(r.dump());
    REQUIRE(r.o.exit_code == 0);
    long rc = 0;
    int err = 0;
    for (const char* n : {"setraw", "noecho", "winsz"}) {
        INFO(n);
        REQUIRE(r.res(n, rc, err));
        CHECK(rc == 0);  // the script may change its terminal while it runs
    }
    termios after{};
    REQUIRE(tcgetattr(pty.slave, &after) == 0);
    CHECK(after.c_iflag == before.c_iflag);
    CHECK(after.c_oflag == before.c_oflag);
    CHECK(after.c_cflag == before.c_cflag);
    CHECK(after.c_lflag == before.c_lflag);
    CHECK(std::memcmp(after.c_cc, before.c_cc, sizeof after.c_cc) == 0);
    winsize ws{};
    REQUIRE(ioctl(pty.slave, TIOCGWINSZ, &ws) == 0);
    CHECK(ws.ws_row == 24);
    CHECK(ws.ws_col == 80);
}
