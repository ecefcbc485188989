// Appending to the hash-chained logs, and rotating them.
//
// Many hive-py processes append to one log directory at once. Each stream has a lock file; an append
// holds flock(LOCK_EX) on it from reading the last chain value to the end of its write (and through a
// rotation), so the chain read and the lines written can't interleave with another process. The lock
// file is opened afresh for every append: flock locks belong to the open file description, which a
// fork()ed child shares with its parent, so a cached descriptor would let parent and child both "hold"
// the lock at once.
#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "audit/head.h"
#include "audit/record_format.h"
#include "common/unique_fd.h"

namespace hive::audit {

using namespace detail;

const char* file_name(Stream s) {
    switch (s) {
        case Stream::execution: return "execution_audit.log";
        case Stream::events: return "audit_events.log";
        case Stream::security: return "security_events.log";
        case Stream::resource: return "resource_usage.log";
    }
    return "unknown.log";
}

struct AuditLog::Impl {
    LogOptions opts;
};

AuditLog::AuditLog(AuditLog&& o) noexcept : impl_(std::exchange(o.impl_, nullptr)) {}
AuditLog& AuditLog::operator=(AuditLog&& o) noexcept {
    if (this != &o) {
        delete impl_;
        impl_ = std::exchange(o.impl_, nullptr);
    }
    return *this;
}
AuditLog::~AuditLog() { delete impl_; }
const std::string& AuditLog::dir() const { return impl_->opts.dir; }

namespace {

Status make_dirs(const std::string& dir) {
    std::string path;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = dir.find('/', pos + 1);
        path = dir.substr(0, pos);
        if (path.empty() || path == "/") continue;
        if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) continue;
        return errno_error("mkdir", path);
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return errno_error("stat", dir);
    if (!S_ISDIR(st.st_mode)) return Error::from_errno("mkdir", dir, ENOTDIR);
    if (::access(dir.c_str(), W_OK | X_OK) != 0) return errno_error("access", dir);
    return {};
}

Status lock_exclusive(int fd, const std::string& path) {
    while (::flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) return errno_error("flock", path);
    }
    return {};
}

Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("write", path);
        }
        data.remove_prefix(std::size_t(n));
    }
    return {};
}

// The last record's chain value within the live file's tail, read backwards in growing chunks. The
// first read is one page: a run's records are ~1.3 KB, and a 16 KB first read (fresh heap for the
// buffer, four pages copied) cost 0.3-0.6 ms of every run's end here. Longer records grow the read.
// Lines that are not ours (a torn write, garbage) are skipped: the next record links to the last
// record that has a chain, and verify reports the bad line on its own.
struct Tail {
    std::optional<std::string> chain;
    bool ends_with_newline = true;
};

Result<Tail> read_tail(int fd, std::int64_t size, const std::string& path) {
    Tail t;
    if (size == 0) return t;
    std::int64_t want = 4096;
    std::string buf;
    for (;;) {
        std::int64_t off = size > want ? size - want : 0;
        buf.resize(std::size_t(size - off));
        std::size_t got = 0;
        while (got < buf.size()) {
            ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, off + std::int64_t(got));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno_error("pread", path);
            if (n == 0) break;
            got += std::size_t(n);
        }
        buf.resize(got);
        if (buf.empty()) return t;
        t.ends_with_newline = buf.back() == '\n';
        std::string_view v = buf;
        if (t.ends_with_newline) v.remove_suffix(1);
        while (!v.empty() || off == 0) {
            std::size_t nl = v.rfind('\n');
            if (nl == std::string_view::npos && off > 0) break;  // first piece may be a partial line
            std::string_view line = nl == std::string_view::npos ? v : v.substr(nl + 1);
            if (auto c = split_chained_line(line)) {
                t.chain = std::string(c->chain);
                return t;
            }
            if (nl == std::string_view::npos) return t;  // whole file scanned: no record of ours
            v = v.substr(0, nl);
        }
        if (off == 0) return t;
        want *= 4;
    }
}

// The chain value to continue from when the live file has none: the last record of the newest
// rotated file that has one, else the start of a chain.
std::string last_rotated_chain(const std::string& dir, const std::string& name) {
    auto rotated = list_rotated(dir, name);
    for (auto it = rotated.rbegin(); it != rotated.rend(); ++it) {
        LineReader r;
        if (!r.open(it->gz.empty() ? it->plain : it->gz).ok()) continue;
        std::optional<std::string> last;
        std::string line;
        while (r.next(line))
            if (auto c = split_chained_line(line)) last = std::string(c->chain);
        if (last) return *last;
    }
    return std::string(kZeroChain);
}

// The chained records of every file of the stream: what a head counts, when it has to be rebuilt.
std::int64_t count_records(const std::string& dir, const std::string& name) {
    std::int64_t n = 0;
    for (const std::string& file : stream_files(dir, name)) {
        LineReader r;
        if (!r.open(file).ok()) continue;
        std::string line;
        while (r.next(line))
            if (split_chained_line(line)) ++n;
    }
    return n;
}

