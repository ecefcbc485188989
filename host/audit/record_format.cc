#include "audit/record_format.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <sys/stat.h>

#include "common/sha256.h"

namespace hive::audit::detail {

namespace {

constexpr std::string_view kPrevKey = "\"prev\":\"";
constexpr std::string_view kChainKey = ",\"chain\":\"";

bool is_hex64(std::string_view s) {
    if (s.size() != 64) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

// "<digits>" -> value; nullopt otherwise (no sign, no leading '+', at most 18 digits).
std::optional<std::int64_t> parse_number(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

}  // namespace

std::string chain_value(std::string_view key, std::string_view prev, std::string_view prefix) {
    if (key.empty()) {
        Sha256 h;
        h.update(prev);
        h.update("\n");
        h.update(prefix);
        return h.hex();
    }
    std::string data;
    data.reserve(prev.size() + 1 + prefix.size());
    data.append(prev).append("\n").append(prefix);
    return hmac_sha256_hex(key, data);
}

std::optional<ChainedLine> split_chained_line(std::string_view line) {
    // ...,"prev":"<64>","chain":"<64>"}
    constexpr std::size_t tail = kChainKey.size() + 64 + 2;
    constexpr std::size_t prev_len = kPrevKey.size() + 64 + 1;
    if (line.size() < 1 + prev_len + tail) return std::nullopt;
    std::string_view end = line.substr(line.size() - tail);
    if (end.substr(0, kChainKey.size()) != kChainKey || end.substr(end.size() - 2) != "\"}") return std::nullopt;
    ChainedLine out;
    out.chain = end.substr(kChainKey.size(), 64);
    out.prefix = line.substr(0, line.size() - tail);
    std::string_view p = out.prefix.substr(out.prefix.size() - prev_len);
    if (p.substr(0, kPrevKey.size()) != kPrevKey || p.back() != '"') return std::nullopt;
    out.prev = p.substr(kPrevKey.size(), 64);
    char before = out.prefix[out.prefix.size() - prev_len - 1];
    if (out.prefix.front() != '{' || (before != ',' && before != '{')) return std::nullopt;
    if (!is_hex64(out.prev) || !is_hex64(out.chain)) return std::nullopt;
    return out;
}

std::vector<RotatedFile> list_rotated(const std::string& dir, const std::string& name) {
    std::map<std::int64_t, RotatedFile> found;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return {};
    const std::string stem = name + ".";
    while (dirent* e = ::readdir(d)) {
        std::string_view f = e->d_name;
        if (f.substr(0, stem.size()) != stem) continue;
        f.remove_prefix(stem.size());
        bool gz = f.size() > 3 && f.substr(f.size() - 3) == ".gz";
        if (gz) f.remove_suffix(3);
        auto n = parse_number(f);
        if (!n) continue;
        RotatedFile& r = found[*n];
        r.n = *n;
        (gz ? r.gz : r.plain) = dir + "/" + e->d_name;
    }
    ::closedir(d);
    std::vector<RotatedFile> out;
    for (auto& [n, r] : found) out.push_back(std::move(r));
    return out;
}

std::vector<std::string> stream_files(const std::string& dir, const std::string& name) {
    std::vector<std::string> out;
    // NB: when both exist, the .gz is complete (it is renamed into place only after gzclose) and the
    // plain file is the leftover of a rotation interrupted before its unlink.
    for (const RotatedFile& r : list_rotated(dir, name)) out.push_back(r.gz.empty() ? r.plain : r.gz);
    std::string live = dir + "/" + name;
    if (exists(live)) out.push_back(live);
    return out;
}

std::string lock_path(const std::string& dir, const std::string& name) { return dir + "/." + name + ".lock"; }

LineReader::~LineReader() {
    if (gz_) gzclose(gz_);
}

Status LineReader::open(const std::string& path_in) {
    std::string path = path_in;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !(path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0)) {
        // A rotated file listed as plain may have been compressed since (by the background compressor,
        // audit_log.cc): the same records are in <path>.gz now.
        path += ".gz";
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) path = path_in;
    }
    path_ = path;
    if (fd < 0) return errno_error("open", path);
    if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
        gz_ = gzdopen(fd, "rb");  // takes ownership of fd
        if (!gz_) {
            ::close(fd);
            return Error{"gzdopen(" + path + "): out of memory"};
        }
    } else {
        fd_.reset(fd);
    }
    return {};
}

bool LineReader::fill() {
    if (eof_) return false;
    if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    std::size_t old = buf_.size();
    buf_.resize(old + 65536);
    long got;
    if (gz_) {
        got = gzread(gz_, buf_.data() + old, 65536);
        if (got < 0 || (got == 0 && !gzeof(gz_))) {
            int code = 0;
            const char* msg = gzerror(gz_, &code);
            error_ = std::string("gzread: ") + (msg ? msg : "error");
            got = 0;
        } else if (got == 0) {
            // A truncated gzip member ends without error from gzread but leaves Z_BUF_ERROR.
            int code = 0;
            const char* msg = gzerror(gz_, &code);
            if (code != Z_OK) error_ = std::string("gzread: ") + (msg ? msg : "error");
        }
    } else {
        do {
            got = ::read(fd_.get(), buf_.data() + old, 65536);
        } while (got < 0 && errno == EINTR);
        if (got < 0) {
            error_ = Error::from_errno("read", path_, errno).message;
            got = 0;
        }
    }
    buf_.resize(old + std::size_t(got));
    if (got == 0) eof_ = true;
    return got > 0;
}

bool LineReader::next(std::string& line) {
    for (;;) {
        std::size_t nl = buf_.find('\n', pos_);
        if (nl != std::string::npos) {
            line.assign(buf_, pos_, nl - pos_);
            pos_ = nl + 1;
            return true;
        }
        if (!fill()) {
            if (error_) return false;  // don't hand out a half-decoded line
            if (pos_ < buf_.size()) {
                line.assign(buf_, pos_, std::string::npos);
                pos_ = buf_.size();
                return true;
            }
            return false;
        }
    }
}

}  // namespace hive::audit::detail
