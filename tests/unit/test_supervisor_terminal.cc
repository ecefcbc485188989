// TerminalGuard (host/supervisor/terminal.h) on a pty of the test's own, made the test's stdin, stdout
// and stderr in a child process: whatever a run changes on the terminal comes back.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <string>

#include "supervisor/terminal.h"

using hive::TerminalGuard;

namespace {

struct Pty {
    int master = -1, slave = -1;
    Pty() {
        master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(master >= 0);
        REQUIRE(::grantpt(master) == 0);
        REQUIRE(::unlockpt(master) == 0);
        slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(slave >= 0);
    }
    ~Pty() {
        ::close(slave);
        ::close(master);
    }
};

// In a child whose fds 0-2 are the pty's slave: `fn` returns "" or what went wrong.
std::string with_stdio_on(const Pty& pty, const std::function<std::string()>& fn) {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        for (int fd = 0; fd <= 2; ++fd) ::dup2(pty.slave, fd);
        std::string m = fn();
        (void)!::write(p[1], m.data(), m.size());
        ::_exit(0);
    }
    ::close(p[1]);
    std::string m;
    char buf[512];
    for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) m.append(buf, std::size_t(n));
    ::close(p[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) m += "the child did not exit 0; ";
    return m;
}

bool same(const termios& a, const termios& b) {
    return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag &&
           std::memcmp(a.c_cc, b.c_cc, sizeof a.c_cc) == 0;
}

}  // namespace

TEST_CASE("terminal: raw mode, echo off and a new window size are put back", "[terminal]") {
    Pty pty;
    termios before{};
    REQUIRE(::tcgetattr(pty.slave, &before) == 0);
    winsize ws_before{24, 80, 0, 0};
    REQUIRE(::ioctl(pty.slave, TIOCSWINSZ, &ws_before) == 0);
    std::string m = with_stdio_on(pty, [&]() -> std::string {
        TerminalGuard guard;
        if (guard.terminals() != 1) return "saved " + std::to_string(guard.terminals()) + " terminals, want 1; ";
        // What a script does to the terminal it shares (through any fd of it).
        termios raw{};
        ::tcgetattr(0, &raw);
        ::cfmakeraw(&raw);
        raw.c_lflag &= ~tcflag_t(ECHO);
        if (::tcsetattr(1, TCSANOW, &raw) != 0) return "tcsetattr failed; ";
        winsize ws{5, 7, 0, 0};
        if (::ioctl(2, TIOCSWINSZ, &ws) != 0) return "TIOCSWINSZ failed; ";
        auto r = guard.restore();
        if (!r.ok()) return r.error().message;
        if (*r != 1) return "restore() changed " + std::to_string(*r) + " terminals, want 1; ";
        // Nothing changed since: a second guard's restore has nothing to do.
        TerminalGuard again;
        auto r2 = again.restore();
        if (!r2.ok() || *r2 != 0) return "a second restore changed something; ";
        return "";
    });
    INFO(m);
    CHECK(m.empty());
    termios after{};
    REQUIRE(::tcgetattr(pty.slave, &after) == 0);
    CHECK(same(before, after));
    winsize ws{};
    REQUIRE(::ioctl(pty.slave, TIOCGWINSZ, &ws) == 0);
    CHECK(ws.ws_row == 24);
    CHECK(ws.ws_col == 80);
}

TEST_CASE("terminal: the destructor restores, no terminal, nothing saved", "[terminal]") {
    Pty pty;
    termios before{};
    REQUIRE(::tcgetattr(pty.slave, &before) == 0);
    std::string m = with_stdio_on(pty, [&]() -> std::string {
        {
            TerminalGuard guard;
            termios t{};
            ::tcgetattr(0, &t);
            t.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG);
            if (::tcsetattr(0, TCSANOW, &t) != 0) return "tcsetattr failed; ";
        }
        return "";
    });
    INFO(m);
    CHECK(m.empty());
    termios after{};
    REQUIRE(::tcgetattr(pty.slave, &after) == 0);
    CHECK(same(before, after));

    // stdio on /dev/null: not a terminal.
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    REQUIRE(null >= 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
        TerminalGuard g;
        auto r = g.restore();
        ::_exit(g.terminals() == 0 && r.ok() && *r == 0 ? 0 : 1);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    ::close(null);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
}

TEST_CASE("terminal: a hive-py in the background restores without being stopped by SIGTTOU", "[terminal]") {
    // The pty as the controlling terminal of a new session, whose foreground group is another one:
    // tcsetattr from the background would stop the process unless SIGTTOU is blocked.
    Pty pty;
    termios before{};
    REQUIRE(::tcgetattr(pty.slave, &before) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::signal(SIGTTOU, SIG_DFL);
        if (::setsid() < 0 || ::ioctl(pty.slave, TIOCSCTTY, 0) != 0) ::_exit(2);
        for (int fd = 0; fd <= 2; ++fd) ::dup2(pty.slave, fd);
        TerminalGuard guard;
        termios t{};
        ::tcgetattr(0, &t);
        t.c_lflag &= ~tcflag_t(ECHO);
        ::tcsetattr(0, TCSANOW, &t);  // still in the foreground here
        // Into a process group of its own that is not the terminal's foreground one: the background.
        pid_t fg = ::fork();
        if (fg == 0) {
            ::setpgid(0, 0);
            ::pause();
            ::_exit(0);
        }
        ::setpgid(fg, fg);
        if (::tcsetpgrp(0, fg) != 0) ::_exit(3);
        auto r = guard.restore();
        ::kill(fg, SIGKILL);
        ::_exit(r.ok() && *r == 1 ? 0 : 4);
    }
    int st = 0;
    REQUIRE(::waitpid(pid, &st, WUNTRACED) == pid);
    if (WIFSTOPPED(st)) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &st, 0);
        FAIL("restore() was stopped by SIGTTOU");
    }
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    termios after{};
    REQUIRE(::tcgetattr(pty.slave, &after) == 0);
    CHECK(same(before, after));
}
