// The network guard's handling of what the script hands it (host/supervisor/netguard.h): the connect()
// address as read from the script's memory (check_address: any length, family and bytes), the
// /proc/<pid>/fdinfo text of the script's socket (fdinfo_flags) and the generated hosts file. An
// address is allowed only when it is one the allowed domains resolved to, on a port not blocked, and
// then the bytes the parent connects to are that address.
//
// The notification itself (the syscall, its arguments, the read of the address from the script's
// memory) is tests/fuzz/fuzz_notify.cc's; NetGuard::receive/progress/finish, which act on its plan with
// ioctls and sockets, are driven by tests/e2e/test_network.cc.
//
// Input: byte n1, n1 x (family byte, 4 or 16 address bytes): the resolved addresses; byte n2, n2 x u16:
// blocked ports; byte len; the sockaddr bytes; the rest: fdinfo text.
// fuzz-link: hive_layers hive_policy hive_common
// fuzz-sources: host/supervisor/netguard.cc
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "fuzz_input.h"
#include "netguard_input.h"
#include "supervisor/netguard.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    hivefuzz::Input in(data, size);
    hive::Resolved r = hivefuzz::take_resolved(in);
    std::vector<int> blocked = hivefuzz::take_blocked_ports(in);

    sockaddr_storage ss{};
    std::size_t len = std::min<std::size_t>(in.byte(), sizeof ss);
    for (std::size_t i = 0; i < len; ++i) reinterpret_cast<unsigned char*>(&ss)[i] = in.byte();

    const hive::AddressVerdict v = hive::check_address(ss, len, r, blocked);
    if (!v.allowed) {
        HIVE_FUZZ_CHECK(v.error == EPERM && !v.reason.empty());
    } else {
        HIVE_FUZZ_CHECK(v.reason.empty() && v.error == 0);
        auto it = r.domain_of.find(v.address);
        HIVE_FUZZ_CHECK(it != r.domain_of.end() && it->second == v.domain, v.address);
        HIVE_FUZZ_CHECK(std::find(blocked.begin(), blocked.end(), v.port) == blocked.end());
        // What the parent will connect to is the address it matched, on the port it checked.
        if (ss.ss_family == AF_INET) {
            HIVE_FUZZ_CHECK(len >= sizeof(sockaddr_in));
            auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
            in_addr want{};
            HIVE_FUZZ_CHECK(inet_pton(AF_INET, v.address.c_str(), &want) == 1, v.address);
            HIVE_FUZZ_CHECK(std::memcmp(&want, &a->sin_addr, sizeof want) == 0, v.address);
            HIVE_FUZZ_CHECK(ntohs(a->sin_port) == v.port);
        } else {
            HIVE_FUZZ_CHECK(ss.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6));
            auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
            if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
                in_addr want{};
                HIVE_FUZZ_CHECK(inet_pton(AF_INET, v.address.c_str(), &want) == 1, v.address);
                HIVE_FUZZ_CHECK(std::memcmp(&want, &a->sin6_addr.s6_addr[12], 4) == 0, v.address);
            } else {
                in6_addr want{};
                HIVE_FUZZ_CHECK(inet_pton(AF_INET6, v.address.c_str(), &want) == 1, v.address);
                HIVE_FUZZ_CHECK(std::memcmp(&want, &a->sin6_addr, sizeof want) == 0, v.address);
            }
            HIVE_FUZZ_CHECK(ntohs(a->sin6_port) == v.port);
        }
    }

    // The hosts file names exactly the resolved addresses, one "ADDRESS DOMAIN" line each.
    const std::string hosts = hive::hosts_file(r);
    std::size_t lines = 0;
    for (char c : hosts) lines += c == '\n';
    std::size_t addrs = 0;
    for (const auto& [d, a] : r.by_domain) addrs += a.size();
    HIVE_FUZZ_CHECK(lines == addrs + 1, hosts);

    // fdinfo text: any bytes; a well-formed flags line reads back.
    const std::string text = in.rest();
    (void)hive::fdinfo_flags(text);
    const unsigned flags = unsigned(text.size() * 2654435761u) & 0x7fffffff;
    char line[64];
    std::snprintf(line, sizeof line, "pos:\t0\nflags:\t0%o\nmnt_id:\t15\n", flags);
    HIVE_FUZZ_CHECK(hive::fdinfo_flags(line) == int(flags), line);
    return 0;
}
