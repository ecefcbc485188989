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

#include <linux/seccomp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "policy/policy.h"
#include "sandbox/seccomp.h"

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

// What the guard decides about one connect() address, from the `len` bytes it read out of the script's
// memory into `ss` (len <= sizeof ss): no syscall, so it is tested and fuzzed on its own
// (tests/fuzz/fuzz_netguard.cc). A v4-mapped IPv6 address is matched as the IPv4 address it maps.
struct AddressVerdict {
    bool allowed = false;
    int error = 0;        // the script's errno when refused
    std::string reason;   // why refused ("" when allowed)
    std::string address;  // text form ("" when the family is not TCP/IP)
    std::string domain;   // the allowed domain the address belongs to
    int port = 0;
};
AddressVerdict check_address(const sockaddr_storage& ss, std::size_t len, const Resolved& r,
                             const std::vector<int>& blocked_ports);

// What the guard does with one seccomp user notification, decided from the notification as the kernel
// handed it (pid, data.nr and data.args as the script's thread set them) and the bytes of its address:
// no syscall of its own, so it is fuzzed (tests/fuzz/fuzz_notify.cc). receive() makes the calls:
// `read_memory(pid, addr, buf, len)` is process_vm_readv (the bytes read, -1 on error), called at most
// once, and `still_valid()` is SECCOMP_IOCTL_NOTIF_ID_VALID, asked only after a complete read.
struct NotifyPlan {
    enum class Action {
        NotConnect,  // not connect(): answered ENOSYS, nothing recorded
        Deny,        // answered `error`, recorded as denied with `reason`
        Gone,        // the notification died while its address was read: no answer, nothing recorded
        Connect,     // the parent connects its own socket to `ss` (`len` bytes) and installs it at `sockfd`
    };
    Action action = Action::NotConnect;
    int sockfd = -1;
    int error = 0;
    std::string reason;
    AddressVerdict verdict;  // the address's (empty when it was not read)
    sockaddr_storage ss{};   // the one copy of the address read, zero past `len`
    std::size_t len = 0;
};
using ReadMemory = std::function<long(pid_t pid, std::uint64_t addr, void* buf, std::size_t len)>;
NotifyPlan plan_notification(const seccomp_notif& req, const Resolved& r, const std::vector<int>& blocked_ports,
                             const ReadMemory& read_memory, const std::function<bool()>& still_valid);

// The file status flags in the text of /proc/<pid>/fdinfo/<fd> ("flags:\t02004002", octal); 0 if absent.
int fdinfo_flags(std::string_view text);

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
    // Takes one notification from the listener (fd() is readable). A refusal is answered at once; an
    // allowed address gets the parent's own non-blocking connect, answered by progress() when it
    // completes or when `connect_deadline` passes (ETIMEDOUT). Decisions made go to `out`.
    void receive(std::vector<NetDecision>& out, std::chrono::steady_clock::time_point connect_deadline);
    // The parent's connects in progress, for the supervisor's poll (POLLOUT), and the earliest deadline.
    void add_pollfds(std::vector<pollfd>& fds) const;
    std::optional<std::chrono::steady_clock::time_point> next_deadline() const;
    std::size_t pending() const { return pending_.size(); }
    // Answers the connects that completed, failed or ran out of time.
    void progress(std::vector<NetDecision>& out);
    // The run is over: the connects still in progress are answered ECONNABORTED and recorded as cut off.
    void abandon(std::vector<NetDecision>& out);
    int allowed() const { return allowed_; }
    int denied() const { return denied_; }

private:
    struct Pending {
        std::uint64_t id;  // the notification
        int sockfd;        // the script's socket, which ours replaces
        UniqueFd socket;   // ours, connecting
        NetDecision decision;
        std::chrono::steady_clock::time_point deadline;
    };
    void finish(Pending& p, int err, std::vector<NetDecision>& out);

    const Policy& policy_;
    Resolved resolved_;
    UniqueFd listener_;
    std::vector<Pending> pending_;
    int allowed_ = 0, denied_ = 0;
};

// Everything a run with allowed domains needs, made in the parent before the fork: the generated hosts
// and resolv.conf (in a private directory removed with this object) and where they are bound in the
// sandbox, the extra read-only paths, the connect-notification filter and the guard.
struct NetworkSetup {
    NetworkSetup() = default;
    NetworkSetup(const NetworkSetup&) = delete;
    NetworkSetup& operator=(const NetworkSetup&) = delete;
    ~NetworkSetup();
    std::string dir;
    std::vector<std::pair<std::string, std::string>> binds;  // (generated file, /etc/...)
    std::vector<std::string> read_paths;                     // for Landlock
    std::vector<std::string> addresses;                      // every address the domains resolved to
    std::vector<std::string> unresolved;                     // domains that resolved to nothing
    std::string json = "null";                               // {domain: [addresses]} for the run record
    seccomp::Prepared connect_notify;
    std::optional<NetGuard> guard;
};

// nullptr when the policy allows no domain (no network at all).
Result<std::unique_ptr<NetworkSetup>> setup_network(const Policy& policy);

}  // namespace hive
