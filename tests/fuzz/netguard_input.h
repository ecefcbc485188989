// What the network guard's harnesses (fuzz_netguard, fuzz_notify) take first from their input, in this
// order: up to four resolved addresses (IPv4 or IPv6, each under a domain of its own), then up to four
// blocked ports.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "fuzz_input.h"
#include "supervisor/netguard.h"

namespace hivefuzz {

inline hive::Resolved take_resolved(Input& in) {
    hive::Resolved r;
    for (int n = in.byte() % 5, i = 0; i < n; ++i) {
        char buf[INET6_ADDRSTRLEN] = {};
        if (in.byte() & 1) {
            auto a = in.raw<in6_addr>();
            inet_ntop(AF_INET6, &a, buf, sizeof buf);
        } else {
            auto a = in.raw<in_addr>();
            inet_ntop(AF_INET, &a, buf, sizeof buf);
        }
        std::string domain = "d" + std::to_string(i) + ".example.org";
        r.by_domain[domain].push_back(buf);
        r.domain_of.emplace(buf, domain);
    }
    return r;
}

inline std::vector<int> take_blocked_ports(Input& in) {
    std::vector<int> blocked;
    for (int n = in.byte() % 5; n > 0; --n) blocked.push_back(in.raw<std::uint16_t>());
    return blocked;
}

}  // namespace hivefuzz
