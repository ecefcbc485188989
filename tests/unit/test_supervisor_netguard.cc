// The network guard's plan for one seccomp user notification (plan_notification, which
// NetGuard::receive acts on), with the script's memory faked: what the parent reads of it, how often,
// and what it answers. tests/e2e/test_network.cc drives the same through a real sandbox;
// tests/fuzz/fuzz_notify.cc fuzzes it.
#include <arpa/inet.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/syscall.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "supervisor/netguard.h"

using namespace hive;

namespace {

constexpr std::uint64_t kAddr = 0x7f0000001000;

struct Script {
    std::string mem;  // the script's memory at kAddr (nothing mapped past it)
    bool live = true;
    int reads = 0, checks = 0;
    NotifyPlan plan(const seccomp_notif& req, const Resolved& r, const std::vector<int>& blocked = {}) {
        auto read = [&](pid_t, std::uint64_t addr, void* buf, std::size_t len) -> long {
            ++reads;
            if (addr < kAddr || addr - kAddr >= mem.size()) return -1;
            const std::size_t n = std::min<std::size_t>(len, mem.size() - (addr - kAddr));
            std::memcpy(buf, mem.data() + (addr - kAddr), n);
            return long(n);
        };
        auto valid = [&] {
            ++checks;
            mem.assign(mem.size(), '\xff');  // another thread rewrites the address once it was read
            return live;
        };
        return plan_notification(req, r, blocked, read, valid);
    }
};

seccomp_notif connect_req(std::uint64_t fd, std::uint64_t len, std::uint64_t addr = kAddr) {
    seccomp_notif req{};
    req.id = 9;
    req.pid = 4242;
    req.data.nr = __NR_connect;
    req.data.args[0] = fd;
    req.data.args[1] = addr;
    req.data.args[2] = len;
    return req;
}

std::string v4(const char* ip, int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(std::uint16_t(port));
    inet_pton(AF_INET, ip, &a.sin_addr);
    return std::string(reinterpret_cast<const char*>(&a), sizeof a);
}

Resolved resolved() {
    Resolved r;
    r.by_domain["example.org"] = {"93.184.216.34"};
    r.domain_of["93.184.216.34"] = "example.org";
    return r;
}

}  // namespace

TEST_CASE("netguard plan: an allowed address is read once and connected as read, on the script's socket", "[netguard]") {
    Script s{v4("93.184.216.34", 443)};
    const NotifyPlan p = s.plan(connect_req(0xffffffff00000007ull, sizeof(sockaddr_in)), resolved());
    CHECK(p.action == NotifyPlan::Action::Connect);
    CHECK(s.reads == 1);
    CHECK(s.checks == 1);
    CHECK(p.sockfd == 7);  // the kernel's int: the upper half of the register is not the script's fd
    CHECK(p.len == sizeof(sockaddr_in));
    // The copy the parent connects to is the bytes before the rewrite.
    CHECK(std::memcmp(&p.ss, v4("93.184.216.34", 443).data(), sizeof(sockaddr_in)) == 0);
    CHECK(p.verdict.domain == "example.org");
    CHECK(p.verdict.port == 443);
}

TEST_CASE("netguard plan: a blocked port or another address is EPERM with the reason", "[netguard]") {
    Script s{v4("93.184.216.34", 25)};
    NotifyPlan p = s.plan(connect_req(3, sizeof(sockaddr_in)), resolved(), {25});
    CHECK(p.action == NotifyPlan::Action::Deny);
    CHECK(p.error == EPERM);
    CHECK(p.reason == "port is in security.network.blocked_ports");
    CHECK(p.verdict.address == "93.184.216.34");
    Script t{v4("10.1.2.3", 443)};
    p = t.plan(connect_req(3, sizeof(sockaddr_in)), resolved(), {25});
    CHECK(p.action == NotifyPlan::Action::Deny);
    CHECK(p.reason == "address is not one of security.network.allowed_domains");
}

TEST_CASE("netguard plan: a short, failed or too small read is EFAULT, and the notification is not asked after", "[netguard]") {
    SECTION("short: the address runs into unmapped memory") {
        Script s{v4("93.184.216.34", 443).substr(0, 10)};
        const NotifyPlan p = s.plan(connect_req(3, sizeof(sockaddr_in)), resolved());
        CHECK(p.action == NotifyPlan::Action::Deny);
        CHECK(p.error == EFAULT);
        CHECK(p.reason == "address unreadable");
        CHECK(s.reads == 1);
        CHECK(s.checks == 0);
    }
    SECTION("unmapped") {
        Script s{v4("93.184.216.34", 443)};
        const NotifyPlan p = s.plan(connect_req(3, sizeof(sockaddr_in), kAddr - 4096), resolved());
        CHECK(p.error == EFAULT);
        CHECK(s.checks == 0);
    }
    SECTION("shorter than a family: not even read") {
        for (std::uint64_t len : {0ull, 1ull, 1ull << 32, (1ull << 32) + 1}) {
            Script s{v4("93.184.216.34", 443)};
            const NotifyPlan p = s.plan(connect_req(3, len), resolved());
            CHECK(p.error == EFAULT);
            CHECK(s.reads == 0);
        }
    }
}

TEST_CASE("netguard plan: the length is the kernel's socklen_t, at most a sockaddr_storage", "[netguard]") {
    Script s{v4("93.184.216.34", 443) + std::string(sizeof(sockaddr_storage), '\0')};
    // The upper 32 bits are not the script's length; a huge length reads a sockaddr_storage only.
    NotifyPlan p = s.plan(connect_req(3, (5ull << 32) | sizeof(sockaddr_in)), resolved());
    CHECK(p.action == NotifyPlan::Action::Connect);
    CHECK(p.len == sizeof(sockaddr_in));
    Script t{v4("93.184.216.34", 443) + std::string(sizeof(sockaddr_storage), '\0')};
    p = t.plan(connect_req(3, 0xffffffffu), resolved());
    CHECK(p.action == NotifyPlan::Action::Connect);
    CHECK(p.len == sizeof(sockaddr_storage));
}

TEST_CASE("netguard plan: not connect() is ENOSYS unread, a dead notification gets no answer", "[netguard]") {
    Script s{v4("93.184.216.34", 443)};
    seccomp_notif req = connect_req(3, sizeof(sockaddr_in));
    req.data.nr = __NR_socket;
    CHECK(s.plan(req, resolved()).action == NotifyPlan::Action::NotConnect);
    CHECK(s.reads == 0);
    Script dead{v4("93.184.216.34", 443)};
    dead.live = false;
    CHECK(dead.plan(connect_req(3, sizeof(sockaddr_in)), resolved()).action == NotifyPlan::Action::Gone);
    CHECK(dead.reads == 1);
}
