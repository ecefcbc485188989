#include "sandbox/namespaces.h"
#include "common/trace.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

namespace hive::namespaces {

int Set::clone_flags() const {
    return (user ? CLONE_NEWUSER : 0) | (mount ? CLONE_NEWNS : 0) | (pid ? CLONE_NEWPID : 0) |
           (net ? CLONE_NEWNET : 0) | (ipc ? CLONE_NEWIPC : 0) | (uts ? CLONE_NEWUTS : 0);
}

std::vector<std::string> Set::names() const {
    std::vector<std::string> v;
    if (user) v.push_back("user");
    if (mount) v.push_back("mount");
    if (pid) v.push_back("pid");
    if (net) v.push_back("net");
    if (ipc) v.push_back("ipc");
    if (uts) v.push_back("uts");
    return v;
}

Set probe() {
    auto can = [](int flag) {
        pid_t pid = fork();
        if (pid < 0) return false;
        if (pid == 0) {
            // A user namespace first lets an unprivileged caller create the others, as the real run does.
            int extra = flag == CLONE_NEWUSER ? 0 : (geteuid() != 0 ? CLONE_NEWUSER : 0);
            _exit(unshare(flag | extra) == 0 ? 0 : 1);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0;
    };
    Set s;
    s.user = can(CLONE_NEWUSER);
    s.mount = can(CLONE_NEWNS);
    s.pid = can(CLONE_NEWPID);
    s.net = can(CLONE_NEWNET);
    s.ipc = can(CLONE_NEWIPC);
    s.uts = can(CLONE_NEWUTS);
    return s;
}

namespace {

Status write_file(const char* path, const char* text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno_error("open", path);
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    if (n != ssize_t(strlen(text))) return Error::from_errno("write", path, n < 0 ? e : EIO);
    return {};
}

// <linux/mount.h> clashes with glibc's <sys/mount.h>: the definitions the new mount API needs.
struct MountAttr {
    std::uint64_t attr_set, attr_clr, propagation, userns_fd;
};
constexpr std::uint64_t kMountAttrRdonly = 0x1, kMountAttrNosuid = 0x2, kMountAttrNodev = 0x4,
                        kMountAttrNoexec = 0x8;
constexpr unsigned kOpenTreeClone = 1, kMoveMountFEmptyPath = 0x4, kMoveMountTEmptyPath = 0x40;
constexpr std::size_t kMaxWritable = 128;

Status set_mount_attr(int dfd, const char* path, unsigned flags, std::uint64_t set, std::uint64_t clr,
                      const char* what) {
    MountAttr attr{};
    attr.attr_set = set;
    attr.attr_clr = clr;
    if (syscall(__NR_mount_setattr, dfd, path, flags | AT_RECURSIVE, &attr, sizeof attr) != 0)
        return errno_error("mount_setattr", what);
    return {};
}

// The writable path as the plan opened it, opened again here without following links: -1 when it does
// not exist (a missing allowed path stays missing, as in Landlock).
Result<int> open_planned(const std::string& path, dev_t dev, ino_t ino, const char* what) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = int(syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how));
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return -1;
        return errno_error("openat2", path);
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        const int e = errno;
        close(fd);
        return Error::from_errno("fstat", path, e);
    }
    if (st.st_dev != dev || st.st_ino != ino) {
        close(fd);
        return Error{std::string(what) + " " + path + " is not the one the run was planned with (replaced meanwhile)",
                     EXDEV};
    }
    return fd;
}
Result<int> open_planned(const Plan::Mount& m) { return open_planned(m.path, m.dev, m.ino, "writable path"); }

