// The plan of a run: everything the sandbox will be allowed, computed once from the policy and the
// invocation, before anything is set up. Landlock's rules, the mount tree's writable mounts, the audit
// hook's path lists, the seccomp filter's shape, the placement checks of the key, the logs, the policy
// and hive-py itself, `--check-policy` and `--doctor` all read this one value; nothing recomputes a part
// of it. Each path is opened once here (O_PATH): the fd feeds the Landlock rule, and its identity
// (st_dev, st_ino) is what the sandbox's init checks again before it makes the path a writable mount.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "policy/policy.h"

namespace hive::plan {

// What a grant lets the sandbox do beneath its path.
enum class Access : std::uint8_t {
    read,        // read files, list directories
    read_write,  // allowed_paths: everything but execution and device nodes, minus blocked_operations
    exec,        // exec_paths (and the ELF interpreter they need): execute and read
    device_rw,   // /dev/null: read and write (and O_TRUNC), no directory rights
};
const char* to_string(Access a);

// Who asked for the grant: the policy (its paths are never reached through a symbolic link), the run
// (the script and its directory, the network's generated files) or the interpreter's own needs.
enum class Origin : std::uint8_t { system, run, policy };

struct Grant {
    std::string path;  // absolute and normalised, as granted
    std::string key;   // what grants it: "security.filesystem.allowed_paths[0]", "the script's directory", ...
    Access access = Access::read;
    Origin origin = Origin::system;
    bool exists = false;  // false: nothing there at planning time; no rule, no mount
    bool is_dir = false;
    dev_t dev = 0;        // identity of `fd`
    ino_t ino = 0;
    std::string real;     // the path with every link resolved (== path for policy grants), for containment
    UniqueFd fd;          // O_PATH|O_CLOEXEC, opened once
    // The run's private /tmp or /dev/shm (security.filesystem.private_tmp): a tmpfs the sandbox's init
    // mounts in its own mount namespace, so nothing is opened here; its Landlock rule is added in the init
    // from an fd opened after the mount (PrivateTmp).
    bool scratch = false;
};

// The run's private /tmp and /dev/shm: one tmpfs of disk_mb, its two directories bound at /tmp and
// /dev/shm. The host's grants below them (the script's directory in /tmp, a policy path there) are bound
// into it at their place.
// The run's scratch directory (TMPDIR) in the private /tmp when a protected host tree lies below /tmp.
inline constexpr const char* kBlockedTmpdir = "/tmp/.hive-tmp";

struct PrivateTmp {
    bool on = false;            // security.filesystem.private_tmp
    std::int64_t size_bytes = 0;
    std::int64_t inodes = 0;
    // The run may delete, rename over and truncate its own files in /tmp (Landlock REMOVE_FILE, REMOVE_DIR,
    // REFER, TRUNCATE on the tmpfs), whatever blocked_operations says. False when a writable grant of the
    // host with delete or truncate blocked lies below /tmp: Landlock's rights hold for everything beneath a
    // rule, so the tmpfs's rights would reach that tree too; then /tmp gets allowed_paths' rights, and the
    // run's scratch directory `tmpdir` (TMPDIR), below which nothing of the host's is bound, holds them
    // instead. `why_not` says which grant. The same for /dev/shm (shm_deletable), which has no tmpdir.
    bool deletable = true;
    bool shm_deletable = true;
    std::string why_not;
    std::string tmpdir = "/tmp";  // TMPDIR: /tmp, or kBlockedTmpdir when !deletable
    // Grants of the host that lie below /tmp or /dev/shm and are bound into the private one (outermost
    // only: a recursive bind carries the ones beneath), as (path, dev, ino) for the init to check again.
    struct Bind {
        std::string path;    // where it appears in the sandbox (the grant's path)
        std::string source;  // the host's object, every link resolved (the grant's real path)
        dev_t dev = 0;
        ino_t ino = 0;
        bool is_dir = true;
    };
    std::vector<Bind> binds;
};

// The invocation: where hive-py runs and what it runs.
struct Invocation {
    std::string cwd;
    std::string script_path;  // file mode: the script's absolute path; "" for -c, -m and stdin
    uid_t uid = 0;            // the caller's effective ids
    gid_t gid = 0;
};

// The uid/gid the script has inside its user namespace and the caller's ids they stand for outside.
struct IdMap {
    uid_t inner_uid = 1000, outer_uid = 0;
    gid_t inner_gid = 1000, outer_gid = 0;
    // The caller's uid is root of the initial user namespace (not root inside a user namespace of its
    // own, which the kernel holds to RLIMIT_NPROC like any user): only then does max_processes need a
    // pids cgroup.
    bool host_root = false;
};

// Whether `euid` of this process is uid 0 of the parent user namespace (read from /proc/self/uid_map).
bool is_host_root(uid_t euid);

enum class Network : std::uint8_t { none, brokered };  // brokered: the parent connects for allowed_domains

struct Plan {
    Plan() = default;
    Plan(Plan&&) = default;
    Plan& operator=(Plan&&) = default;

