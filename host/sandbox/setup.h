// The child's set-up, in one ordered function. Everything here was prepared by the parent; the child
// only applies it (no allocation-heavy work, no threads).
#pragma once

#include "common/result.h"
#include "policy/policy.h"
#include "sandbox/landlock.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp.h"

namespace hive::sandbox {

struct ChildPlan {
    const Policy* policy = nullptr;
    namespaces::Plan ns;
    const landlock::Prepared* landlock = nullptr;  // ruleset invalid = Landlock unavailable (best_effort)
    const seccomp::Prepared* seccomp = nullptr;
    const seccomp::Prepared* connect_notify = nullptr;  // allowed_domains: connect() goes to the parent
    int script_scope_fd = -1;  // Landlock ruleset the script's process adds on its own (landlock.h), or -1
    // The run's pids cgroup: the parent moves this process into it right after the clone and the script's
    // process right after the fork (a move waits for an RCU grace period, ~10 ms on cgroup v1 here, so
    // it overlaps the layers and the interpreter's start), then writes the outcome here (an int: 0, or
    // the errno of its write to cgroup.procs). The script's process reads it before the script's first
    // line. Read end of a pipe, or -1 without a cgroup.
    int cgroup_joined_fd = -1;
};

struct Applied {
    bool cgroup = false;
    bool proc_mounted = false;
    bool landlock = false;
    bool seccomp = false;
    int listener_fd = -1;  // the connect-notification listener, for the parent
    // The private /tmp and /dev/shm (namespaces::Finished), O_PATH: the init keeps them for the final
    // statfs of the run's scratch space; the script's process closes them.
    int scratch_fds[3] = {-1, -1, -1};
};

// rlimits -> namespaces -> no_new_privs -> Landlock -> seccomp, then the pids cgroup's confirmation
// (before the process can fork). On failure `step` names the step and
// the error names the call; the caller must end the process (a half-applied sandbox never runs code).
Status apply_all(const ChildPlan& plan, Applied& applied, const char*& step);

}  // namespace hive::sandbox