// Everything read-only (EROFS for any write, chmod, utimes or xattr change), then the writable paths
// made writable again: each is cloned onto itself (open_tree + move_mount on the fd opened above, so the
// mount is made on exactly that object) so that it is a mount of its own.
Status read_only_tree(const std::vector<Plan::Mount>& writable) {
    // NB: the working directory still points into the mounts as they were; it is entered again at the
    // end, or a cwd inside an allowed path would stay on the now read-only mount below its bind.
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return errno_error("getcwd", "");
    if (writable.size() > kMaxWritable) return Error{"more than 128 writable paths", E2BIG};
    int trees[kMaxWritable];
    bool device[kMaxWritable];
    const char* names[kMaxWritable];
    std::size_t n = 0;
    auto close_all = [&] {
        for (std::size_t i = 0; i < n; ++i) close(trees[i]);
    };
    for (const auto& m : writable) {
        auto fd = open_planned(m);
        if (!fd) {
            close_all();
            return fd.error();
        }
        if (*fd < 0) continue;
        int tree = int(syscall(SYS_open_tree, *fd, "", kOpenTreeClone | O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
        if (tree < 0 || syscall(SYS_move_mount, tree, "", *fd, "", kMoveMountFEmptyPath | kMoveMountTEmptyPath) != 0) {
            const int e = errno;
            if (tree >= 0) close(tree);
            close(*fd);
            close_all();
            return Error::from_errno(tree < 0 ? "open_tree" : "move_mount", m.path, e);
        }
        close(*fd);
        device[n] = m.device;
        names[n] = m.path.c_str();
        trees[n++] = tree;
    }
    Status st = set_mount_attr(AT_FDCWD, "/", 0, kMountAttrRdonly, 0, "/");
    for (std::size_t i = 0; i < n && st.ok(); ++i) {
        // What a script writes there never becomes a setuid program, a device or native code it can map.
        const std::uint64_t set = device[i] ? kMountAttrNosuid | kMountAttrNoexec
                                            : kMountAttrNosuid | kMountAttrNodev | kMountAttrNoexec;
        st = set_mount_attr(trees[i], "", AT_EMPTY_PATH, set, kMountAttrRdonly, names[i]);
    }
    close_all();
    if (!st.ok()) return st;
    if (chdir(cwd) != 0) return errno_error("chdir", cwd);
    return {};
}

// `path`'s missing directories made in the tree as it is now mounted (the private /tmp), then the last
// component: a directory, or an empty file to bind a file onto.
Status make_mountpoint(const char* path, bool is_dir) {
    char buf[4096];
    const std::size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return Error{"mount point too long", ENAMETOOLONG};
    memcpy(buf, path, n + 1);
    for (std::size_t i = 1; i < n; ++i) {
        if (buf[i] != '/') continue;
        buf[i] = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return errno_error("mkdir", buf);
        buf[i] = '/';
    }
    if (is_dir) {
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return errno_error("mkdir", buf);
        return {};
    }
    int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return errno_error("open", std::string(buf) + ", O_CREAT");
    close(fd);
    return {};
}

bool below(const char* path, const char* dir) {
    const std::size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

// A detached copy of the host's tree at `b.source` (the plan's object), made before the tmpfs hides it.
Result<int> clone_planned(const Plan::Scratch::Bind& b) {
    auto fd = open_planned(b.source, b.dev, b.ino, "path to bind into the private /tmp");
    if (!fd) return fd.error();
    if (*fd < 0) return -1;  // gone meanwhile: nothing to bind, as for a missing grant
    int tree = int(syscall(SYS_open_tree, *fd, "", kOpenTreeClone | O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
    const int e = errno;
    close(*fd);
    if (tree < 0) return Error::from_errno("open_tree", b.source, e);
    return tree;
}

Status move_tree(int tree, const char* to) {
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, to, kMoveMountFEmptyPath) != 0) return errno_error("move_mount", to);
    return {};
}

// The private /tmp and /dev/shm (namespaces.h: Scratch), once the tree is read-only (read_only_tree):
// the host's trees below them are cloned first (the clones keep the mount flags read_only_tree gave
// them: read-only, or a writable grant's own mount), then the tmpfs hides the host's /tmp.
Status private_tmp(const Plan::Scratch& sc, Finished& out) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return errno_error("getcwd", "");
    if (sc.binds.size() > kMaxWritable) return Error{"more than 128 paths to bind into the private /tmp", E2BIG};
    int trees[kMaxWritable];
    std::size_t n = 0;
    auto close_all = [&] {
        for (std::size_t i = 0; i < n; ++i)
            if (trees[i] >= 0) close(trees[i]);
    };
    for (const auto& b : sc.binds) {
        auto t = clone_planned(b);
        if (!t) {
            close_all();
            return t.error();
        }
        trees[n++] = *t;
    }
    auto fail = [&](Status st) {
        close_all();
        return st;
    };
    char opts[96];
    snprintf(opts, sizeof opts, "size=%lld,nr_inodes=%lld,mode=0755", sc.size_bytes, sc.inodes);
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) != 0)
        return fail(errno_error("mount", std::string("tmpfs /tmp ") + opts));
    // One tmpfs, one budget: its directories tmp and shm become /tmp and /dev/shm (the bind mounts keep
    // its nosuid, nodev, noexec); its root stays hidden beneath.
    for (const char* d : {"/tmp/tmp", "/tmp/shm"}) {
        if (mkdir(d, 0700) != 0) return fail(errno_error("mkdir", d));
        if (chmod(d, 01777) != 0) return fail(errno_error("chmod", d));  // as a /tmp is (umask aside)
    }
    struct stat st {};
    const bool shm = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode);
    for (auto [from, to] : {std::pair{"/tmp/shm", "/dev/shm"}, std::pair{"/tmp/tmp", "/tmp"}}) {
        if (!shm && to[1] == 'd') continue;
        int t = int(syscall(SYS_open_tree, AT_FDCWD, from, kOpenTreeClone | O_CLOEXEC));
        if (t < 0) return fail(errno_error("open_tree", from));
        Status moved = move_tree(t, to);
        close(t);
        if (!moved.ok()) return fail(moved);
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (trees[i] < 0) continue;
        const auto& b = sc.binds[i];
        if (Status m = make_mountpoint(b.path.c_str(), b.is_dir); !m.ok()) return fail(m);
        if (Status m = move_tree(trees[i], b.path.c_str()); !m.ok()) return fail(m);
    }
    close_all();
    // A working directory below them is made anew (empty but for what is bound into it) and entered: the
    // old one is the host's, and a relative path must not reach the host's /tmp through it.
    if (below(cwd, "/tmp") || (shm && below(cwd, "/dev/shm")))
        if (Status m = make_mountpoint(cwd, true); !m.ok()) return m;
    if (chdir(cwd) != 0) return errno_error("chdir", cwd);
    out.scratch_fds[0] = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (out.scratch_fds[0] < 0) return errno_error("open", "/tmp (private)");
    if (shm) {
        out.scratch_fds[1] = open("/dev/shm", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (out.scratch_fds[1] < 0) return errno_error("open", "/dev/shm (private)");
    }
    if (!sc.tmpdir.empty()) {
        if (mkdir(sc.tmpdir.c_str(), 0700) != 0) return errno_error("mkdir", sc.tmpdir);
        out.scratch_fds[2] = open(sc.tmpdir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (out.scratch_fds[2] < 0) return errno_error("open", sc.tmpdir);
    }
    return {};
}

}  // namespace

