// What is checked before anything runs; every failure here is a usage or policy error (exit 2) with
// one line that says what to fix.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "audit/audit_log.h"
#include "audit/log_dir.h"
#include "child/script.h"
#include "common/result.h"
#include "plan/plan.h"
#include "policy/policy.h"

namespace hive {

// The most a script file may hold: it is read whole into the parent's memory, and the child's.
constexpr std::size_t kMaxScriptBytes = std::size_t(16) << 20;

// The script exists, is a readable regular file of at most kMaxScriptBytes and is not binary; reads it
// once, from one fd, into spec.code (what the child runs) and fills spec.script_abs. Returns the
// SHA-256 of what will run (those bytes, or the -c code; "" for -m and stdin). A directory with a
// __main__.py or a zip file (python3 runs both) sets spec.importer; the hash is then of the
// __main__.py's bytes, or of the zip file's.
Result<std::string> check_script(ScriptSpec& spec, const std::string& cwd);

// home_from_user_db(uid): in audit/log_dir.h, with the default log directory it serves.

// The audit log directory: --log-dir, else $HIVE_LOG_DIR, /var/log/hive-py for root, else the XDG state
// dir; absolute and normalised against `cwd`. (Whether the script could write there is the plan's
// placement check.)
std::string log_dir_for(const std::string& log_dir_option, const std::string& cwd);

// The audit log options for `dir`: rotation from the policy, and the HMAC key read into a Secret. The key
// file's placement is checked against the run's plan before (plan::check_placement).
Result<audit::LogOptions> log_options(const std::string& dir, const Policy& policy);

// What a run under `policy` must keep out of the sandbox's reach (plan::check_placement): the HMAC key,
// `log_dir` ("" = not checked), the policy file and hive-py's own executable.
plan::Protected protected_files(const Policy& policy, const std::string& log_dir);

// hive-py's own executable (/proc/self/exe resolved), for the placement checks; "" if unreadable.
std::string own_executable();

}  // namespace hive
