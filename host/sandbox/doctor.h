// --doctor: what this machine offers each sandbox layer, and what the default policy would get.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "policy/policy.h"

namespace hive::sandbox {

// One layer or feature as probed on this machine.
struct Probe {
    std::string name;    // "namespace user", "landlock", "seccomp", "cgroup v2", ...
    bool available = false;
    std::string detail;  // ABI, controllers, or why it is missing
};

// Probe every layer. Namespaces are tried in a forked child (unshare), so this process is not changed.
std::vector<Probe> probe_all();

// The probes a policy needs that are missing here ("" entries never). Empty = it would run with every layer.
std::vector<std::string> missing_for(const Policy& policy, const std::vector<Probe>& probes);

// Print each layer as available or not, the verdict for the plan's policy (the one a run here would
// use), and what the sandbox may reach under it; one JSON object with `as_json`. Returns 1 when a run
// under that policy would be refused here (strict enforcement, a layer missing), else 0.
int doctor(std::ostream& out, const plan::Plan& plan, bool as_json = false);

}  // namespace hive::sandbox
