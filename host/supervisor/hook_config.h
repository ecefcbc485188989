// The audit hook's view of the policy: the same rules the kernel layers enforce, so that the hook can
// refuse with a clear exception and record the decision.
#pragma once

#include <string>
#include <vector>

#include "channel/ring.h"
#include "child/audit_hook.h"
#include "policy/policy.h"
#include "plan/plan.h"

namespace hive {

// From the run's plan (its paths, as Landlock gets them) and the addresses the allowed domains resolved to.
hook::Config make_hook_config(const plan::Plan& plan, const std::vector<std::string>& resolved_addresses,
                              channel::Header* ring);

}  // namespace hive
