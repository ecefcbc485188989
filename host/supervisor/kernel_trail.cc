#include "supervisor/kernel_trail.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "audit/kernel_socket.h"
#include "common/json.h"
#include "common/kernel_file.h"
#include "common/result.h"
#include "supervisor/run_log.h"

namespace hive {

namespace {

namespace kr = audit::kernel;

constexpr std::size_t kMaxPendingEvents = 256;
constexpr std::uint32_t kUnsetId = 4294967295u;  // AUDIT_UID_UNSET, AUDIT_SID_UNSET

std::optional<std::uint64_t> read_number(const char* path) {
    std::string text;
    if (!read_kernel_file(path, text)) return std::nullopt;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || errno != 0 || *end != '\0') return std::nullopt;
    return v;
}

std::string syscall_name(const kr::Record& r) {
    const auto nr = r.number("syscall");
    if (!nr) return "";
    const auto arch = r.number("arch", 16);
    if (arch) {
        if (char* name = seccomp_syscall_resolve_num_arch(std::uint32_t(*arch), int(*nr))) {
            std::string s = name;
            std::free(name);
            return s;
        }
    }
    return "syscall " + std::to_string(*nr);
}

std::string target_of(const kr::Record& r) {
    if (const std::string* p = r.get("path")) return *p;
    if (const std::string* n = r.get("name")) return *n;
    if (const std::string* a = r.get("daddr")) {
        const std::string* port = r.get("dest");
        return *a + (port ? ":" + *port : "");
    }
    if (const std::string* port = r.get("dest")) return "port " + *port;
    if (const std::string* o = r.get("opid")) return "pid " + *o;
    return "";
}

std::string rule_of_blockers(const std::string& b) {
    if (b.rfind("fs.", 0) == 0) return "the kernel (Landlock): security.filesystem";
    if (b.rfind("net.", 0) == 0) return "the kernel (Landlock): security.network";
    return "the kernel (Landlock): the sandbox's scope";
}

}  // namespace

KernelTrail KernelTrail::open(KernelTrailMode mode, const std::string& run_id, int landlock_abi) {
    KernelTrail t;
    t.run_id_ = run_id;
    if (mode == KernelTrailMode::off) {
        t.reason_ = "off (security.monitoring.kernel_trail: off)";
        return t;
    }
    auto reader = kr::open_reader();
    if (!reader) {
        t.reason_ = reader.error().message;
        return t;
    }
    auto control = kr::open_control();
    if (!control) {
        t.reason_ = control.error().message;
        return t;
    }
    auto st = kr::get_status(control->get());
    if (!st) {
        t.reason_ = st.error().message;
        return t;
    }
    if (st->enabled == 0) {
        t.reason_ = "the kernel's audit is off (`auditctl -e 1` turns it on; hive-py leaves it as it is)";
        return t;
    }
    // A fresh audit session for the run (see the header): the login uid written back unchanged (or ours
    // where none is set), which makes the kernel allocate a new session id.
    const auto login = read_number("/proc/self/loginuid");
    const std::uint64_t uid = login && *login != kUnsetId ? *login : std::uint64_t(getuid());
    const std::string text = std::to_string(uid);
    UniqueFd lf(::open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC));
    ssize_t w = -1;
    int werr = 0;
    if (lf.valid()) {
        w = write(lf.get(), text.data(), text.size());
        werr = errno;
    } else {
        werr = errno;
    }
    if (w == ssize_t(text.size())) {
        if (auto ses = read_number("/proc/self/sessionid"); ses && *ses != kUnsetId && *ses != 0)
            t.session_ = std::uint32_t(*ses);
        else
            t.session_note_ = "/proc/self/sessionid unreadable after setting the login uid";
    } else {
        t.session_note_ = Error::from_errno(lf.valid() ? "write" : "open", "/proc/self/loginuid " + text, werr).message +
                          ": no audit session of the run's own; Landlock's denials are attributed by the init's "
                          "domain, seccomp's kills cannot be";
    }
    t.landlock_logged_ = landlock_abi >= 7;
    t.lost_at_start_ = st->lost;
    t.marker_ = "hive-py run=" + run_id + " op=end";
    t.sock_ = std::move(*reader);
    t.control_ = std::move(*control);
    t.reason_.clear();
    return t;
}

