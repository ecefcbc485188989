// Where the audit logs go when no directory is named: one answer for a run and for `hive-py audit
// show|verify`, so that the commands read the logs a plain run wrote.
#pragma once

#include <sys/types.h>

#include <string>

namespace hive {

// $HIVE_LOG_DIR, else /var/log/hive-py for root, else ${XDG_STATE_HOME:-~/.local/state}/hive-py (the home
// from $HOME, else from the user database; /tmp if neither has one).
std::string default_log_dir();

// The home directory of `uid` from the user database ("" if it has none), looked up in a short-lived child
// process: the C library's NSS reads /etc/passwd (or asks sssd, LDAP) through buffers of the caller's
// heap and leaves the bytes there when it frees them, and the sandbox's processes are forks of hive-py.
// A script with ctypes could read the file the sandbox refuses it in its own memory.
std::string home_from_user_db(uid_t uid);

}  // namespace hive
