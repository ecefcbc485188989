#include "sandbox/setup.h"

#include <unistd.h>

#include "sandbox/no_new_privs.h"
#include "sandbox/rlimits.h"
#include "common/trace.h"

namespace hive::sandbox {

Status apply_all(const ChildPlan& plan, Applied& applied, const char*& step) {
    // 1. Limits. (The pids cgroup, which holds max_processes for uid 0 where RLIMIT_NPROC does not, is
    //    joined by the parent meanwhile: step 6.)
    step = "rlimits";
    // The namespace's init (this process) counts against RLIMIT_NPROC too.
    HIVE_TRY(rlimits::apply(*plan.policy, 1));

    // 2. Namespaces: created by clone() in the parent; maps, mounts and the capability drop here. Mounting
    //    /proc needs CAP_SYS_ADMIN in the new user namespace, so capabilities go last in this step.
    HIVE_MARK("i.pre_namespaces");
    step = "namespaces";
    namespaces::Finished fin;
    Status ns = namespaces::finish(plan.ns, fin);
    applied.proc_mounted = fin.proc_mounted;
    for (int i = 0; i < 3; ++i) applied.scratch_fds[i] = fin.scratch_fds[i];
    HIVE_TRY(ns);

    // 3. no_new_privs before Landlock: landlock_restrict_self() refuses without it (EPERM) unless the
    //    caller has CAP_SYS_ADMIN, which we just dropped.
    HIVE_MARK("i.pre_no_new_privs");
    step = "no_new_privs";
    HIVE_TRY(no_new_privs::apply());

    // 4. Landlock.
    HIVE_MARK("i.pre_landlock");
    step = "landlock";
    if (plan.landlock && plan.landlock->ruleset.valid()) {
        // The private /tmp and /dev/shm exist only in this mount namespace: their rules are added here,
        // from the fds opened after mounting them, into the ruleset the parent prepared.
        HIVE_TRY(landlock::apply(*plan.landlock, applied.scratch_fds, 3));
        applied.landlock = true;
    }

    // 5. seccomp last: it kills unshare/mount/prctl-style calls the steps above need.
    HIVE_MARK("i.pre_seccomp");
    step = "seccomp";
    if (plan.seccomp && !plan.seccomp->program.empty()) {
        HIVE_TRY(seccomp::apply(*plan.seccomp));
        applied.seccomp = true;
    }
    if (plan.connect_notify && !plan.connect_notify->program.empty()) {
        auto fd = seccomp::apply_with_listener(*plan.connect_notify);
        if (!fd) return fd.error();
        applied.listener_fd = *fd;
    }

    // 6. The pids cgroup: the parent moves this process, then the script's process it forks next, into
    //    it while they start (a move waits for an RCU grace period, ~10 ms on cgroup v1 hosts: it
    //    overlaps the interpreter's start instead of preceding it). The script's process waits for the
    //    parent's word before the script's first line (interpreter.h: run's cgroup_fd).
    applied.cgroup = plan.cgroup_joined_fd >= 0;
    step = "";
    return {};
}

}  // namespace hive::sandbox
