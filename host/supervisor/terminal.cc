#include "supervisor/terminal.h"

#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

namespace hive {
namespace {

bool same_termios(const termios& a, const termios& b) {
    return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag &&
           a.c_line == b.c_line && std::memcmp(a.c_cc, b.c_cc, sizeof a.c_cc) == 0 &&
           cfgetispeed(&a) == cfgetispeed(&b) && cfgetospeed(&a) == cfgetospeed(&b);
}

}  // namespace

TerminalGuard::TerminalGuard() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (!isatty(fd)) continue;
        struct stat st {};
        if (fstat(fd, &st) != 0) continue;
        bool seen = false;
        for (const auto& s : saved_) seen = seen || s.rdev == st.st_rdev;
        if (seen) continue;
        Saved s;
        s.fd.reset(fcntl(fd, F_DUPFD_CLOEXEC, 3));
        if (!s.fd.valid() || tcgetattr(s.fd.get(), &s.tio) != 0) continue;
        s.rdev = st.st_rdev;
        s.has_ws = ioctl(s.fd.get(), TIOCGWINSZ, &s.ws) == 0;
        s.has_ldisc = ioctl(s.fd.get(), TIOCGETD, &s.ldisc) == 0;
        saved_.push_back(std::move(s));
    }
}

TerminalGuard::~TerminalGuard() {
    if (!restored_) [[maybe_unused]] auto r = restore();
}

Result<int> TerminalGuard::restore() {
    restored_ = true;
    // tcsetattr from a background process group raises SIGTTOU (and stops hive-py) unless SIGTTOU is
    // blocked or ignored, in which case the kernel changes the terminal and sends nothing.
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    pthread_sigmask(SIG_BLOCK, &ttou, &old);
    int changed = 0;
    std::optional<Error> first;
    auto fail = [&](const char* call, const char* arg) {
        if (!first) first = errno_error(call, arg);
    };
    for (auto& s : saved_) {
        const int fd = s.fd.get();
        bool did = false;
        // The line discipline first, then the settings it applies.
        int ldisc = 0;
        if (s.has_ldisc && ioctl(fd, TIOCGETD, &ldisc) == 0 && ldisc != s.ldisc) {
            if (ioctl(fd, TIOCSETD, &s.ldisc) != 0) fail("ioctl", "TIOCSETD");
            did = true;
        }
        termios now{};
        if (tcgetattr(fd, &now) != 0) {
            fail("tcgetattr", "saved terminal");
        } else if (!same_termios(now, s.tio)) {
            // TCSANOW: TCSADRAIN would wait for output nobody may be reading (a pty's master, say).
            if (tcsetattr(fd, TCSANOW, &s.tio) != 0) fail("tcsetattr", "TCSANOW");
            did = true;
        }
        winsize ws{};
        if (s.has_ws && ioctl(fd, TIOCGWINSZ, &ws) == 0 &&
            (ws.ws_row != s.ws.ws_row || ws.ws_col != s.ws.ws_col || ws.ws_xpixel != s.ws.ws_xpixel ||
             ws.ws_ypixel != s.ws.ws_ypixel)) {
            if (ioctl(fd, TIOCSWINSZ, &s.ws) != 0) fail("ioctl", "TIOCSWINSZ");
            did = true;
        }
        changed += did;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (first) return *first;
    return changed;
}

}  // namespace hive
