// terminal: the caller's terminal comes back as it was. The sandbox shares the caller's terminal (its
// stdin, often its stdout/stderr): a script may set it raw (tty.setraw), turn echo off or change its
// window size, and those settings belong to the terminal, not to the process, so they would outlive the
// run. The parent saves them before the run and puts back what changed after it. seccomp refuses what
// cannot be put back (TIOCSTI's keystrokes, TIOCLINUX); the line discipline (TIOCSETD, refused as well)
// is restored too, for a run without seccomp.
#pragma once

#include <sys/ioctl.h>
#include <sys/types.h>
#include <termios.h>

#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hive {

class TerminalGuard {
public:
    // Saves termios, window size and line discipline of each terminal among fds 0, 1, 2 (once per
    // terminal), through a duplicate of the fd, so that the parent's own later use of 0-2 does not
    // matter. Fds that are not terminals are skipped; saving never fails the run.
    TerminalGuard();
    // Restores, if restore() was not called.
    ~TerminalGuard();
    TerminalGuard(const TerminalGuard&) = delete;
    TerminalGuard& operator=(const TerminalGuard&) = delete;

    // Puts back each saved setting that differs now; returns how many terminals had to be changed
    // (0: the run left them alone). With SIGTTOU blocked: a hive-py in the background restores too,
    // instead of being stopped. Every terminal is tried; the first failure is returned.
    Result<int> restore();

    int terminals() const { return int(saved_.size()); }

private:
    struct Saved {
        UniqueFd fd;
        dev_t rdev = 0;
        termios tio{};
        winsize ws{};
        bool has_ws = false;
        int ldisc = 0;
        bool has_ldisc = false;
    };
    std::vector<Saved> saved_;
    bool restored_ = false;
};

}  // namespace hive
