// namespaces: user, mount, pid, net, ipc and uts namespaces of a run.
//
// The parent creates them all at once with clone() (so the child it supervises is pid 1 of the new pid
// namespace, and killing it kills everything the script started); the child finishes them here: its
// uid/gid maps, a private mount tree with a fresh /proc, a hostname, then drops every capability.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace hive::namespaces {

struct Set {
    bool user = false, mount = false, pid = false, net = false, ipc = false, uts = false;
    int clone_flags() const;
    std::vector<std::string> names() const;  // "user", "mount", ...
    bool all() const { return user && mount && pid && net && ipc && uts; }
};

// The uid and gid the script sees inside its user namespace (mapped to the caller's own ids outside:
// files the script writes belong to the caller, and it holds no capability anywhere).
inline constexpr uid_t kSandboxUid = 1000;
inline constexpr gid_t kSandboxGid = 1000;

// Which namespaces this kernel lets us create, probed one by one in throw-away children.
Set probe();

struct Plan {
    Set set;
    uid_t outer_uid = 0;
    gid_t outer_gid = 0;
    // Files bind-mounted read-only over system files in the sandbox's mount namespace (source, target):
    // the generated /etc/hosts and /etc/resolv.conf of a run with allowed domains.
    std::vector<std::pair<std::string, std::string>> binds;
    // With a mount namespace the whole tree is read-only but these (the plan's writable grants: the
    // policy's allowed_paths, /dev/null): Landlock does not cover chmod, utimes or xattrs, and the
    // sandbox's uid is the caller's own outside, so without this a script could change the metadata of
    // any file the caller owns. Each is opened again in the child without following links and must be
    // the object the plan opened (st_dev, st_ino): a path swapped for a link or another directory in
    // between is refused. Writable mounts are nosuid, nodev and noexec (a device keeps nodev off).
    struct Mount {
        std::string path;
        dev_t dev = 0;
        ino_t ino = 0;
        bool device = false;
    };
    std::vector<Mount> writable;
    // The run's private /tmp and /dev/shm (plan::PrivateTmp): one tmpfs of `size_bytes` and `inodes`,
    // nosuid, nodev and noexec, whose directories `tmp` and `shm` are bound at /tmp and /dev/shm (one
    // budget for both). The host's grants below them are bound in at their place, each from `source`
    // opened without following links and checked to be the object the plan opened; a working directory
    // below /tmp is made there, empty but for what is bound into it.
    struct Scratch {
        bool on = false;
        std::string tmpdir;  // a scratch directory to make in the private /tmp (plan::PrivateTmp), or "" 
        long long size_bytes = 0, inodes = 0;
        struct Bind {
            std::string path;    // where it appears in the sandbox
            std::string source;  // the host's path, every link resolved
            dev_t dev = 0;
            ino_t ino = 0;
            bool is_dir = true;
        };
        std::vector<Bind> binds;
    } scratch;
};

// What finish() set up besides the layer itself.
struct Finished {
    bool proc_mounted = false;  // a fresh /proc could be mounted
    // The private /tmp and /dev/shm, O_PATH, opened after they were mounted (for their Landlock rule and
    // the init's final statfs); -1 when not made (no mount namespace, private_tmp false, no /dev/shm).
    int scratch_fds[3] = {-1, -1, -1};  // /tmp, /dev/shm, the scratch directory
};

// In the child, right after clone(): maps, mounts, hostname, then drop all capabilities.
// Async-signal-safe: no allocation.
Status finish(const Plan& plan, Finished& out);

// Drop every capability (effective, permitted, inheritable, bounding, ambient).
Status drop_capabilities();

}  // namespace hive::namespaces
