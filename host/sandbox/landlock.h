// Landlock: the filesystem and network rules of a run, built in the parent, applied in the child.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "plan/plan.h"

namespace hive::landlock {

// The highest Landlock ABI the running kernel offers; 0 if Landlock is unavailable (with the reason).
struct Support {
    int abi = 0;
    std::string why_not;  // "" when abi > 0, else e.g. "landlock_create_ruleset: EOPNOTSUPP (disabled at boot)"
};
Support probe();

struct Prepared {
    UniqueFd ruleset;          // landlock ruleset fd, rules added; -1 when Landlock is unavailable
    int abi = 0;               // ABI the ruleset was built for
    std::vector<std::string> handled;  // human-readable: "fs", "net_tcp", "scope_abstract_unix", "scope_signal"
    std::vector<std::string> notes;    // paths skipped because they do not exist, rights dropped for the ABI, ...
    // The rights of the run's private /tmp and /dev/shm (plan::PrivateTmp), added in the init from fds it
    // opens after mounting them: everything but execution and device nodes, or allowed_paths' rights when
    // a writable tree of the host lies below them.
    // [0] /tmp, [1] /dev/shm, [2] the scratch directory of a /tmp that cannot hold them (plan::PrivateTmp).
    std::uint64_t scratch_rights[3] = {0, 0, 0};
};

// In the parent: create the ruleset and add one rule per grant of the plan, on the fd the plan opened.
// Rights follow the grant's access: read; read-write minus the rights blocked_operations removes
// (delete -> REMOVE_FILE/REMOVE_DIR/REFER, truncate -> TRUNCATE); execute and read for exec grants;
// TCP bind/connect handled with no rule at all: the sandbox never binds or connects by itself (with
// allowed_domains the parent connects for it, see seccomp::prepare_connect_notify); abstract unix
// sockets and signals scoped to the sandbox where the ABI offers it.
Result<Prepared> prepare(const plan::Plan& plan, const Support& support);

// In the child, after no_new_privs: the rules of the private /tmp and /dev/shm on `scratch_fds` (fds the
// init opened after mounting them; -1 entries skipped), then landlock_restrict_self. Async-signal-safe:
// no allocation.
Status apply(const Prepared& prepared, const int* scratch_fds = nullptr, std::size_t n_scratch = 0);

// A nested domain for the script's process alone (ABI >= 6; an invalid fd below): it scopes signals and
// abstract unix sockets to the script itself, so the sandbox's init (pid 1, left in the outer domain)
// cannot be signalled either — os.kill(os.getppid(), 9) fails with EPERM instead of being dropped.
// NB: Landlock denies every reparenting link or rename (REFER) in a layer without a rule granting it,
// even a layer that handles no filesystem right: this layer handles REFER and grants it beneath "/",
// so that the outer domain alone decides (a rename between two directories of /tmp works).
Result<UniqueFd> prepare_script_scope(const Support& support);
// In the script's process, right after fork: landlock_restrict_self on that ruleset.
Status apply_fd(int ruleset_fd);

}  // namespace hive::landlock