    const Policy* policy = nullptr;
    Invocation invocation;
    std::vector<Grant> grants;  // in rule order: system, run, then the policy's
    IdMap ids;
    Network network = Network::none;
    // Generated files bound read-only over system files in the sandbox's mount tree (source, target):
    // the network allow-list's hosts file and resolv.conf.
    std::vector<std::pair<std::string, std::string>> binds;
    std::string script_dir;  // "" unless a script file runs
    std::vector<std::string> site_dirs;  // security.imports.site: on sys.path after the stdlib, real paths
    PrivateTmp tmp;
    // Where the run writes its trail (--log-dir, $HIVE_LOG_DIR, ... resolved) and the key that signs it.
    std::string log_dir;
    std::string key_file;

    // The grant through which the sandbox could read (write) `path`, or nullptr. `path` is compared both
    // as written (made absolute, normalised) and with its links resolved, against each grant's path and
    // real path: a link that leads into a granted tree counts.
    const Grant* readable_by(const std::string& path) const;
    const Grant* writable_by(const std::string& path) const;
    // The paths of the grants with any of these accesses, in rule order.
    std::vector<std::string> paths(std::initializer_list<Access> accesses) const;
    bool allow_subprocess() const { return policy->execution.allow_subprocess; }
};

// The read-only paths the interpreter needs in every run (the stdlib, the shared libraries its
// extension modules load, the loader's cache, time zones, a few devices), with what each is for.
struct SystemPath {
    const char* path;
    const char* why;
    Access access;
};
const std::vector<SystemPath>& system_paths();

// Builds the plan. Every path the policy grants is opened without following symbolic links in any of
// its components (openat2 RESOLVE_NO_SYMLINKS): a link there is refused with an error naming the key,
// the path and where it leads, since an earlier run may have planted it (`./data -> /etc/cron.d`).
// A path that does not exist is kept as a grant without a rule (the kernel refuses it anyway).
Result<Plan> make(const Policy& policy, const Invocation& inv);

// The run's network allow-list adds its generated files (read-only grants) and their binds.
Status add_network_files(Plan& plan, const std::vector<std::string>& read_paths,
                         const std::vector<std::pair<std::string, std::string>>& binds);

// What must stay out of the sandbox's reach, checked against the plan; the first exposure is an error
// (exit 2) naming the file and the key that exposes it:
//  - the HMAC key file: nothing may read it (it would let the script recompute the chain); one name only;
//  - the log directory: nothing may write in it (the script would rewrite its own trail);
//  - the policy file and hive-py's own executable: nothing may write them (the next run would obey
//    what the script wrote).
struct Protected {
    std::string key_file;     // "" = none
    std::string log_dir;      // "" = not checked (--check-policy without a run)
    std::string policy_file;  // "" = the built-in default
    std::string executable;   // hive-py's own file ("" = not checked)
};
Status check_placement(const Plan& plan, const Protected& what);

// For --check-policy and --doctor: what the sandbox may read, write and execute, one path a line with
// the key that grants it, as YAML comments (`#   read  /usr/lib/python3.11   system: the stdlib`).
std::string describe(const Plan& plan);

}  // namespace hive::plan
