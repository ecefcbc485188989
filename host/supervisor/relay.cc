#include "supervisor/relay.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace hive {

OutputRelay::OutputRelay(UniqueFd from, int to) : from_(std::move(from)), to_(to) {
    if (to_ < 0) return;
    struct stat st {};
    if (fstat(to_, &st) != 0) return;  // written as it is; a failing write closes the stream (EPIPE path)
    if (S_ISSOCK(st.st_mode)) {
        socket_ = true;
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        const std::string self = "/proc/self/fd/" + std::to_string(to_);
        own_.reset(open(self.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
        // /dev/null and other devices that never block need neither.
        chunked_ = !own_.valid() && S_ISFIFO(st.st_mode);
    }
}

void OutputRelay::on_readable() {
    char buf[65536];
    const std::size_t room = to_ < 0 ? sizeof buf : std::min(sizeof buf, kMaxPending - pending_.size());
    const ssize_t n = read(from_.get(), buf, room);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        open_ = false;
        from_.reset();
        return;
    }
    const std::string_view data(buf, std::size_t(n));
    hash_.update(data);
    bytes_ += std::uint64_t(n);
    if (to_ < 0) {
        const std::size_t keep = std::min(data.size(), kMaxCaptured - std::min(kMaxCaptured, captured_.size()));
        captured_.append(data.substr(0, keep));
        truncated_ = truncated_ || keep < data.size();
        return;
    }
    pending_.append(data);
    send_some();  // usually the caller is reading: no extra poll round
}

void OutputRelay::on_writable() { send_some(); }

void OutputRelay::send_some() {
    while (sent_ < pending_.size()) {
        std::size_t len = pending_.size() - sent_;
        if (chunked_) len = std::min<std::size_t>(len, PIPE_BUF);
        const char* p = pending_.data() + sent_;
        const ssize_t w = socket_ ? send(out_fd(), p, len, MSG_DONTWAIT | MSG_NOSIGNAL) : write(out_fd(), p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) break;  // the caller is not reading now: poll tells when it does
        if (w < 0) {
            // Our reader went away (`hive-py s.py | head -1`): close the script's pipe too, so that its
            // next write fails with EPIPE as it would under python3 (BrokenPipeError).
            undelivered_ += pending_.size() - sent_;
            pending_.clear();
            sent_ = 0;
            open_ = false;
            from_.reset();
            return;
        }
        sent_ += std::size_t(w);
        if (chunked_) break;  // one PIPE_BUF write per POLLOUT never blocks
    }
    if (sent_ == pending_.size()) {
        pending_.clear();
        sent_ = 0;
    } else if (sent_ > kMaxPending / 2) {
        pending_.erase(0, sent_);
        sent_ = 0;
    }
}

void OutputRelay::abandon() {
    undelivered_ += pending_.size() - sent_;
    pending_.clear();
    sent_ = 0;
    open_ = false;
    from_.reset();
}

}  // namespace hive
