// seccomp: the filter is prepared in the parent as plain BPF, so the child only makes one syscall to install
// it (no libseccomp state, no allocation between fork and the interpreter).
//
// The BPF comes from templates compiled by libseccomp at build time (hive-seccomp-gen, from the same
// seccomp_rules.cc), with the protected fd written into the instructions that compare it. Compiling at
// every run cost 1-2 ms of each start: libseccomp's code and heap were touched for the first time, and
// its allocations grew the heap that the sandbox's two processes then copied. The generator checks, for
// each of the 32 policy shapes and every fd up to kTemplateFdMax, that the patched template is the
// program libseccomp compiles, byte for byte; outside that (or on a kernel without
// SECCOMP_RET_KILL_PROCESS, where libseccomp refuses the filter) libseccomp compiles it at run time.
#include "sandbox/seccomp.h"

#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "sandbox/seccomp_rules.h"

namespace hive::seccomp {
namespace {

struct Template {
    const sock_filter* program;  // nullptr: libseccomp refused this shape at build time
    std::size_t size;
    const std::uint16_t* sites;  // the instructions whose k is the protected fd
    std::size_t nsites;
    const char* unknown;  // syscall names libseccomp did not know, comma-separated
};

#include "sandbox/seccomp_templates.inc"

bool action_available(std::uint32_t action) {
    return ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

std::vector<std::string> split_names(const char* s) {
    std::vector<std::string> v;
    std::string cur;
    for (; *s; ++s) {
        if (*s == ',') {
            v.push_back(cur);
            cur.clear();
        } else {
            cur += *s;
        }
    }
    if (!cur.empty()) v.push_back(cur);
    return v;
}

Shape shape_of(const Policy& policy, bool inet) {
    Shape s;
    s.chmod = policy.filesystem.blocked.chmod;
    s.chown = policy.filesystem.blocked.chown;
    s.del = policy.filesystem.blocked.del;
    s.inet = inet;
    s.exec = policy.execution.allow_subprocess;
    return s;
}

}  // namespace

Result<Prepared> prepare(const plan::Plan& plan, const std::vector<int>& protected_fds, bool delete_by_landlock) {
    Shape shape = shape_of(*plan.policy, plan.network == plan::Network::brokered);
    if (delete_by_landlock) shape.del = false;
    const Template& t = kTemplates[shape.index()];
    if (t.program && protected_fds.size() == 1 && protected_fds[0] >= 0 &&
        unsigned(protected_fds[0]) <= kTemplateFdMax && action_available(SECCOMP_RET_KILL_PROCESS)) {
        Prepared out;
        out.program.assign(t.program, t.program + t.size);
        for (std::size_t i = 0; i < t.nsites; ++i) out.program[t.sites[i]].k = std::uint32_t(protected_fds[0]);
        out.from_template = true;
        return out;
    }
    auto c = compile(shape, protected_fds);
    if (!c) return c.error();
    Prepared out;
    out.program = std::move(c->program);
    return out;
}

std::vector<std::string> summary(const Policy& policy, const std::vector<int>& protected_fds) {
    const Shape shape = shape_of(policy, !policy.network.allowed_domains.empty());
    if (const Template& t = kTemplates[shape.index()]; t.program) return describe(shape, protected_fds, split_names(t.unknown));
    auto c = compile(shape, protected_fds);
    return c ? c->summary : std::vector<std::string>{"not compiled: " + c.error().message};
}

unsigned shapes_built_in() {
    unsigned n = 0;
    for (const Template& t : kTemplates) n += t.program != nullptr;
    return n;
}

Status apply(const Prepared& prepared) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(prepared.program.size());
    prog.filter = const_cast<sock_filter*>(prepared.program.data());
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        return errno_error("seccomp", "SECCOMP_SET_MODE_FILTER");
    return {};
}

Result<Prepared> prepare_connect_notify() {
    Prepared out;
    if (kConnectNotifySize > 0 && action_available(SECCOMP_RET_USER_NOTIF)) {
        out.program.assign(kConnectNotify, kConnectNotify + kConnectNotifySize);
        out.from_template = true;
    } else {
        auto p = compile_connect_notify();
        if (!p) return p.error();
        out.program = std::move(*p);
    }
    return out;
}

Result<int> apply_with_listener(const Prepared& prepared) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(prepared.program.size());
    prog.filter = const_cast<sock_filter*>(prepared.program.data());
    long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0) return errno_error("seccomp", "SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER");
    return int(fd);
}

}  // namespace hive::seccomp