KernelTrail KernelTrail::for_records(std::uint32_t session, pid_t init) {
    KernelTrail t;
    t.session_ = session;
    t.init_ = init;
    t.by_hand_ = true;
    t.marker_seen_ = true;
    return t;
}

void KernelTrail::on_readable(RunLog& log) {
    if (!active()) return;
    alignas(nlmsghdr) char buf[kr::kMaxRecordText + 2 * NLMSG_HDRLEN + 64];
    for (int i = 0; i < 512; ++i) {
        sockaddr_nl from{};
        socklen_t fl = sizeof from;
        const ssize_t n = recvfrom(sock_.get(), buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {  // the kernel dropped records for this socket
                overflowed_ = true;
                continue;
            }
            return;  // EAGAIN: all taken
        }
        if (from.nl_pid != 0) continue;  // only the kernel speaks on this group
        int left = int(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            const std::size_t len = h->nlmsg_len - NLMSG_HDRLEN;
            const std::string_view text(static_cast<const char*>(NLMSG_DATA(h)), len);
            if (auto r = kr::parse(h->nlmsg_type, text)) take(log, *r);
        }
    }
}

void KernelTrail::take(RunLog& log, const kr::Record& r) {
    switch (r.type) {
        case kr::kLandlockAccess: {
            const std::string* domain = r.get("domain");
            const std::string* blockers = r.get("blockers");
            if (!domain || !blockers) return;
            if (pending_.find(r.serial) == pending_.end()) {
                pending_order_.push_back(r.serial);
                if (pending_order_.size() > kMaxPendingEvents) {
                    const std::uint64_t oldest = pending_order_.front();
                    pending_order_.pop_front();
                    resolve(log, oldest, false, -1, "");
                }
            }
            auto& v = pending_[r.serial];
            if (v.size() < 16) v.push_back(Pending{*domain, *blockers, target_of(r)});
            return;
        }
        case kr::kLandlockDomain: {
            const std::string* domain = r.get("domain");
            const std::string* status = r.get("status");
            if (!domain || !status) return;
            if (*status == "allocated") {
                if (auto pid = r.number("pid"); pid && init_ > 0 && *pid == std::uint64_t(init_)) {
                    domains_.insert(*domain);
                    init_domain_ = *domain;
                }
            } else if (*status == "deallocated" && domains_.count(*domain)) {
                if (auto d = r.number("denials")) domain_denials_ += *d;
                if (*domain == init_domain_) domain_ended_ = true;
            }
            return;
        }
        case kr::kSyscall: {
            if (pending_.find(r.serial) == pending_.end()) return;
            const auto ses = r.number("ses");
            const bool ours = session_ != 0 && ses && *ses == session_;
            const auto pid = r.number("pid");
            resolve(log, r.serial, ours, pid ? std::int64_t(*pid) : -1, syscall_name(r));
            return;
        }
        case kr::kEndOfEvent:
            if (pending_.find(r.serial) != pending_.end()) resolve(log, r.serial, false, -1, "");
            return;
        case kr::kSeccomp:
            seccomp_record(log, r);
            return;
        case kr::kTrustedApp: {
            const std::string* msg = r.get("msg");
            const auto pid = r.number("pid");
            if (msg && *msg == marker_ && pid && *pid == std::uint64_t(getpid())) marker_seen_ = true;
            return;
        }
        default:
            return;
    }
}

