// The typed, immutable security policy. Schema-first: the YAML is parsed once into this struct, every
// default filled in and every path made absolute; the child only ever sees a `const Policy&`.
// The schema is BIP-025's `security:` tree plus keys of ours, declared once in policy/schema.h's table
// (documented in policy/README.md, whose key tables are generated from it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace hive {

enum class Enforcement { strict, best_effort };
enum class LogLevel { debug, info, warning, error, critical };
enum class KernelTrailMode { auto_, required, off };

// BIP-025's `blocked_operations` values (plus `truncate`, ours).
struct BlockedOps {
    bool del = false;       // "delete": unlink/rmdir, and rename/replace (both remove a name)
    bool chmod = false;     // "chmod": the chmod family
    bool chown = false;     // "chown": the chown family
    bool truncate = false;  // "truncate": truncate()/O_TRUNC of existing files
};

// Every field's default (its value when the policy omits the key), bounds and help are in the schema's
// table (schema.cc, kKeys), and the constructor sets them from there; the field comments say what each
// field holds. Readers take a `const Policy&`.
struct Policy {
    Policy();  // every key at its default (schema.cc)

    // Where the policy came from: an absolute file path, or "built-in default".
    std::string source;
    // SHA-256 (hex) of the policy source bytes (of the built-in text for the default).
    std::string sha256;

    struct Execution {
        int timeout_seconds;      // wall clock, enforced by the parent
        int cpu_seconds;          // RLIMIT_CPU
        int memory_mb;            // RLIMIT_AS
        int file_size_mb;         // RLIMIT_FSIZE
        int max_processes;        // processes and threads of one run (pids cgroup / RLIMIT_NPROC)
        int max_open_files;       // RLIMIT_NOFILE (ours)
        int disk_mb;              // size of the run's private /tmp and /dev/shm together (tmpfs size=, ours)
        int disk_inodes;          // files, directories and links there (tmpfs nr_inodes=, ours)
        bool allow_subprocess;    // execve allowed at all (ours)
        std::vector<std::string> env_passthrough;  // variable names copied into the script's env (ours)
    } execution;

    struct Filesystem {
        std::vector<std::string> allowed_paths;    // read-write, absolute, normalised
        std::vector<std::string> read_only_paths;  // extra read-only paths (ours), absolute
        std::vector<std::string> exec_paths;       // programs the script may execve (ours; needs allow_subprocess)
        bool private_tmp;                          // /tmp and /dev/shm: a tmpfs of the run's own (ours)
        BlockedOps blocked;                        // from blocked_operations
    } filesystem;

    struct Network {
        std::vector<std::string> allowed_domains;  // [] = no network at all
        std::vector<int> blocked_ports;            // 1..65535
    } network;

    struct Imports {
        std::vector<std::string> allow;  // top-level module names; empty = the built-in stdlib list
        std::vector<std::string> deny;   // always refused, checked before allow
        bool site = false;               // the interpreter's dist-packages (or the venv's) on sys.path
    } imports;

    struct Monitoring {
        LogLevel log_level;
        struct {
            double cpu_usage;       // percent of cpu_seconds
            double memory_usage;    // percent of memory_mb
            double execution_time;  // seconds
        } alert_thresholds;
        std::string alert_command;   // run by the parent with the alert JSON on stdin ("" = none)
        std::int64_t alert_window_seconds;  // one notification per script and alert in this window (0 = every one)
        int sample_interval_ms;      // resource_usage.log sampling period
        std::int64_t log_max_bytes;  // rotate a log file past this size
        std::string hmac_key_file;   // absolute; "" = plain SHA-256 chain
        std::string syslog_socket;   // absolute; a unix datagram socket (/dev/log) for RFC 5424; "" = none
        std::int64_t max_logged_events;  // per run, written one by one; past it counted by name (run_log.h)
        std::int64_t max_logged_bytes;   // the same, in bytes of those records
        KernelTrailMode kernel_trail;  // the kernel's own audit records of the run's denials (kernel_trail.h)
    } monitoring;

    Enforcement enforcement;
};

// The built-in default policy's YAML text (BIP-025's values). policy/security_policy.yml is the same.
const std::string& default_policy_yaml();

// The built-in default as parse_policy(default_policy_yaml(), "built-in default", base_dir) returns it,
// built without parsing (the parse was ~0.9 ms of every default run's start; test_policy checks the two
// are the same policy, source and sha256 included).
Policy builtin_default_policy(const std::string& base_dir);

// Parse and validate YAML text. `source_name` is used in error messages (file path or
// "built-in default"); relative paths in the policy resolve against `base_dir` (the run's cwd).
// Errors read `FILE:LINE:COL: security.key.path: what is wrong`.
Result<Policy> parse_policy(const std::string& yaml_text, const std::string& source_name,
                            const std::string& base_dir);

// Read and parse a policy file (errors name the file; an unreadable file is an error).
Result<Policy> load_policy_file(const std::string& path, const std::string& base_dir);

// Discovery, in order: `explicit_path` (--policy) if non-empty; then $HIVE_POLICY; then
// scripts/config/security_policy.yml searched upward from `cwd`; then the built-in default.
// `search_from`: where scripts/config/security_policy.yml is searched upward from: the script's own
// directory for a script file (a shebang script finds its project's policy wherever it is called
// from), "" for the cwd (-c, -m, stdin). Relative paths in the policy still resolve against `cwd`.
Result<Policy> discover_policy(const std::string& explicit_path, const std::string& cwd,
                               const std::string& search_from = "");

// The effective policy as YAML (every default filled in, every path absolute), for --check-policy.
std::string to_yaml(const Policy& p);
// The effective policy as one JSON object, for run records.
std::string to_json(const Policy& p);

const char* to_string(Enforcement e);
const char* to_string(LogLevel l);

// True when `a` and `b` hold the same settings (source and sha256 are not compared).
bool equivalent(const Policy& a, const Policy& b);

// Lexical path helpers: no filesystem access, symlinks are not followed.
// `path` made absolute against `base_dir` (itself made absolute against the process cwd if relative),
// with `.`, `..` and duplicate slashes removed and no trailing slash ("/" stays "/").
std::string normalize_path(const std::string& path, const std::string& base_dir);
// True when normalised absolute `path` is `dir` or lies below it ("/a/bc" is not within "/a/b").
bool path_within(const std::string& path, const std::string& dir);

}  // namespace hive
