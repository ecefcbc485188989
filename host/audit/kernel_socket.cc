#include "audit/kernel_socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace hive::audit::kernel {

namespace {

bool send_request(int fd, std::uint16_t type, const void* payload, std::size_t len) {
    std::vector<char> buf(NLMSG_SPACE(len));
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
    h->nlmsg_len = std::uint32_t(NLMSG_LENGTH(len));
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST;
    h->nlmsg_seq = 1;
    if (len) std::memcpy(NLMSG_DATA(h), payload, len);
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    for (;;) {
        if (sendto(fd, buf.data(), h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0) return true;
        if (errno != EINTR) return false;
    }
}

}  // namespace

Result<UniqueFd> open_reader() {
    UniqueFd s(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT));
    if (!s.valid()) {
        if (errno == EPROTONOSUPPORT)
            return Error{"this kernel has no audit subsystem (socket(AF_NETLINK, NETLINK_AUDIT): EPROTONOSUPPORT)"};
        return errno_error("socket", "AF_NETLINK, NETLINK_AUDIT");
    }
    sockaddr_nl a{};
    a.nl_family = AF_NETLINK;
    a.nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1);
    if (bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        const int e = errno;
        return Error{Error::from_errno("bind", "NETLINK_AUDIT group AUDIT_NLGRP_READLOG", e).message +
                     (e == EPERM ? ": reading the kernel's audit records needs CAP_AUDIT_READ (a root caller)" : "")};
    }
    // Room for a burst: a script that makes the kernel refuse thousands of calls before the parent
    // wakes. Past it the kernel drops records for this socket (ENOBUFS on the next read).
    const int size = 8 << 20;
    if (setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        (void)setsockopt(s.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    return s;
}

Result<UniqueFd> open_control() {
    UniqueFd c(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT));
    if (!c.valid()) return errno_error("socket", "AF_NETLINK, NETLINK_AUDIT (requests)");
    timeval tv{0, 200 * 1000};
    if (setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        return errno_error("setsockopt", "SO_RCVTIMEO on the audit socket");
    return c;
}

Result<audit_status> get_status(int fd) {
    if (!send_request(fd, AUDIT_GET, nullptr, 0)) return errno_error("sendto", "NETLINK_AUDIT AUDIT_GET");
    alignas(nlmsghdr) char buf[8192];
    for (int tries = 0; tries < 8; ++tries) {
        sockaddr_nl from{};
        socklen_t fl = sizeof from;
        const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("recvfrom", "NETLINK_AUDIT AUDIT_GET reply");
        }
        if (from.nl_pid != 0) continue;
        int left = int(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
                const int e = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
                if (e != 0) return Error::from_errno("AUDIT_GET", "NETLINK_AUDIT", e);
            } else if (h->nlmsg_type == AUDIT_GET) {
                audit_status st{};
                std::memcpy(&st, NLMSG_DATA(h), std::min<std::size_t>(sizeof st, h->nlmsg_len - NLMSG_HDRLEN));
                return st;
            }
        }
    }
    return Error{"AUDIT_GET: no status from the kernel's audit socket"};
}

Status send_message(int fd, std::uint16_t type, const std::string& text) {
    if (!send_request(fd, type, text.c_str(), text.size() + 1))
        return errno_error("sendto", "NETLINK_AUDIT message type " + std::to_string(type));
    return {};
}

Availability availability() {
    Availability a;
    auto reader = open_reader();
    if (!reader) {
        a.detail = reader.error().message;
        return a;
    }
    auto control = open_control();
    if (!control) {
        a.detail = control.error().message;
        return a;
    }
    auto st = get_status(control->get());
    if (!st) {
        a.detail = st.error().message;
    } else if (st->enabled == 0) {
        a.detail = "the kernel's audit is off (`auditctl -e 1` turns it on; hive-py leaves it as it is)";
    } else {
        a.available = true;
        a.detail = "the kernel's audit records readable (audit " + std::string(st->enabled == 2 ? "on, locked" : "on") +
                   ", backlog limit " + std::to_string(st->backlog_limit) + ")";
    }
    return a;
}

}  // namespace hive::audit::kernel