// The chained records of `path` after the one whose chain value is `chain`; nullopt if none has it.
std::optional<std::int64_t> records_after(const std::string& path, const std::string& chain) {
    LineReader r;
    if (!r.open(path).ok()) return std::nullopt;
    std::optional<std::int64_t> n;
    std::string line;
    while (r.next(line)) {
        auto c = split_chained_line(line);
        if (!c) continue;
        if (c->chain == chain) n = 0;
        else if (n) ++*n;
    }
    return n;
}

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Compress src into dst: write `.dst.tmp`, fsync it, then rename, so a crash never leaves a partial
// .gz under the final name. Always fsync here (rotation is rare) whatever LogOptions::fsync says.
Status compress_file(const std::string& dir, const std::string& src, const std::string& dst) {
    // The pid keeps two compressors of the same file (a background one and a later rotation) apart.
    std::string tmp = dir + "/." + base_name(dst) + "." + std::to_string(::getpid()) + ".tmp";
    UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) return errno_error("open", src);
    UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!out.valid()) return errno_error("open", tmp);
    UniqueFd sync_fd(::dup(out.get()));  // gzclose closes `out`; keep one to fsync afterwards
    if (!sync_fd.valid()) return errno_error("dup", tmp);
    gzFile gz = gzdopen(out.release(), "wb6");
    if (!gz) {
        ::unlink(tmp.c_str());
        return Error{"gzdopen(" + tmp + "): out of memory"};
    }
    auto fail = [&](Error e) {
        if (gz) gzclose(gz);
        ::unlink(tmp.c_str());
        return e;
    };
    std::string buf(65536, '\0');
    for (;;) {
        ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(errno_error("read", src));
        if (n == 0) break;
        if (gzwrite(gz, buf.data(), unsigned(n)) != int(n)) {
            int code = 0;
            return fail(Error{"gzwrite(" + tmp + "): " + gzerror(gz, &code)});
        }
    }
    int rc = gzclose(gz);
    gz = nullptr;
    if (rc != Z_OK) return fail(Error{"gzclose(" + tmp + "): zlib error " + std::to_string(rc)});
    if (::fsync(sync_fd.get()) != 0) return fail(errno_error("fsync", tmp));
    if (::rename(tmp.c_str(), dst.c_str()) != 0) return fail(errno_error("rename", tmp));
    return {};
}

// Compress every rotated file of the stream that is still plain, then remove the plain copy. Two
// compressors may meet on one file: each writes its own temporary, the rename is atomic and the
// contents are equal, and the second unlink finds nothing to remove.
Status compress_leftovers(const std::string& dir, const std::string& name) {
    Status first;
    for (const RotatedFile& r : list_rotated(dir, name)) {
        if (r.plain.empty()) continue;
        if (r.gz.empty()) {
            Status st = compress_file(dir, r.plain, dir + "/" + name + "." + std::to_string(r.n) + ".gz");
            if (!st.ok() && st.error().err == ENOENT) continue;  // another compressor finished it meanwhile
            if (!st.ok()) {
                if (first.ok()) first = st;
                continue;  // keep the plain copy; the next files still get their turn
            }
        }
        if (::unlink(r.plain.c_str()) != 0 && errno != ENOENT && first.ok()) first = errno_error("unlink", r.plain);
    }
    return first;
}

// A detached process (double fork: nobody has to reap it) that compresses the leftovers. It holds
// none of the caller's fds: a caller's stdout kept open by it would keep the caller's reader waiting.
void compress_in_background(const std::string& dir, const std::string& name) {
    pid_t first = ::fork();
    if (first != 0) {
        if (first > 0) ::waitpid(first, nullptr, 0);
        return;
    }
    if (::fork() != 0) ::_exit(0);
    ::setsid();
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
    }
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    ::_exit(compress_leftovers(dir, name).ok() ? 0 : 1);
}

// Caller holds the stream lock. Moves the live file aside as <name>.<N> (atomic), then compresses it
// (and any leftover of an interrupted rotation) to <name>.<N>.gz, here or in a detached process. A crash
// at any step leaves files verify can still read in order.
Status rotate(const std::string& dir, const std::string& name, bool background) {
    std::int64_t n = 0;
    for (const RotatedFile& r : list_rotated(dir, name)) n = std::max(n, r.n);
    const std::string live = dir + "/" + name;
    const std::string plain = live + "." + std::to_string(n + 1);
    if (::rename(live.c_str(), plain.c_str()) != 0) return errno_error("rename", live);
    if (background) {
        compress_in_background(dir, name);
        return {};
    }
    return compress_leftovers(dir, name);
}

}  // namespace

Result<AuditLog> AuditLog::open(const LogOptions& opts) {
    if (opts.dir.empty()) return Error{"audit log: no log directory given"};
    HIVE_TRY(make_dirs(opts.dir));
    AuditLog log;
    log.impl_ = new Impl{opts};
    return log;
}

Status AuditLog::append(Stream s, const json::Object& record) {
    return append(s, std::vector<json::Object>{record});
}

