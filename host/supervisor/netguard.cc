#include "supervisor/netguard.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <charconv>
#include <string_view>

#include "common/json.h"
#include "common/kernel_file.h"

namespace hive {

Resolved resolve_domains(const Policy& policy) {
    Resolved r;
    for (const auto& d : policy.network.allowed_domains) {
        if (d.find('*') != std::string::npos) {
            r.unresolved.push_back(d);  // a wildcard names no address the parent could check
            continue;
        }
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        if (getaddrinfo(d.c_str(), nullptr, &hints, &res) != 0 || !res) {
            r.unresolved.push_back(d);
            continue;
        }
        for (addrinfo* a = res; a; a = a->ai_next) {
            char buf[INET6_ADDRSTRLEN] = {};
            if (a->ai_family == AF_INET)
                inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, buf, sizeof buf);
            else if (a->ai_family == AF_INET6)
                inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, buf, sizeof buf);
            else
                continue;
            auto& v = r.by_domain[d];
            if (std::find(v.begin(), v.end(), buf) == v.end()) v.push_back(buf);
            r.domain_of.emplace(buf, d);
        }
        freeaddrinfo(res);
    }
    return r;
}

std::string hosts_file(const Resolved& r) {
    std::string s = "# hive-py: the only names this sandbox can resolve (security.network.allowed_domains)\n";
    for (const auto& [domain, addrs] : r.by_domain)
        for (const auto& a : addrs) s += a + " " + domain + "\n";
    return s;
}

int fdinfo_flags(std::string_view text) {
    int flags = 0;
    each_line(text, [&](std::string_view line) {
        if (line.substr(0, 6) != "flags:") return;
        line.remove_prefix(6);
        while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
        std::from_chars(line.data(), line.data() + line.size(), flags, 8);
    });
    return flags;
}

AddressVerdict check_address(const sockaddr_storage& ss, std::size_t len, const Resolved& r,
                             const std::vector<int>& blocked_ports) {
    AddressVerdict v;
    auto refuse = [&](int err, std::string why) {
        v.error = err;
        v.reason = std::move(why);
        return v;
    };
    char buf[INET6_ADDRSTRLEN] = {};
    const int family = len >= sizeof(sa_family_t) ? ss.ss_family : AF_UNSPEC;
    if (family == AF_INET && len >= sizeof(sockaddr_in)) {
        auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
        v.port = ntohs(a->sin_port);
    } else if (family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
        auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, sizeof buf);
        } else {
            inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        }
        v.port = ntohs(a->sin6_port);
    } else {
        return refuse(EPERM, "address family " + std::to_string(family) + " is not TCP/IP");
    }
    v.address = buf;
    auto it = r.domain_of.find(v.address);
    if (it == r.domain_of.end()) return refuse(EPERM, "address is not one of security.network.allowed_domains");
    v.domain = it->second;
    if (std::find(blocked_ports.begin(), blocked_ports.end(), v.port) != blocked_ports.end())
        return refuse(EPERM, "port is in security.network.blocked_ports");
    v.allowed = true;
    return v;
}

NetGuard::NetGuard(const Policy& policy, Resolved resolved) : policy_(policy), resolved_(std::move(resolved)) {}

