// What is checked before anything runs; every failure here is a usage or policy error (exit 2) with
// one line that says what to fix.
#pragma once

#include <sys/types.h>

#include <string>

#include "audit/audit_log.h"
#include "child/script.h"
#include "common/result.h"
#include "policy/policy.h"

namespace hive {

// The script exists, is a readable regular file and is not binary; fills spec.script_abs. Returns the
// SHA-256 of what will run (the file, or the -c code; "" for -m and stdin).
Result<std::string> check_script(ScriptSpec& spec, const std::string& cwd);

// The paths the sandbox may read: the system's (the stdlib, the libraries, ...), the policy's allowed_paths
// and read_only_paths, and the script's directory ("" for -c, -m and stdin).
std::vector<std::string> sandbox_readable(const Policy& policy, const std::string& script_dir);

// The HMAC key file must lie outside `readable` and have a single name (no hard link elsewhere).
Status check_key_file_placement(const std::string& key_file, const std::vector<std::string>& readable);

// The home directory of `uid` from the user database ("" if it has none), looked up in a short-lived child
// process: the C library's NSS reads /etc/passwd (or asks sssd, LDAP) through buffers of the caller's
// heap and leaves the bytes there when it frees them, and the sandbox's processes are forks of hive-py.
// A script with ctypes could read the file the sandbox refuses it in its own memory.
std::string home_from_user_db(uid_t uid);

// The audit log options: the directory (--log-dir, $HIVE_LOG_DIR, /var/log/hive-py for root, else the
// XDG state dir), refused when it lies inside a path the policy lets the script write; the HMAC key,
// refused when its file lies inside a path the sandbox may read (`sandbox_readable`).
Result<audit::LogOptions> log_options(const std::string& log_dir_option, const Policy& policy,
                                      const std::string& cwd, const std::vector<std::string>& sandbox_readable);

}  // namespace hive
