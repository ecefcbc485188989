// rlimits: the per-process resource limits of the policy (CPU, address space, file size, processes,
// open files, no core dumps). Applied first in the child, inherited by everything it starts.
#pragma once

#include "common/result.h"
#include "policy/policy.h"

namespace hive::rlimits {

// NB: RLIMIT_NPROC is counted per user (per user namespace since Linux 5.14) and ignored for uid 0 in
// the initial namespace; the supervisor also puts each run in its own pids cgroup where it can.
// `extra_processes`: processes of ours that count against the limit (the namespace's init).
Status apply(const Policy& policy, int extra_processes);

}  // namespace hive::rlimits
