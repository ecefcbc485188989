#include "sandbox/setup.h"

#include <unistd.h>

#include "sandbox/no_new_privs.h"
#include "sandbox/rlimits.h"
#include "common/trace.h"

namespace hive::sandbox {

Status apply_all(const ChildPlan& plan, Applied& applied, const char*& step) {
    // 1. Limits. Joining the run's pids cgroup comes first of all, before this process can fork: the
    //    cgroup is what holds max_processes for uid 0, which RLIMIT_NPROC ignores.
    step = "rlimits";
    if (plan.cgroup_procs_fd >= 0) {
        if (write(plan.cgroup_procs_fd, "0\n", 2) != 2) return errno_error("write", "cgroup.procs");
        applied.cgroup = true;
    }
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
    step = "";
    return {};
}

}  // namespace hive::sandbox
