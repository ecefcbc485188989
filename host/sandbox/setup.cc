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
    HIVE_TRY(namespaces::finish(plan.ns, applied.proc_mounted));

    // 3. no_new_privs before Landlock: landlock_restrict_self() refuses without it (EPERM) unless the
    //    caller has CAP_SYS_ADMIN, which we just dropped.
    HIVE_MARK("i.pre_no_new_privs");
    step = "no_new_privs";
    HIVE_TRY(no_new_privs::apply());

    // 4. Landlock.
    HIVE_MARK("i.pre_landlock");
    step = "landlock";
    if (plan.landlock && plan.landlock->ruleset.valid()) {
        HIVE_TRY(landlock::apply(*plan.landlock));
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

    // 6. The pids cgroup: the parent has moved this process into it while the steps above ran; its word
    //    must come before anything here forks. Silence (the parent gone) is a failure too.
    if (plan.cgroup_joined_fd >= 0) {
        step = "rlimits";
        int err = 0;
        ssize_t n;
        while ((n = read(plan.cgroup_joined_fd, &err, sizeof err)) < 0 && errno == EINTR) {
        }
        if (n != ssize_t(sizeof err)) return Error{"the parent did not move the sandbox into its pids cgroup", EIO};
        if (err != 0) return Error::from_errno("write", "cgroup.procs (by the parent)", err);
        applied.cgroup = true;
    }
    step = "";
    return {};
}

}  // namespace hive::sandbox
