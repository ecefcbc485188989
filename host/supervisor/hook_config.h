// The audit hook's view of the policy: the same rules the kernel layers enforce, so that the hook can
// refuse with a clear exception and record the decision.
#pragma once

#include <string>
#include <vector>

#include "channel/ring.h"
#include "child/audit_hook.h"
#include "policy/policy.h"
#include "sandbox/landlock.h"

namespace hive {

hook::Config make_hook_config(const Policy& policy, const landlock::RunPaths& run_paths,
                              const std::vector<std::string>& resolved_addresses, channel::Header* ring);

}  // namespace hive
