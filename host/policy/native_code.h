// Whether a policy lets the script run native code of its own, and what that means for the event trail.
//
// ctypes and cffi (and their C halves) give the script the whole address space of its process: the audit
// hook's state and the event ring included. The kernel layers (Landlock, seccomp, the namespaces, the
// limits) hold regardless; the trail does not: such a script can hide, rewrite or forge its own events
// with a consistent sequence. The parent still treats the ring as hostile (channel/ring.h) and records
// every fault it sees, but under such a policy the run record and --check-policy say that the trail is
// advisory.
#pragma once

#include <string_view>

#include "policy/policy.h"

namespace hive {

// The top-level modules that hand the script native code; refused unless imports.allow names them.
inline constexpr std::string_view kNativeCodeModules[] = {"ctypes", "_ctypes", "cffi", "_cffi_backend"};

// True when imports.allow names one of kNativeCodeModules (or a submodule of one, e.g. ctypes.util).
bool allows_native_code(const Policy& policy);

// The run record's "trail" field: kTrailSequenced without native code, kTrailAdvisory with it.
inline constexpr const char* kTrailSequenced = "sequenced";
inline constexpr const char* kTrailAdvisory = "advisory";
inline const char* trail_of(const Policy& policy) {
    return allows_native_code(policy) ? kTrailAdvisory : kTrailSequenced;
}

// One sentence for --check-policy's output (and a note beside "trail": "advisory").
inline constexpr const char* kTrailAdvisoryNote =
    "this policy allows native code (ctypes/cffi in security.imports.allow): the script can rewrite the audit "
    "hook's memory and the event ring, so the event trail is advisory (hidden or forged events need not show); "
    "the kernel layers and the run record's own observations still hold, and so does the kernel's own trail of "
    "Landlock denials and seccomp kills where it can be read (monitoring.kernel_trail: a root caller, the "
    "kernel's audit on)";

}  // namespace hive
