// no_new_privs: nothing the sandbox runs can gain privileges through execve (setuid bits, file caps).
// Landlock demands it before landlock_restrict_self unless the caller has CAP_SYS_ADMIN.
#pragma once

#include "common/result.h"

namespace hive::no_new_privs {
Status apply();
}
