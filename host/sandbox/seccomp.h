// seccomp: the syscall filter of a run, compiled to BPF in the parent, loaded in the child last.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "plan/plan.h"
#include "policy/policy.h"

namespace hive::seccomp {

struct Prepared {
    std::vector<sock_filter> program;  // the exported BPF program
    bool from_template = false;        // the build-time program (seccomp.cc), not compiled at this run
};

// In the parent (libseccomp's program, compiled at build time where it can be: seccomp.cc): default allow, then
//  - blocked_operations: chmod family (fchmodat2 = 452 by number), chown family, delete
//    (unlink/unlinkat/rmdir, rename family) -> EPERM;
//  - allowed_domains empty: socket() of every family -> EPERM (socketpair stays allowed); non-empty:
//    only AF_INET/AF_INET6 SOCK_STREAM sockets, no MSG_FASTOPEN;
//  - dangerous calls -> kill process (ptrace, process_vm_*, mount family, pivot_root, chroot, kexec, bpf,
//    module loading, perf_event_open, keyctl family, userfaultfd, io_uring_*, unshare, setns, personality,
//    acct, swapon/off, reboot, clock setting, open_by_handle_at, clone with namespace flags);
//    foreign architectures (x32, i386) -> kill process;
//  - clone3 -> ENOSYS (glibc falls back to clone, whose flags the filter can see);
//  - under every policy: S_ISUID/S_ISGID in the mode of chmod/fchmod/fchmodat/fchmodat2, creat, mkdir(at),
//    mknod(at), open/openat with O_CREAT or O_TMPFILE -> EPERM; openat2 -> ENOSYS (seccomp_rules.cc);
//  - ioctl TIOCSTI, TIOCLINUX, TIOCSETD, KD* and VT_* (a console's keyboard) -> EPERM (the caller's terminal);
//  - execve/execveat -> EPERM unless policy.execution.allow_subprocess;
//  - `protected_fds` (the event channel's fds): close/dup2/dup3 onto them -> EPERM.
// The filter's shape comes from the run's plan: its blocked operations, network mode and subprocess rule.
// `delete_by_landlock`: Landlock holds blocked `delete` (every tree of the host lacks REMOVE_* and REFER)
// and the run's private /tmp needs unlink and rename, so the delete family is left to Landlock.
Result<Prepared> prepare(const plan::Plan& plan, const std::vector<int>& protected_fds,
                         bool delete_by_landlock = false);

// The rule groups of that filter in words ("EPERM: chmod, fchmod, ..."; the last line counts the rules).
// Not computed by a run, which has no use for it.
std::vector<std::string> summary(const Policy& policy, const std::vector<int>& protected_fds);

// How many of the 32 policy shapes have a program compiled at build time (seccomp.cc); the others are
// compiled by libseccomp at each run, ~1 ms slower to start.
unsigned shapes_built_in();

// In the child, after no_new_privs and Landlock: install the program. No allocation.
Status apply(const Prepared& prepared);

// With network.allowed_domains non-empty: a second filter that hands every connect() to the parent
// (SCMP_ACT_NOTIFY). The parent reads the address once, decides, connects a socket of its own and
// installs it in place of the script's (SECCOMP_IOCTL_NOTIF_ADDFD): no window between check and use.
Result<Prepared> prepare_connect_notify();
// Installs it and returns the listener fd (SECCOMP_FILTER_FLAG_NEW_LISTENER).
Result<int> apply_with_listener(const Prepared& prepared);

}  // namespace hive::seccomp
