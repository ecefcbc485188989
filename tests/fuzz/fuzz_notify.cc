// The network guard's handling of one seccomp user notification (host/supervisor/netguard.h,
// plan_notification, which NetGuard::receive acts on): the notification as the script's thread makes it
// (pid, data.nr, data.args: the socket, the address pointer and the length, any 64-bit values) and the
// script's memory the parent reads the sockaddr from (any bytes, mapped or not around the pointer, so
// that reads are complete, short or fail; lengths 0 to 2^32-1; any family; truncated addresses), and
// whether the notification is still live after the read.
//
// What must hold: only connect() is handled (anything else is ENOSYS, and nothing is read); the address
// is read at most once, from the notification's pid and pointer, never more than sockaddr_storage; a
// short or failed read is EFAULT; the liveness check comes after a complete read and a dead
// notification gets no answer; a connect is planned only for an address check_address allows, on the
// exact bytes read (changing the script's memory afterwards changes nothing), on the script's socket
// number as the kernel gave it; every refusal has an errno and a reason.
//
// Input: byte flags (bit 0: still live), byte n1, n1 x (family byte, 4 or 16 address bytes): the
// resolved addresses; byte n2, n2 x u16: blocked ports; a struct seccomp_notif (raw); byte m (the
// memory starts m - 128 bytes from the pointer: before, at or after it); the rest: the memory's bytes.
// fuzz-link: hive_layers hive_policy hive_common
// fuzz-sources: host/supervisor/netguard.cc
#include <arpa/inet.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "netguard_input.h"
#include "supervisor/netguard.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    hivefuzz::Input in(data, size);
    const std::uint8_t flags = in.byte();
    hive::Resolved r = hivefuzz::take_resolved(in);
    std::vector<int> blocked = hivefuzz::take_blocked_ports(in);
    const seccomp_notif req = in.raw<seccomp_notif>();
    // The script's memory: [base, base + mem.size()), anything else unmapped.
    const std::uint64_t ptr = req.data.args[1];
    const std::uint64_t base = ptr + std::uint64_t(std::int64_t(in.byte()) - 128);
    std::string mem = in.rest();
    const std::string mem_before = mem;

    int reads = 0, checks = 0;
    std::uint64_t read_addr = 0;
    std::size_t read_len = 0;
    auto read_memory = [&](pid_t pid, std::uint64_t addr, void* buf, std::size_t len) -> long {
        ++reads;
        HIVE_FUZZ_CHECK(checks == 0);  // the liveness check is after the read, never before
        HIVE_FUZZ_CHECK(pid == pid_t(req.pid));
        HIVE_FUZZ_CHECK(len <= sizeof(sockaddr_storage));
        read_addr = addr;
        read_len = len;
        // As process_vm_readv: the bytes up to the first unmapped one, EFAULT if that is the first.
        if (addr < base || addr - base >= mem.size()) {
            errno = EFAULT;
            return -1;
        }
        const std::size_t n = std::min<std::size_t>(len, mem.size() - std::size_t(addr - base));
        std::memcpy(buf, mem.data() + (addr - base), n);
        return long(n);
    };
    auto still_valid = [&] {
        ++checks;
        // Another thread of the script rewrites the address once it has been read: too late.
        for (auto& c : mem) c = char(~c);
        return (flags & 1) != 0;
    };
    const hive::NotifyPlan p = hive::plan_notification(req, r, blocked, read_memory, still_valid);

    HIVE_FUZZ_CHECK(reads <= 1 && checks <= 1);
    if (req.data.nr != __NR_connect) {
        HIVE_FUZZ_CHECK(p.action == hive::NotifyPlan::Action::NotConnect);
        HIVE_FUZZ_CHECK(reads == 0 && checks == 0);
        return 0;
    }
    HIVE_FUZZ_CHECK(p.action != hive::NotifyPlan::Action::NotConnect);
    const std::size_t want_len = std::min<std::uint64_t>(std::uint32_t(req.data.args[2]), sizeof(sockaddr_storage));
    HIVE_FUZZ_CHECK(p.len == want_len);
    if (reads) HIVE_FUZZ_CHECK(read_addr == ptr && read_len == want_len);
    const bool complete = reads == 1 && ptr >= base && ptr - base < mem_before.size() &&
                          mem_before.size() - std::size_t(ptr - base) >= want_len;
    if (want_len < sizeof(sa_family_t)) HIVE_FUZZ_CHECK(reads == 0);
    // The liveness check is asked exactly when the read was complete.
    HIVE_FUZZ_CHECK(checks == (complete ? 1 : 0));

    switch (p.action) {
    case hive::NotifyPlan::Action::NotConnect: break;
    case hive::NotifyPlan::Action::Gone:
        HIVE_FUZZ_CHECK(complete && !(flags & 1));
        break;
    case hive::NotifyPlan::Action::Deny:
        HIVE_FUZZ_CHECK(!p.reason.empty() && p.error > 0);
        if (!complete) {
            HIVE_FUZZ_CHECK(p.error == EFAULT && p.reason == "address unreadable");
            HIVE_FUZZ_CHECK(p.verdict.address.empty() && p.verdict.domain.empty() && p.verdict.port == 0);
        } else {
            HIVE_FUZZ_CHECK(flags & 1);
            HIVE_FUZZ_CHECK(!p.verdict.allowed && p.error == p.verdict.error && p.reason == p.verdict.reason);
        }
        break;
    case hive::NotifyPlan::Action::Connect: {
        HIVE_FUZZ_CHECK(complete && (flags & 1));
        HIVE_FUZZ_CHECK(p.sockfd == int(std::uint32_t(req.data.args[0])));
        // The copy is the bytes as they were read, zero past len, and it is what was checked.
        sockaddr_storage want{};
        std::memcpy(&want, mem_before.data() + (ptr - base), want_len);
        HIVE_FUZZ_CHECK(std::memcmp(&want, &p.ss, sizeof want) == 0);
        HIVE_FUZZ_CHECK(p.verdict.allowed && p.error == 0 && p.reason.empty());
        HIVE_FUZZ_CHECK(p.ss.ss_family == AF_INET || p.ss.ss_family == AF_INET6);
        HIVE_FUZZ_CHECK(p.len >= (p.ss.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
        const hive::AddressVerdict again = hive::check_address(want, want_len, r, blocked);
        HIVE_FUZZ_CHECK(again.allowed && again.address == p.verdict.address && again.port == p.verdict.port);
        auto it = r.domain_of.find(p.verdict.address);
        HIVE_FUZZ_CHECK(it != r.domain_of.end() && it->second == p.verdict.domain, p.verdict.address);
        HIVE_FUZZ_CHECK(std::find(blocked.begin(), blocked.end(), p.verdict.port) == blocked.end());
        break;
    }
    }
    return 0;
}