namespace {

// The records as the lines appended: each record's text, then "prev" and "chain" (computed over the
// record's own text and prev); `prev` ends as the last line's chain value. `spans`: where each line is.
std::string chained_lines(const std::vector<json::Object>& records, std::string_view key, std::string& prev,
                          bool need_newline, std::vector<std::pair<std::size_t, std::size_t>>* spans) {
    std::string buf;
    std::size_t total = 0;
    for (const json::Object& r : records) total += r.open_text().size() + 160;
    buf.reserve(total + 1);
    if (need_newline) buf += '\n';
    for (const json::Object& r : records) {
        std::size_t start = buf.size();
        std::string_view body = r.open_text();
        buf += body;
        if (body.size() > 1) buf += ',';
        buf += "\"prev\":\"";
        buf += prev;
        buf += '"';
        prev = chain_value(key, prev, std::string_view(buf).substr(start));
        buf += ",\"chain\":\"";
        buf += prev;
        buf += "\"}";
        if (spans) spans->emplace_back(start, buf.size() - start);
        buf += '\n';
    }
    return buf;
}

}  // namespace

Status AuditLog::append(Stream s, const std::vector<json::Object>& records, std::vector<std::string>* written) {
    if (records.empty()) return {};
    const LogOptions& o = impl_->opts;
    const std::string name = file_name(s);
    const std::string path = o.dir + "/" + name;

    // json::Object escapes every control byte in keys and strings; only raw members (add_raw) could
    // hold a newline, which would split the record. Refused before anything is written.
    for (std::size_t i = 0; i < records.size(); ++i) {
        std::string_view t = records[i].open_text();
        if (t.find('\n') != std::string_view::npos)
            return Error{"audit append(" + name + "): record " + std::to_string(i) + " contains a newline"};
    }

    const std::string lpath = lock_path(o.dir, name);
    UniqueFd lock(::open(lpath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock.valid()) return errno_error("open", lpath);
    HIVE_TRY(lock_exclusive(lock.get(), lpath));

    UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid()) return errno_error("open", path);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return errno_error("fstat", path);
    std::int64_t size = st.st_size;

    const std::string_view key = o.hmac_key ? o.hmac_key->view() : std::string_view{};
    const std::string hpath = head_path(o.dir, name);
    UniqueFd head_fd(::open(hpath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!head_fd.valid()) return errno_error("open", hpath);
    auto read = read_head(head_fd.get(), hpath, name, key);
    if (!read.ok()) return read.error();

    auto tail = read_tail(fd.get(), size, path);
    if (!tail.ok()) return tail.error();
    bool need_newline = !tail->ends_with_newline;  // a torn last line: don't glue our record onto it
    Head head;
    std::string prev;
    if (read->state == HeadState::valid) {
        head = read->head;
        prev = head.chain;
        // The live file ends elsewhere than the head says. Records appended after the head's record
        // (a writer that died between its records and its head, or a hive-py that kept no heads):
        // continue after them and count them. Otherwise the file lost its end: continue from the
        // head, so that the gap stays visible to verify.
        if (tail->chain && *tail->chain != head.chain) {
            if (auto after = records_after(path, head.chain)) {
                prev = *tail->chain;
                head.records += *after;
            }
        }
    } else {
        prev = tail->chain ? *tail->chain : last_rotated_chain(o.dir, name);
        head.records = count_records(o.dir, name);
        if (head.records > 0 || read->state == HeadState::bad) head.rebuilt_at = head.records + 1;
    }

    if (o.max_bytes > 0 && size > o.max_bytes) {
        fd.reset();
        HIVE_TRY(rotate(o.dir, name, o.compress_in_background));
        fd.reset(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
        if (!fd.valid()) return errno_error("open", path);
        size = 0;
        need_newline = false;
    }

    std::vector<std::pair<std::size_t, std::size_t>> spans;  // each line in buf, for `written`
    const std::string buf = chained_lines(records, key, prev, need_newline, written ? &spans : nullptr);

    // One write() of the whole buffer on an O_APPEND fd. If it fails part-way (ENOSPC), cut the file
    // back to where it was, so either every line lands or none does; we hold the lock, so `size` is
    // still the end of our predecessor's data.
    Status w = write_all(fd.get(), buf, path);
    if (!w.ok()) {
        if (::ftruncate(fd.get(), size) != 0) {
            return Error{w.error().message + "; ftruncate(" + path + ") to undo the partial write also failed",
                         w.error().err};
        }
        return w;
    }
    if (o.fsync && ::fsync(fd.get()) != 0) return errno_error("fsync", path);
    head.records += std::int64_t(records.size());
    head.chain = prev;
    HIVE_TRY(write_head(head_fd.get(), hpath, name, head, key));
    if (o.fsync && ::fsync(head_fd.get()) != 0) return errno_error("fsync", hpath);
    if (written)
        for (auto [at, len] : spans) written->emplace_back(buf, at, len);
    return {};
}

}  // namespace hive::audit