// The denials of one event, now that its SYSCALL record (or its end) says whose they are: ours when the
// event's session is the run's, or when the denying domain is one of the run's.
void KernelTrail::resolve(RunLog& log, std::uint64_t serial, bool ours, std::int64_t pid, const std::string& syscall) {
    auto it = pending_.find(serial);
    if (it == pending_.end()) return;
    for (const Pending& p : it->second) {
        if (ours) domains_.insert(p.domain);  // a domain the script nested inside ours
        if (ours || domains_.count(p.domain)) landlock_denial(log, p, pid, syscall);
    }
    pending_.erase(it);
    for (auto o = pending_order_.begin(); o != pending_order_.end(); ++o)
        if (*o == serial) {
            pending_order_.erase(o);
            break;
        }
}

void KernelTrail::landlock_denial(RunLog& log, const Pending& p, std::int64_t pid, const std::string& syscall) {
    ++landlock_denials_;
    const std::string event = "landlock." + p.blockers;
    if (listed_ >= kMaxListed) {
        ++unlisted_[event];
        return;
    }
    ++listed_;
    json::Object o;
    o.add("run_id", log.run_id()).add("seq", std::int64_t(log.next_seq())).add("timestamp", iso_now())
        .add("host_pid", pid).add("event", event).add("kind", "kernel").add("source", "kernel")
        .add("args", std::vector<std::string>{p.target}).add("syscall", syscall).add("domain", p.domain)
        .add("decision", "denied_by_kernel");
    const std::string line = o.str();
    log.event(line, channel::Decision::denied_by_kernel);
    log.add_denial(RunLog::Denial{event, p.target, rule_of_blockers(p.blockers), channel::Decision::denied_by_kernel});
    log.security("medium", "kernel_denial",
                 "the kernel (Landlock) refused " + p.blockers + (p.target.empty() ? "" : " on " + p.target) +
                     " to host pid " + std::to_string(pid) + (syscall.empty() ? "" : " (" + syscall + ")"),
                 "event", line);
}

void KernelTrail::seccomp_record(RunLog& log, const kr::Record& r) {
    const auto ses = r.number("ses");
    if (session_ == 0 || !ses || *ses != session_) return;
    const auto code = r.number("code", 16);
    if (!code) return;
    const std::uint32_t action = std::uint32_t(*code) & 0xffff0000u;
    // SECCOMP_RET_KILL_PROCESS and SECCOMP_RET_KILL_THREAD; the filter's other actions are not logged.
    if (action != 0x80000000u && action != 0u) return;
    ++seccomp_kills_;
    const std::string name = syscall_name(r);
    if (listed_ >= kMaxListed) {
        ++unlisted_["seccomp.kill"];
        return;
    }
    ++listed_;
    const auto pid = r.number("pid");
    const std::string* comm = r.get("comm");
    json::Object o;
    o.add("run_id", log.run_id()).add("seq", std::int64_t(log.next_seq())).add("timestamp", iso_now())
        .add("host_pid", pid ? std::int64_t(*pid) : -1).add("event", "seccomp.kill").add("kind", "kernel")
        .add("source", "kernel").add("args", std::vector<std::string>{name}).add("comm", comm ? *comm : "")
        .add("decision", "denied_by_kernel");
    const std::string line = o.str();
    log.event(line, channel::Decision::denied_by_kernel);
    log.add_denial(RunLog::Denial{"seccomp.kill", name, "the kernel (seccomp)", channel::Decision::denied_by_kernel});
    log.security("high", "kernel_kill",
                 "the kernel (seccomp) killed host pid " + (pid ? std::to_string(*pid) : std::string("?")) +
                     " for the system call " + name,
                 "event", line);
}


