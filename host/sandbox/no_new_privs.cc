#include "sandbox/no_new_privs.h"

#include <sys/prctl.h>

namespace hive::no_new_privs {

Status apply() {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno_error("prctl", "PR_SET_NO_NEW_PRIVS");
    return {};
}

}  // namespace hive::no_new_privs
