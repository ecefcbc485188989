#include "supervisor/alert_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <optional>
#include <sstream>

#include "common/result.h"
#include "common/sha256.h"
#include "common/unique_fd.h"

namespace hive {

namespace {

constexpr const char* kHeader = "hive-py alerts.state 1";

struct Entry {
    std::string key;  // 64 hex
    std::int64_t notified_at_ms = 0;
    std::int64_t suppressed = 0;
    std::string run_id, alert;
};

bool is_hex64(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_word(const std::string& s) {
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// The entries of the file's text; an error names the first line that is not an entry.
Result<std::vector<Entry>> parse(const std::string& text) {
    std::vector<Entry> v;
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (n == 1) {
            if (line != kHeader) return Error{"line 1 is not the header \"" + std::string(kHeader) + "\""};
            continue;
        }
        std::istringstream ls(line);
        Entry e;
        std::string extra;
        if (!(ls >> e.key >> e.notified_at_ms >> e.suppressed >> e.run_id >> e.alert) || (ls >> extra) ||
            !is_hex64(e.key) || e.notified_at_ms < 0 || e.suppressed < 0 || !is_word(e.run_id) || !is_word(e.alert))
            return Error{"line " + std::to_string(n) + " is not an entry"};
        v.push_back(std::move(e));
    }
    if (n == 0) return Error{"no header line"};
    if (!text.empty() && text.back() != '\n') return Error{"the last line is cut off"};
    return v;
}

Result<std::string> read_all(int fd, const std::string& path) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return errno_error("fstat", path);
    if (!S_ISREG(st.st_mode)) return Error{path + " is not a regular file"};
    if (st.st_size > AlertStore::kMaxFileBytes)
        return Error{path + " is " + std::to_string(st.st_size) + " bytes, more than the store ever writes"};
    std::string s(std::size_t(st.st_size), '\0');
    std::size_t got = 0;
    while (got < s.size()) {
        ssize_t r = ::pread(fd, s.data() + got, s.size() - got, off_t(got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno_error("pread", path);
        if (r == 0) break;
        got += std::size_t(r);
    }
    s.resize(got);
    return s;
}

Status write_file(const std::string& path, const std::string& text) {
    const std::string tmp = path + "." + std::to_string(::getpid()) + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return errno_error("open", tmp);
    std::string_view d = text;
    while (!d.empty()) {
        ssize_t w = ::write(fd.get(), d.data(), d.size());
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            Error e = errno_error("write", tmp);
            ::unlink(tmp.c_str());
            return e;
        }
        d.remove_prefix(std::size_t(w));
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        Error e = errno_error("rename", tmp);
        ::unlink(tmp.c_str());
        return e;
    }
    return {};
}

}  // namespace

std::int64_t unix_now_ms() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

AlertStore::AlertStore(std::string dir, std::int64_t window_seconds) : dir_(std::move(dir)), window_s_(window_seconds) {}

AlertDecision AlertStore::decide(const std::string& script, const std::string& alert, const std::string& run_id,
                                 std::int64_t now_ms) const {
    AlertDecision d;
    if (window_s_ <= 0) return d;
    const std::int64_t window_ms = window_s_ * 1000;
    const std::string lpath = lock_path(), spath = state_path();
    auto fail_open = [&](const Error& e) {
        d.problems.push_back("alert filtering skipped, the alert is notified: " + e.message);
        return d;
    };

    UniqueFd lock(::open(lpath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!lock.valid()) return fail_open(errno_error("open", lpath));
    // Bounded: a lock held for longer than any decision takes (a stuck or hostile holder) must not hold
    // up the run; the alert then goes out unfiltered.
    for (int tries = 0; ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0; ++tries) {
        if (errno != EWOULDBLOCK && errno != EINTR) return fail_open(errno_error("flock", lpath));
        if (tries >= kLockTries) return fail_open(Error{"flock(" + lpath + "): still held by another process after 1 s"});
        ::usleep(5000);
    }

    std::vector<Entry> entries;
    UniqueFd fd(::open(spath.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd.valid() && errno != ENOENT) {
        d.problems.push_back(errno_error("open", spath).message + ": the alert state is reset");
    } else if (fd.valid()) {
        auto text = read_all(fd.get(), spath);
        auto parsed = text.ok() ? parse(*text) : Result<std::vector<Entry>>(text.error());
        if (parsed.ok()) entries = std::move(*parsed);
        else d.problems.push_back(spath + " is unreadable (" + parsed.error().message + "): the alert state is reset");
        fd.reset();
    }

    const std::string key = sha256_hex(script + std::string(1, '\0') + alert);
    // Drop what no decision needs any more: windows that passed with nothing held back, and stale counts.
    std::vector<Entry> kept;
    std::optional<Entry> mine;
    for (Entry& e : entries) {
        const std::int64_t age = now_ms - e.notified_at_ms;
        if (e.key == key) {
            if (!mine) mine = std::move(e);
            continue;
        }
        if (age >= window_ms && (e.suppressed == 0 || age >= window_ms + kStaleHorizonMs)) continue;
        kept.push_back(std::move(e));
    }
    Entry me;
    // A clock set back (notified_at in the future) opens a new window rather than silencing the alert.
    if (mine && now_ms >= mine->notified_at_ms && now_ms - mine->notified_at_ms < window_ms) {
        me = std::move(*mine);
        ++me.suppressed;
        d.notify = false;
        d.count = me.suppressed + 1;
        d.notified_run = me.run_id;
        d.notified_at_ms = me.notified_at_ms;
    } else {
        d.suppressed_since_last =
            mine && now_ms - mine->notified_at_ms < window_ms + kStaleHorizonMs ? mine->suppressed : 0;
        d.count = d.suppressed_since_last + 1;
        me = Entry{key, now_ms, 0, run_id, alert};
    }
    kept.push_back(std::move(me));
    std::sort(kept.begin(), kept.end(), [](const Entry& a, const Entry& b) { return a.notified_at_ms < b.notified_at_ms; });
    if (kept.size() > kMaxEntries) kept.erase(kept.begin(), kept.end() - std::ptrdiff_t(kMaxEntries));

    std::string out = std::string(kHeader) + "\n";
    for (const Entry& e : kept)
        out += e.key + " " + std::to_string(e.notified_at_ms) + " " + std::to_string(e.suppressed) + " " + e.run_id +
               " " + e.alert + "\n";
    if (Status w = write_file(spath, out); !w.ok())
        d.problems.push_back("the alert state was not saved: " + w.error().message);
    return d;
}

}  // namespace hive