void KernelTrail::finish(RunLog& log, const std::function<void()>& release, int wait_ms) {
    if ((!active() && !by_hand_) || finished_) return;
    finished_ = true;
    Status marker = by_hand_ ? Status{} : kr::send_message(control_.get(), kr::kTrustedApp, marker_);
    const bool sent = marker.ok();
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (sent && !marker_seen_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{sock_.get(), POLLIN, 0};
        const int r = poll(&p, 1, int(left.count()));
        if (r < 0 && errno != EINTR) break;
        if (r > 0) on_readable(log);
    }
    on_readable(log);
    // Records the kernel's audit dropped (its backlog is full: a flood of denials, or a busy host).
    if (!by_hand_)
        if (auto st = kr::get_status(control_.get()); st && st->lost > lost_at_start_) lost_during_ = st->lost - lost_at_start_;
    // Then the run's domain tells the exact count: Landlock counts its denials before audit may drop
    // a record, and logs the count when the domain is freed, some ms to a few hundred ms after the
    // run's last process (a workqueue, after an RCU grace period). Waited for only when records were
    // dropped: a run whose OpenSSL was refused its config file should not pay for it.
    if (lost_during_ && !init_domain_.empty()) release();
    const auto domain_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (lost_during_ && !init_domain_.empty() && !domain_ended_) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(domain_until - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{sock_.get(), POLLIN, 0};
        const int r = poll(&p, 1, int(left.count()));
        if (r < 0 && errno != EINTR) break;
        if (r > 0) on_readable(log);
    }
    while (!pending_order_.empty()) resolve(log, pending_order_.front(), false, -1, "");
    if (domain_ended_ && domain_denials_ > landlock_denials_)
        log.security("high", "kernel_trail",
                     "the kernel counted " + std::to_string(domain_denials_) + " Landlock denials in the run's domain, "
                     "of which " + std::to_string(domain_denials_ - landlock_denials_) +
                     " reached hive-py as no record: the kernel's audit dropped them (its backlog limit; `auditctl "
                     "-b` raises it)");
    if (lost_during_)
        log.security("medium", "kernel_trail",
                     "the kernel's audit dropped " + std::to_string(lost_during_) +
                         " records (of any process on the host) during the run: its counts may miss some");
    if (!unlisted_.empty()) {
        std::string what;
        std::uint64_t total = 0;
        for (const auto& [k, n] : unlisted_) {
            what += (what.empty() ? "" : ", ") + k + " x" + std::to_string(n);
            total += n;
        }
        log.security("medium", "kernel_denial",
                     std::to_string(total) + " more of the kernel's refusals, counted but not written one by one: " + what);
    }
    if (overflowed_)
        log.security("high", "kernel_trail",
                     "the kernel dropped audit records meant for hive-py (its socket's buffer was full): the "
                     "run's kernel denials and kills counted are a lower bound");
    if (!sent)
        log.security("medium", "kernel_trail",
                     marker.error().message + " (the end marker): records still on their way may be missing");
    else if (!marker_seen_)
        log.security("medium", "kernel_trail",
                     "the end marker did not come back from the kernel within " + std::to_string(wait_ms) +
                         " ms: records still on their way may be missing");
}

std::string KernelTrail::json() const {
    json::Object o;
    if (!active() && !by_hand_) {
        o.add("state", reason_.rfind("off", 0) == 0 ? "off" : "unavailable").add("reason", reason_);
        return o.str();
    }
    o.add("state", "collected").add("source", "kernel audit (netlink, AUDIT_NLGRP_READLOG)");
    if (session_) o.add("audit_session", std::int64_t(session_));
    else o.add("note", session_note_);
    o.add("landlock", landlock_logged_ ? "logged by the kernel" : "not logged by this kernel (Landlock ABI < 7)")
        .add("landlock_denials", std::int64_t(landlock_denials_)).add("seccomp_kills", std::int64_t(seccomp_kills_))
        .add("listed", std::int64_t(listed_));
    // The kernel's own count of the domain's denials, when its end was seen: exact even where audit
    // dropped records.
    if (domain_ended_) o.add("landlock_domain_denials", std::int64_t(domain_denials_));
    if (lost_during_) o.add("kernel_records_lost", std::int64_t(lost_during_));
    const bool all_landlock = !domain_ended_ || domain_denials_ <= landlock_denials_;
    o.add("complete", marker_seen_ && !overflowed_ && lost_during_ == 0 && all_landlock);
    return o.str();
}

}  // namespace hive