Status drop_capabilities() {
    // Up to the kernel's last capability: the first EINVAL means there is no such capability number.
    for (int cap = 0; cap <= 63; ++cap) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            if (errno == EINVAL) break;
            return errno_error("prctl", "PR_CAPBSET_DROP");
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return errno_error("prctl", "PR_CAP_AMBIENT_CLEAR_ALL");
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capset, &hdr, data) != 0) return errno_error("capset", "all capabilities to none");
    return {};
}

Status finish(const Plan& plan, Finished& out) {
    bool& proc_mounted = out.proc_mounted;
    proc_mounted = false;
    const Set& s = plan.set;
    if (s.user) {
        // One line each: the sandbox's uid/gid 1000 is the caller's own id outside. "deny" on setgroups
        // first: the kernel requires it before an unprivileged gid_map.
        char line[64];
        HIVE_TRY(write_file("/proc/self/setgroups", "deny"));
        snprintf(line, sizeof line, "%u %u 1\n", unsigned(kSandboxUid), unsigned(plan.outer_uid));
        HIVE_TRY(write_file("/proc/self/uid_map", line));
        snprintf(line, sizeof line, "%u %u 1\n", unsigned(kSandboxGid), unsigned(plan.outer_gid));
        HIVE_TRY(write_file("/proc/self/gid_map", line));
    }
    HIVE_MARK("i.maps");
    if (s.mount) {
        // Nothing we mount may propagate back to the host.
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            return errno_error("mount", "/ MS_REC|MS_PRIVATE");
        if (s.pid) {
            // A /proc of the new pid namespace: the script sees only the sandbox's processes. Landlock
            // keeps /proc closed anyway; a kernel that refuses this mount (a container with masked
            // /proc paths) leaves the host's /proc in place, still closed by Landlock.
            proc_mounted = mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0;
        }
        for (const auto& [src, dst] : plan.binds) {
            if (mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0) return errno_error("mount --bind", dst);
            if (mount(nullptr, dst.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
                return errno_error("mount -o remount,ro", dst);
        }
        HIVE_MARK("i.proc_binds");
        HIVE_TRY(read_only_tree(plan.writable));
        HIVE_MARK("i.ro_tree");
        if (plan.scratch.on) HIVE_TRY(private_tmp(plan.scratch, out));
        HIVE_MARK("i.private_tmp");
    } else if (!plan.binds.empty()) {
        return Error{"the network allow-list needs a mount namespace for its hosts file", ENOSYS};
    }
    if (s.uts && sethostname("hive-py", 7) != 0) return errno_error("sethostname", "hive-py");
    if (s.user) {
        if (setresgid(kSandboxGid, kSandboxGid, kSandboxGid) != 0) return errno_error("setresgid", "1000");
        if (setresuid(kSandboxUid, kSandboxUid, kSandboxUid) != 0) return errno_error("setresuid", "1000");
    }
    HIVE_MARK("i.creds");
    return drop_capabilities();
}

}  // namespace hive::namespaces
