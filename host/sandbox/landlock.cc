// Landlock through raw syscalls: glibc has no wrappers, and the system headers (Linux 6.1) stop at ABI 2,
// so the newer rights and structures are defined here. Every right is asked for only when the running
// kernel's ABI knows it: an unknown bit makes landlock_create_ruleset fail with EINVAL.
#include "sandbox/landlock.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)  // ABI 2
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  // ABI 3
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)  // ABI 5
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)  // ABI 4
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)  // ABI 6
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

namespace hive::landlock {
namespace {

// NB: LANDLOCK_RULE_NET_PORT is an enumerator in newer headers, so it cannot be tested with #ifndef.
constexpr int kRuleNetPort = 2;  // ABI 4

// The ruleset attribute as of ABI 6. The kernel reads only `size` bytes of it, so older ABIs get a prefix.
struct RulesetAttr {
    std::uint64_t handled_access_fs;
    std::uint64_t handled_access_net;  // ABI 4
    std::uint64_t scoped;              // ABI 6
};

struct NetPortAttr {
    std::uint64_t allowed_access;
    std::uint64_t port;
};

constexpr std::uint64_t kFsV1 = (1ULL << 13) - 1;  // EXECUTE .. MAKE_SYM
constexpr std::uint64_t kFileOnly = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                    LANDLOCK_ACCESS_FS_IOCTL_DEV;
constexpr std::uint64_t kRead = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

std::uint64_t fs_rights(int abi) {
    std::uint64_t r = kFsV1;
    if (abi >= 2) r |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) r |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return r;
}

std::size_t attr_size(int abi) {
    if (abi >= 6) return sizeof(RulesetAttr);
    if (abi >= 4) return offsetof(RulesetAttr, scoped);
    return offsetof(RulesetAttr, handled_access_net);
}

// One rule for a grant of the plan, on the fd the plan opened: skipped with a note when nothing was there;
// dir-only rights are dropped for files (Landlock rejects them with EINVAL).
Status add_grant(int ruleset, const plan::Grant& g, std::uint64_t rights, std::uint64_t handled,
                 std::vector<std::string>& notes) {
    if (!g.exists || !g.fd.valid()) {
        notes.push_back("skipped " + g.path + ": does not exist");
        return {};
    }
    rights &= handled;
    if (!g.is_dir) rights &= kFileOnly;
    if (rights == 0) return {};
    landlock_path_beneath_attr attr{};
    attr.allowed_access = rights;
    attr.parent_fd = g.fd.get();
    if (::syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) != 0)
        return errno_error("landlock_add_rule", g.path);
    return {};
}

}  // namespace

Support probe() {
    long abi = ::syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi > 0) return Support{static_cast<int>(abi), ""};
    int e = errno;
    std::string why = Error::from_errno("landlock_create_ruleset", "VERSION", e).message;
    if (e == EOPNOTSUPP) why += " (Landlock is built in but disabled at boot: add landlock to lsm=)";
    if (e == ENOSYS) why += " (kernel built without Landlock)";
    return Support{0, why};
}

