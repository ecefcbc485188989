// The seccomp filter's rules, written once. They are compiled to BPF with libseccomp, either at build time
// (hive-seccomp-gen, host/tools/: the templates seccomp.cc uses) or at run time when no template fits;
// or only described in words (seccomp::summary) when a template is used.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace hive::seccomp {

// Everything in a policy the filter depends on, besides the protected fds: 2^5 shapes.
struct Shape {
    bool chmod = false;  // filesystem.blocked_operations: chmod
    bool chown = false;  // chown
    bool del = false;    // delete
    bool inet = false;   // network.allowed_domains is not empty
    bool exec = false;   // execution.allow_subprocess

    static constexpr unsigned kCount = 32;
    unsigned index() const {
        return unsigned(chmod) | unsigned(chown) << 1 | unsigned(del) << 2 | unsigned(inet) << 3 |
               unsigned(exec) << 4;
    }
    static Shape from_index(unsigned i) { return {bool(i & 1), bool(i & 2), bool(i & 4), bool(i & 8), bool(i & 16)}; }
};

struct Compiled {
    std::vector<sock_filter> program;
    std::vector<std::string> summary;  // human-readable rule groups
    std::vector<std::string> unknown;  // syscall names libseccomp does not know (left unfiltered)
};

// Builds the filter with libseccomp and exports it (see seccomp.h for the rules).
Result<Compiled> compile(const Shape& shape, const std::vector<int>& protected_fds);

// The summary compile() gives for the same input, without libseccomp. `unknown`: the names compile()
// reported unknown for this shape.
std::vector<std::string> describe(const Shape& shape, const std::vector<int>& protected_fds,
                                  const std::vector<std::string>& unknown);

// The user-notification filter for connect() (seccomp.h: prepare_connect_notify).
Result<std::vector<sock_filter>> compile_connect_notify();

}  // namespace hive::seccomp
