// The network allow-list by domain, decided in the parent.
//
// The sandbox has its own network namespace (loopback only), no connect right in Landlock, and only
// TCP sockets in seccomp. Every connect() it makes is handed to this guard by seccomp user notification:
// the guard reads the address once from the script's memory, checks it against the addresses the
// allowed domains resolved to when the run started and against blocked_ports, connects a socket of its
// own in the host's namespace, and installs that socket in place of the script's
// (SECCOMP_IOCTL_NOTIF_ADDFD with SETFD). The script never connects by itself, so changing the address
// buffer after the check (another thread racing it) changes nothing: the kernel never reads it again.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "policy/policy.h"

namespace hive {

struct Resolved {
    std::map<std::string, std::vector<std::string>> by_domain;  // domain -> addresses (text)
    std::map<std::string, std::string> domain_of;               // address -> domain
    std::vector<std::string> unresolved;                        // domains with no address (or wildcards)
};

// Resolve the policy's allowed domains with the host's resolver (in the parent, before the run).
Resolved resolve_domains(const Policy& policy);

// The hosts file the sandbox sees: exactly the allowed domains and their addresses.
std::string hosts_file(const Resolved& r);

struct NetDecision {
    pid_t pid = 0;
    std::string domain, address, verdict, reason;  // verdict: "allowed" | "denied"
    int port = 0;
};

class NetGuard {
public:
    NetGuard(const Policy& policy, Resolved resolved);
    void adopt(UniqueFd listener) { listener_ = std::move(listener); }
    int fd() const { return listener_.get(); }
    // Answer one pending notification; `connect_timeout_ms` bounds the parent's own connect.
    void handle(std::vector<NetDecision>& out, int connect_timeout_ms);
    int allowed() const { return allowed_; }
    int denied() const { return denied_; }

private:
    const Policy& policy_;
    Resolved resolved_;
    UniqueFd listener_;
    int allowed_ = 0, denied_ = 0;
};

}  // namespace hive
