// One output stream of the script (stdout or stderr) on its way to hive-py's caller: read from the
// sandbox's pipe, hashed, then either passed on or captured (--json). Nothing here may block the
// supervisor's loop, whatever the caller does: a caller that stops reading must not stop the wall clock.
//  - The caller's end is written without blocking: a pipe or terminal is opened again as a file
//    description of our own with O_NONBLOCK (/proc/self/fd/N: the caller's description keeps its
//    flags), a socket is written with MSG_DONTWAIT, a regular file never blocks.
//  - At most kMaxPending bytes wait for the caller; past that the relay stops reading the sandbox's
//    pipe, so the script blocks in its own write() (back-pressure, as under python3) while the loop
//    keeps its timers.
//  - Captured output (--json) keeps at most kMaxCaptured bytes; the rest is counted, hashed and dropped
//    (the result says "stdout_truncated": true).
#pragma once

#include <cstdint>
#include <string>

#include "common/sha256.h"
#include "common/unique_fd.h"

namespace hive {

class OutputRelay {
public:
    static constexpr std::size_t kMaxPending = 1 << 20;
    static constexpr std::size_t kMaxCaptured = 8 << 20;

    // `from`: the sandbox's pipe (read end, owned); `to`: the caller's fd (1 or 2), or -1 when capturing.
    OutputRelay(UniqueFd from, int to);

    // For poll(): the fd to watch for input (-1: none now) and for output (-1: nothing to send).
    int read_fd() const { return open_ && pending_.size() < kMaxPending ? from_.get() : -1; }
    int write_fd() const { return pending_.empty() ? -1 : out_fd(); }
    void on_readable();
    void on_writable();
    // Nothing more will come and nothing waits for the caller.
    bool done() const { return !open_ && pending_.empty(); }
    bool input_open() const { return open_; }
    // The run is over and the caller does not take what is left: drop it (counted).
    void abandon();

    Sha256& hash() { return hash_; }
    std::uint64_t bytes() const { return bytes_; }
    const std::string& captured() const { return captured_; }
    bool truncated() const { return truncated_; }
    std::uint64_t undelivered() const { return undelivered_; }

private:
    int out_fd() const { return own_.valid() ? own_.get() : to_; }
    void send_some();

    UniqueFd from_;
    int to_;
    UniqueFd own_;          // our own non-blocking description of the caller's pipe or terminal
    bool socket_ = false;   // the caller's fd is a socket: send(MSG_DONTWAIT)
    bool chunked_ = false;  // a pipe or terminal we could not reopen: PIPE_BUF bytes per POLLOUT
    bool open_ = true;
    std::string pending_;
    std::size_t sent_ = 0;  // of pending_
    std::string captured_;
    bool truncated_ = false;
    std::uint64_t bytes_ = 0, undelivered_ = 0;
    Sha256 hash_;
};

}  // namespace hive