namespace {

void respond(int fd, std::uint64_t id, int error) {
    seccomp_notif_resp resp{};
    resp.id = id;
    resp.error = error ? -error : 0;
    resp.val = 0;
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

// The script's socket's file status flags (O_NONBLOCK), from /proc/<pid>/fdinfo ("flags:\t02004002").
// Read with read(2), as the other /proc files (an ifstream per connect was the loop's only iostream).
int remote_flags(pid_t pid, int fd) {
    std::string text;
    if (!read_kernel_file("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd), text)) return 0;
    return fdinfo_flags(text);
}

}  // namespace

NotifyPlan plan_notification(const seccomp_notif& req, const Resolved& r, const std::vector<int>& blocked_ports,
                             const ReadMemory& read_memory, const std::function<bool()>& still_valid) {
    NotifyPlan p;
    if (req.data.nr != __NR_connect) return p;
    auto deny = [&](int err, std::string reason) {
        p.action = NotifyPlan::Action::Deny;
        p.error = err;
        p.reason = std::move(reason);
        return p;
    };
    p.sockfd = int(std::uint32_t(req.data.args[0]));
    const std::uint64_t addr_ptr = req.data.args[1];
    p.len = std::min<std::uint64_t>(std::uint32_t(req.data.args[2]), sizeof(sockaddr_storage));

    // Read the address exactly once; from here on only this copy counts.
    if (p.len < sizeof(sa_family_t) || read_memory(pid_t(req.pid), addr_ptr, &p.ss, p.len) != long(p.len))
        return deny(EFAULT, "address unreadable");
    // The notification may belong to a process that died and whose pid was reused: check after reading.
    if (!still_valid()) {
        p.action = NotifyPlan::Action::Gone;
        return p;
    }
    p.verdict = check_address(p.ss, p.len, r, blocked_ports);
    if (!p.verdict.allowed) return deny(p.verdict.error, p.verdict.reason);
    p.action = NotifyPlan::Action::Connect;
    return p;
}

void NetGuard::receive(std::vector<NetDecision>& out, std::chrono::steady_clock::time_point connect_deadline) {
    seccomp_notif req{};
    if (ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) return;  // the caller died meanwhile
    auto read_memory = [](pid_t pid, std::uint64_t addr, void* buf, std::size_t len) -> long {
        iovec local{buf, len}, remote{reinterpret_cast<void*>(addr), len};
        return long(process_vm_readv(pid, &local, 1, &remote, 1, 0));
    };
    auto still_valid = [&] { return ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) == 0; };
    NotifyPlan plan = plan_notification(req, resolved_, policy_.network.blocked_ports, read_memory, still_valid);
    switch (plan.action) {
    case NotifyPlan::Action::NotConnect: respond(listener_.get(), req.id, ENOSYS); return;
    case NotifyPlan::Action::Gone: return;
    case NotifyPlan::Action::Deny:
    case NotifyPlan::Action::Connect: break;
    }
    NetDecision d;
    d.pid = pid_t(req.pid);
    d.address = plan.verdict.address;
    d.port = plan.verdict.port;
    d.domain = plan.verdict.domain;
    auto deny = [&](int err, const std::string& reason) {
        d.verdict = "denied";
        d.reason = reason;
        ++denied_;
        respond(listener_.get(), req.id, err);
        out.push_back(d);
    };
    if (plan.action == NotifyPlan::Action::Deny) return deny(plan.error, plan.reason);

    // Connect our own socket, in the host's network namespace, to the copy of the address we checked.
    // Without waiting: the script's thread waits for our answer, the rest of the run does not (its output,
    // its events, other threads' connects, the wall clock).
    UniqueFd s(socket(plan.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.valid()) return deny(errno, "the parent could not create a socket");
    Pending p{req.id, plan.sockfd, std::move(s), d, connect_deadline};
    if (connect(p.socket.get(), reinterpret_cast<sockaddr*>(&plan.ss), socklen_t(plan.len)) == 0)
        return finish(p, 0, out);
    if (errno != EINPROGRESS) return finish(p, errno, out);
    pending_.push_back(std::move(p));
}

void NetGuard::finish(Pending& p, int err, std::vector<NetDecision>& out) {
    NetDecision& d = p.decision;
    d.verdict = "allowed";
    ++allowed_;
    if (err) {
        // The network's own answer (refused, unreachable, timed out) is the script's answer.
        d.reason = std::string("connect failed: ") + strerrorname_np(err);
        respond(listener_.get(), p.id, err);
        out.push_back(d);
        return;
    }
    // Match the script's blocking mode, then put our connected socket where its socket was.
    int fl = fcntl(p.socket.get(), F_GETFL);
    if (!(remote_flags(d.pid, p.sockfd) & O_NONBLOCK)) fcntl(p.socket.get(), F_SETFL, fl & ~O_NONBLOCK);
    seccomp_notif_addfd add{};
    add.id = p.id;
    add.flags = SECCOMP_ADDFD_FLAG_SETFD;
    add.srcfd = std::uint32_t(p.socket.get());
    add.newfd = std::uint32_t(p.sockfd);
    add.newfd_flags = 0;
    if (ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
        d.reason = "connected by the parent, but the script's thread was gone";
        out.push_back(d);
        return;
    }
    d.reason = "connected by the parent";
    respond(listener_.get(), p.id, 0);
    out.push_back(d);
}

void NetGuard::add_pollfds(std::vector<pollfd>& fds) const {
    for (const auto& p : pending_) fds.push_back({p.socket.get(), POLLOUT, 0});
}

std::optional<std::chrono::steady_clock::time_point> NetGuard::next_deadline() const {
    std::optional<std::chrono::steady_clock::time_point> t;
    for (const auto& p : pending_)
        if (!t || p.deadline < *t) t = p.deadline;
    return t;
}

void NetGuard::progress(std::vector<NetDecision>& out) {
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < pending_.size();) {
        Pending& p = pending_[i];
        pollfd q{p.socket.get(), POLLOUT, 0};
        int err = -1;
        if (::poll(&q, 1, 0) == 1) {
            err = 0;
            socklen_t el = sizeof err;
            if (getsockopt(p.socket.get(), SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
        } else if (now >= p.deadline) {
            err = ETIMEDOUT;
        }
        if (err < 0) {
            ++i;
            continue;
        }
        finish(p, err, out);
        pending_.erase(pending_.begin() + std::ptrdiff_t(i));
    }
}

void NetGuard::abandon(std::vector<NetDecision>& out) {
    for (auto& p : pending_) {
        p.decision.verdict = "allowed";
        p.decision.reason = "the run ended before the connect completed";
        ++allowed_;
        respond(listener_.get(), p.id, ECONNABORTED);
        out.push_back(p.decision);
    }
    pending_.clear();
}

NetworkSetup::~NetworkSetup() {
    if (dir.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

namespace {
bool write_text(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return false;
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
}
}  // namespace

Result<std::unique_ptr<NetworkSetup>> setup_network(const Policy& policy) {
    if (policy.network.allowed_domains.empty()) return std::unique_ptr<NetworkSetup>();
    auto n = std::make_unique<NetworkSetup>();
    Resolved res = resolve_domains(policy);
    n->unresolved = res.unresolved;
    json::Object nj;
    for (auto& [d, addrs] : res.by_domain) nj.add(d, addrs);
    n->json = nj.str();
    for (auto& [addr, dom] : res.domain_of) n->addresses.push_back(addr);

    std::string t = "/var/tmp/hive-py-net-XXXXXX";
    if (!mkdtemp(t.data())) return errno_error("mkdtemp", t);
    n->dir = t;
    const std::string hosts = n->dir + "/hosts", resolv = n->dir + "/resolv.conf";
    if (!write_text(hosts, hosts_file(res)) ||
        !write_text(resolv, "# hive-py: no name server; names come from the hosts file only\n"))
        return errno_error("write", n->dir);
    n->binds = {{hosts, "/etc/hosts"}, {resolv, "/etc/resolv.conf"}};
    for (const char* f : {"/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf"})
        if (access(f, F_OK) == 0) n->read_paths.push_back(f);
    n->read_paths.push_back(hosts);
    n->read_paths.push_back(resolv);
    auto cn = seccomp::prepare_connect_notify();
    if (!cn) return cn.error();
    n->connect_notify = std::move(*cn);
    n->guard.emplace(policy, std::move(res));
    return n;
}

}  // namespace hive
