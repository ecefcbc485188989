#include "channel/event.h"

#include <cstring>

namespace hive::channel {

const char* to_string(Decision d) {
    switch (d) {
        case Decision::allowed: return "allowed";
        case Decision::denied_by_hook: return "denied_by_hook";
        case Decision::denied_by_kernel: return "denied_by_kernel";
        case Decision::counted: return "counted";
    }
    return "unknown";
}

const char* to_string(Kind k) {
    switch (k) {
        case Kind::file: return "file";
        case Kind::socket: return "socket";
        case Kind::subprocess: return "subprocess";
        case Kind::code: return "code";
        case Kind::tampering: return "tampering";
        case Kind::other: return "other";
        case Kind::summary: return "summary";
    }
    return "unknown";
}

EventWriter::EventWriter(std::uint32_t pid, std::uint64_t pid_seq, std::uint64_t time_ns, Decision d, Kind k,
                         std::string_view name) {
    std::uint32_t reserved = 0;
    put(&pid, 4);
    put(&reserved, 4);
    put(&pid_seq, 8);
    put(&time_ns, 8);
    std::uint8_t dk[2] = {std::uint8_t(d), std::uint8_t(k)};
    put(dk, 2);
    nargs_off_ = len_;
    put(&nargs_, 2);
    if (name.size() > 255) name = name.substr(0, 255);
    std::uint16_t nl = std::uint16_t(name.size());
    put(&nl, 2);
    put(name.data(), name.size());
}

void EventWriter::put(const void* p, std::size_t n) {
    std::memcpy(buf_ + len_, p, n);
    len_ += n;
}

void EventWriter::arg(std::string_view text) {
    if (nargs_ >= kMaxArgs) return;
    static constexpr std::string_view kCut = "...[truncated]";
    bool cut = text.size() > kMaxArgBytes;
    std::size_t keep = cut ? kMaxArgBytes - kCut.size() : text.size();
    std::uint16_t l = std::uint16_t(keep + (cut ? kCut.size() : 0));
    put(&l, 2);
    put(text.data(), keep);
    if (cut) put(kCut.data(), kCut.size());
    ++nargs_;
    std::memcpy(buf_ + nargs_off_, &nargs_, 2);
}

bool decode(std::string_view rec, Event& out, std::string& why) {
    std::size_t off = 0;
    auto take = [&](void* dst, std::size_t n) {
        if (rec.size() - off < n) return false;
        std::memcpy(dst, rec.data() + off, n);
        off += n;
        return true;
    };
    std::uint32_t reserved;
    std::uint8_t dk[2];
    std::uint16_t nargs, nl;
    if (!take(&out.pid, 4) || !take(&reserved, 4) || !take(&out.pid_seq, 8) || !take(&out.time_ns, 8) ||
        !take(dk, 2) || !take(&nargs, 2) || !take(&nl, 2)) {
        why = "record shorter than its header";
        return false;
    }
    if (dk[0] > 3 || dk[1] > 6 || nargs > kMaxArgs || reserved != 0) {
        why = "record header out of range";
        return false;
    }
    out.decision = Decision(dk[0]);
    out.kind = Kind(dk[1]);
    if (rec.size() - off < nl) {
        why = "event name runs past the record";
        return false;
    }
    out.name.assign(rec.data() + off, nl);
    off += nl;
    out.args.clear();
    for (std::uint16_t i = 0; i < nargs; ++i) {
        std::uint16_t l;
        if (!take(&l, 2) || rec.size() - off < l) {
            why = "argument runs past the record";
            return false;
        }
        out.args.emplace_back(rec.data() + off, l);
        off += l;
    }
    if (off != rec.size()) {
        why = "trailing bytes after the last argument";
        return false;
    }
    return true;
}

}  // namespace hive::channel
