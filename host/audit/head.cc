#include "audit/head.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "audit/record_format.h"
#include "common/unique_fd.h"

namespace hive::audit::detail {

namespace {

constexpr std::string_view kSigKey = ",\"sig\":\"";

std::string signature(std::string_view key, std::string_view signed_text) {
    return chain_value(key, "head", signed_text);
}

std::string signed_text(const std::string& name, const Head& h) {
    char buf[kHeadSize];
    std::snprintf(buf, sizeof buf, "{\"stream\":\"%s\",\"records\":%" PRId64 ",\"chain\":\"%s\",\"rebuilt_at\":%" PRId64,
                  name.c_str(), h.records, h.chain.c_str(), h.rebuilt_at);
    return buf;
}

}  // namespace

std::string head_path(const std::string& dir, const std::string& name) { return dir + "/." + name + ".head"; }

std::string format_head(const std::string& name, const Head& h, std::string_view key) {
    std::string s = signed_text(name, h);
    std::string sig = signature(key, s);
    s.append(kSigKey).append(sig).append("\"}");
    s.resize(kHeadSize - 1, ' ');
    s += '\n';
    return s;
}

HeadRead parse_head(std::string_view text, const std::string& name, std::string_view key) {
    HeadRead r;
    if (text.empty()) return r;  // absent (created by an open that did not write yet)
    r.state = HeadState::bad;
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
    std::size_t sig_at = text.rfind(kSigKey);
    if (sig_at == std::string_view::npos || text.size() != sig_at + kSigKey.size() + 64 + 2 ||
        text.substr(text.size() - 2) != "\"}") {
        r.why = "not a head written by hive-py";
        return r;
    }
    // Read the fields back with the format that wrote them, then require the exact same text: a head is
    // either ours, byte for byte, or not a head.
    char stream[64] = {0}, chain[65] = {0};
    long long records = -1, rebuilt_at = -1;
    std::string body(text.substr(0, sig_at));
    if (std::sscanf(body.c_str(), "{\"stream\":\"%63[^\"]\",\"records\":%lld,\"chain\":\"%64[0-9a-f]\",\"rebuilt_at\":%lld",
                    stream, &records, chain, &rebuilt_at) != 4 ||
        records < 0 || rebuilt_at < 0) {
        r.why = "not a head written by hive-py";
        return r;
    }
    Head h{records, chain, rebuilt_at};
    if (stream != name || signed_text(name, h) != body) {
        r.why = "not the head of " + name;
        return r;
    }
    if (signature(key, body) != text.substr(sig_at + kSigKey.size(), 64)) {
        r.why = key.empty() ? "signature does not match (head edited, or written with an HMAC key: pass --key-file)"
                            : "signature does not match (head edited or forged, or the HMAC key is wrong)";
        return r;
    }
    r.state = HeadState::valid;
    r.head = std::move(h);
    return r;
}

Result<HeadRead> read_head(int fd, const std::string& path, const std::string& name, std::string_view key) {
    char buf[kHeadSize + 1];
    std::size_t got = 0;
    while (got < sizeof buf) {
        ssize_t n = ::pread(fd, buf + got, sizeof buf - got, off_t(got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("pread", path);
        if (n == 0) break;
        got += std::size_t(n);
    }
    if (got > kHeadSize) {
        HeadRead r;
        r.state = HeadState::bad;
        r.why = "not a head written by hive-py (too long)";
        return r;
    }
    return parse_head(std::string_view(buf, got), name, key);
}

Result<HeadRead> read_head(const std::string& path, const std::string& name, std::string_view key) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT) return HeadRead{};
        return errno_error("open", path);
    }
    return read_head(fd.get(), path, name, key);
}

Status write_head(int fd, const std::string& path, const std::string& name, const Head& h, std::string_view key) {
    const std::string text = format_head(name, h, key);
    ssize_t n;
    do {
        n = ::pwrite(fd, text.data(), text.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno_error("pwrite", path);
    if (std::size_t(n) != text.size()) return Error{"pwrite(" + path + "): short write"};
    // A head left longer by someone else's bytes would no longer parse: keep it exactly one record.
    if (::ftruncate(fd, off_t(text.size())) != 0) return errno_error("ftruncate", path);
    return {};
}

}  // namespace hive::audit::detail