Result<Prepared> prepare(const plan::Plan& plan, const Support& support) {
    Prepared out;
    out.abi = support.abi;
    if (support.abi <= 0) {
        out.notes.push_back("Landlock unavailable: " + support.why_not);
        return out;
    }
    const int abi = support.abi;
    const auto& fs = plan.policy->filesystem;

    RulesetAttr attr{};
    attr.handled_access_fs = fs_rights(abi);
    out.handled.push_back("fs");
    if (abi >= 3) out.handled.push_back("fs_truncate");
    else if (fs.blocked.truncate) out.notes.push_back("truncate not enforced by Landlock: needs ABI 3");
    if (abi >= 5) out.handled.push_back("fs_ioctl_dev");
    if (abi >= 4) {
        attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
        out.handled.push_back("net_tcp");
    } else {
        out.notes.push_back("TCP bind/connect not handled by Landlock: needs ABI 4");
    }
    if (abi >= 6) {
        attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
        out.handled.push_back("scope_abstract_unix");
        out.handled.push_back("scope_signal");
    } else {
        out.notes.push_back("abstract unix sockets and signals not scoped: needs ABI 6");
    }

    long rfd = ::syscall(__NR_landlock_create_ruleset, &attr, attr_size(abi), 0);
    if (rfd < 0) return errno_error("landlock_create_ruleset", "ABI " + std::to_string(abi));
    out.ruleset = UniqueFd(static_cast<int>(rfd));
    const int ruleset = out.ruleset.get();
    const std::uint64_t handled = attr.handled_access_fs;

    // Read-write: everything but execution and device nodes, minus what blocked_operations takes away.
    std::uint64_t rw = handled & ~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                                   LANDLOCK_ACCESS_FS_MAKE_BLOCK);
    if (fs.blocked.del)  // a rename removes a name from its source directory (and the target's, if replaced)
        rw &= ~(LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REFER);
    if (fs.blocked.truncate) rw &= ~LANDLOCK_ACCESS_FS_TRUNCATE;
    // The private /tmp and /dev/shm: what the run makes there is its own to delete, rename or truncate.
    // NB: a rule's rights hold for everything beneath it, through mount points too: a host tree bound
    // below /tmp would inherit them, so a writable one (which only Landlock keeps from deletion) takes
    // the tmpfs down to allowed_paths' rights (plan.tmp.deletable). Read-only binds are read-only mounts.
    // No IOCTL_DEV: the tmpfs is nodev, and a read-only host tree bound below it must not gain the right.
    const std::uint64_t own = handled & ~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                                          LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_IOCTL_DEV);
    out.scratch_rights[0] = plan.tmp.deletable ? own : rw & own;
    out.scratch_rights[1] = plan.tmp.shm_deletable ? own : rw & own;
    out.scratch_rights[2] = own;  // the scratch directory: nothing of the host's lies below it
    for (const plan::Grant& g : plan.grants) {
        if (g.scratch) continue;  // made in the init's mount namespace: its rule is added there (apply)
        std::uint64_t rights = kRead;
        switch (g.access) {
            case plan::Access::read: rights = kRead; break;
            case plan::Access::read_write: rights = rw; break;
            case plan::Access::exec: rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE; break;
            case plan::Access::device_rw:
                rights = kRead | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
                break;
        }
        HIVE_TRY(add_grant(ruleset, g, rights, handled, out.notes));
    }

    // Landlock's network rules are allow-lists per port, and the sandbox gets none: no TCP bind or connect
    // ever reaches the network from inside. With domains allowed, the parent makes each connection on the
    // script's behalf (seccomp user notification) and hands it the connected socket.
    if (abi >= 4 && plan.network == plan::Network::brokered)
        out.notes.push_back("TCP connect: made by the parent for allowed domains; none from the sandbox itself");
    return out;
}

Result<UniqueFd> prepare_script_scope(const Support& support) {
    if (support.abi < 6) return UniqueFd();
    RulesetAttr attr{};
    attr.handled_access_fs = LANDLOCK_ACCESS_FS_REFER;
    attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
    long rfd = ::syscall(__NR_landlock_create_ruleset, &attr, attr_size(6), 0);
    if (rfd < 0) return errno_error("landlock_create_ruleset", "script scope");
    UniqueFd ruleset(static_cast<int>(rfd));
    UniqueFd root(::open("/", O_PATH | O_CLOEXEC | O_DIRECTORY));
    if (!root.valid()) return errno_error("open", "/ (script scope)");
    landlock_path_beneath_attr rule{};
    rule.allowed_access = LANDLOCK_ACCESS_FS_REFER;
    rule.parent_fd = root.get();
    if (::syscall(__NR_landlock_add_rule, ruleset.get(), LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
        return errno_error("landlock_add_rule", "/ REFER (script scope)");
    return ruleset;
}

Status apply_fd(int ruleset_fd) {
    if (ruleset_fd < 0) return {};
    if (::syscall(__NR_landlock_restrict_self, ruleset_fd, 0) != 0)
        return errno_error("landlock_restrict_self", "script scope");
    return {};
}

Status apply(const Prepared& prepared, const int* scratch_fds, std::size_t n_scratch) {
    if (!prepared.ruleset.valid()) return {};  // Landlock unavailable: the driver decides whether that is fatal
    for (std::size_t i = 0; i < n_scratch; ++i) {
        if (scratch_fds[i] < 0) continue;
        landlock_path_beneath_attr attr{};
        attr.allowed_access = prepared.scratch_rights[i < 3 ? i : 2];
        attr.parent_fd = scratch_fds[i];
        if (::syscall(__NR_landlock_add_rule, prepared.ruleset.get(), LANDLOCK_RULE_PATH_BENEATH, &attr, 0) != 0)
            return errno_error("landlock_add_rule", i == 0 ? "the private /tmp" : i == 1 ? "the private /dev/shm"
                                                                                        : "the private TMPDIR");
    }
    if (::syscall(__NR_landlock_restrict_self, prepared.ruleset.get(), 0) != 0) {
        // NB: no allocation on the success path; the error message is built only on failure, when the
        // child is about to report and exit anyway.
        return errno_error("landlock_restrict_self", "ruleset");
    }
    return {};
}

}  // namespace hive::landlock
