// The seccomp filter's rules (seccomp.h lists them) and their compilation with libseccomp. Compiled in
// two places: hive_layers (the run-time fallback, and describe()) and hive-seccomp-gen (the build-time
// templates), so that both compile the very same rules.
#include "sandbox/seccomp_rules.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "common/unique_fd.h"

namespace hive::seccomp {
namespace {

// Syscalls newer than this libseccomp's tables, by their x86_64 number.
struct KnownNumber {
    const char* name;
    int nr;
};
constexpr KnownNumber kByNumber[] = {
    {"fchmodat2", 452},
};

// Ends the whole process: SCMP_ACT_KILL only ends the calling thread.
constexpr std::uint32_t kKill = SCMP_ACT_KILL_PROCESS;

// The syscalls no script has a use for, whose only purpose in a sandbox is to get out of it or to reach
// the host: debugging other processes, mounts, the kernel's own state, io_uring (its operations bypass
// seccomp), and namespace changes once set-up is done.
constexpr const char* kKilled[] = {
    "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
    "mount_setattr", "pivot_root", "chroot",
    "kexec_load", "kexec_file_load", "bpf", "init_module", "finit_module", "delete_module",
    "perf_event_open", "add_key", "request_key", "keyctl", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "unshare", "setns", "personality", "acct", "swapon", "swapoff", "reboot",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "open_by_handle_at", "iopl", "ioperm",
    "pidfd_getfd",  // taking another process's fds (the sandbox init's report pipe, say)
};

constexpr const char* kChmod[] = {"chmod", "fchmod", "fchmodat", "fchmodat2"};
constexpr const char* kChown[] = {"chown", "fchown", "lchown", "fchownat"};
constexpr const char* kXattrSet[] = {"setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr",
                                     "fremovexattr"};
constexpr const char* kDelete[] = {"unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2"};

// CLONE_NEWTIME (0x80) is absent on purpose: in clone()'s flags those bits are the exit signal; only
// clone3 and unshare take it, and both are handled whole.
constexpr std::uint64_t kCloneNewFlags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                            CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET};

struct CtxDeleter {
    void operator()(scmp_filter_ctx c) const { seccomp_release(c); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

// Where the rules go: into libseccomp (compile), or only counted (describe).
class Sink {
public:
    virtual ~Sink() = default;
    virtual void add(std::uint32_t action, const char* name, std::initializer_list<scmp_arg_cmp> args = {}) = 0;
};

class LibseccompSink : public Sink {
public:
    explicit LibseccompSink(scmp_filter_ctx ctx) : ctx_(ctx) {}

    static int resolve(const char* name) {
        int nr = seccomp_syscall_resolve_name(name);
        if (nr != __NR_SCMP_ERROR) return nr;
        for (const auto& k : kByNumber)
            if (std::string_view(k.name) == name) return k.nr;
        return __NR_SCMP_ERROR;
    }

    // `libseccomp` returns -errno; keep the first failure and report it once at the end.
    void add(std::uint32_t action, const char* name, std::initializer_list<scmp_arg_cmp> args) override {
        if (!status_.ok()) return;
        int nr = resolve(name);
        if (nr == __NR_SCMP_ERROR) {
            if (std::find(unknown_.begin(), unknown_.end(), name) == unknown_.end()) unknown_.push_back(name);
            return;
        }
        int rc = seccomp_rule_add_array(ctx_, action, nr, static_cast<unsigned>(args.size()),
                                        args.size() ? args.begin() : nullptr);
        if (rc < 0) {
            status_ = Error::from_errno("seccomp_rule_add", name, -rc);
            return;
        }
        ++rules_;
    }

    Status status() const { return status_; }
    int rules() const { return rules_; }
    const std::vector<std::string>& unknown() const { return unknown_; }

private:
    scmp_filter_ctx ctx_;
    Status status_;
    int rules_ = 0;
    std::vector<std::string> unknown_;
};

// Counts what LibseccompSink would add, given the names it did not know.
class CountingSink : public Sink {
public:
    explicit CountingSink(const std::vector<std::string>& unknown) : unknown_(unknown) {}
    void add(std::uint32_t, const char* name, std::initializer_list<scmp_arg_cmp>) override {
        if (std::find(unknown_.begin(), unknown_.end(), name) == unknown_.end()) ++rules_;
    }
    int rules() const { return rules_; }

private:
    const std::vector<std::string>& unknown_;
    int rules_ = 0;
};

// 32-bit compare: the kernel truncates int/unsigned-int arguments, so a 64-bit EQ could be dodged by
// setting the upper half of the register.
scmp_arg_cmp eq32(unsigned arg, std::uint32_t value) {
    return SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, 0xffffffffULL, value);
}

std::string join(const char* const* names, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        if (i) s += ", ";
        s += names[i];
    }
    return s;
}

Status export_program(scmp_filter_ctx ctx, std::vector<sock_filter>& program) {
    UniqueFd mem(::memfd_create("hive-seccomp-bpf", MFD_CLOEXEC));
    if (!mem.valid()) return errno_error("memfd_create", "hive-seccomp-bpf");
    if (int rc = seccomp_export_bpf(ctx, mem.get()); rc < 0)
        return Error::from_errno("seccomp_export_bpf", "memfd", -rc);
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    if (size < 0) return errno_error("lseek", "memfd");
    if (size == 0 || size % sizeof(sock_filter) != 0)
        return Error{"seccomp_export_bpf: unexpected program size " + std::to_string(size), 0};
    program.resize(static_cast<std::size_t>(size) / sizeof(sock_filter));
    std::size_t done = 0;
    auto* bytes = reinterpret_cast<char*>(program.data());
    while (done < static_cast<std::size_t>(size)) {
        ssize_t n = ::pread(mem.get(), bytes + done, static_cast<std::size_t>(size) - done,
                            static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno_error("pread", "memfd");
        done += static_cast<std::size_t>(n);
    }
    return {};
}

// No setuid/setgid bit on anything the script makes or changes, under every policy. The sandbox's uid is
// the caller's outside (namespaces.cc): run by root, a file made u+s in a writable path would be a
// setuid-root program for every local user, and a g+s one would carry the caller's group. No script
// needs them: a governance script has no programs to install. Refused with EPERM, as the kernel
// refuses a mode it does not allow; every call that takes a mode is covered:
//  - chmod, fchmod, fchmodat, fchmodat2 (the mode is their 2nd or 3rd argument), unless chmod is blocked
//    whole by the policy;
//  - open, openat, creat with O_CREAT or O_TMPFILE (the only flags with which the kernel reads the mode;
//    an O_TMPFILE file is linked in later with its mode);
//  - mkdir, mkdirat (the kernel drops both bits from mkdir's mode: refused anyway, so that asking for
//    one gets the same answer everywhere), mknod, mknodat (which keeps them on a regular file or fifo);
//  - openat2 carries its mode inside a struct seccomp cannot read: ENOSYS, as on a kernel before 5.6.
//    Neither CPython 3.11 nor glibc 2.36 calls it (their binaries do not name it).
// Masked compares only look at the low bits the kernel reads (mode is an umode_t, flags an int), so the
// upper half of a register cannot hide a bit. A directory made in a setgid directory still inherits its
// S_ISGID from the kernel, which does not make it a privileged program.
void add_mode_bit_rules(const Shape& shape, Sink& b, std::vector<std::string>& summary) {
    constexpr std::uint64_t kModeBits[] = {S_ISUID, S_ISGID};
    // The kernel's __O_TMPFILE bit alone (glibc's __O_TMPFILE adds O_DIRECTORY): the kernel refuses the
    // bit without O_DIRECTORY, so matching the one bit is the stricter test.
    constexpr std::uint64_t kCreateFlags[] = {O_CREAT, 020000000};
    auto bit = [](unsigned arg, std::uint64_t m) { return SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, m, m); };
    struct ModeArg {
        const char* name;
        unsigned mode;
    };
    if (!shape.chmod) {
        for (const ModeArg& c : {ModeArg{"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}})
            for (std::uint64_t m : kModeBits) b.add(SCMP_ACT_ERRNO(EPERM), c.name, {bit(c.mode, m)});
    }
    for (const ModeArg& c : {ModeArg{"creat", 1}, {"mkdir", 1}, {"mkdirat", 2}, {"mknod", 1}, {"mknodat", 2}})
        for (std::uint64_t m : kModeBits) b.add(SCMP_ACT_ERRNO(EPERM), c.name, {bit(c.mode, m)});
    struct OpenArgs {
        const char* name;
        unsigned flags, mode;
    };
    for (const OpenArgs& c : {OpenArgs{"open", 1, 2}, {"openat", 2, 3}})
        for (std::uint64_t f : kCreateFlags)
            for (std::uint64_t m : kModeBits) b.add(SCMP_ACT_ERRNO(EPERM), c.name, {bit(c.flags, f), bit(c.mode, m)});
    b.add(SCMP_ACT_ERRNO(ENOSYS), "openat2");
    summary.push_back(std::string("EPERM: S_ISUID/S_ISGID in the mode of ") +
                      (shape.chmod ? "" : "chmod, fchmod, fchmodat, fchmodat2, ") +
                      "creat, mkdir, mkdirat, mknod, mknodat, open/openat with O_CREAT or O_TMPFILE; "
                      "ENOSYS: openat2 (its mode is out of seccomp's reach)");
}

// Sockets: socketpair for a pair inside the run only, and socket() as the network mode allows.
void add_socket_rules(const Shape& shape, Sink& b, std::vector<std::string>& summary) {
    // socketpair: AF_UNIX SOCK_STREAM only, under every policy (asyncio's self-pipe, multiprocessing's
    // Pipe: a pair inside the run). A datagram pair is a way out: sendmsg/sendto with an address send
    // from it to any host unix socket the caller's uid may write (/dev/log, journald's socket), network
    // namespace or not. A connected stream socket refuses an address (EISCONN) and cannot connect again.
    b.add(SCMP_ACT_ERRNO(EPERM), "socketpair", {SCMP_A0(SCMP_CMP_NE, AF_UNIX)});
    for (std::uint64_t type = 0; type < 16; ++type)
        if (type != SOCK_STREAM) b.add(SCMP_ACT_ERRNO(EPERM), "socketpair", {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, type)});
    summary.push_back("EPERM: socketpair other than AF_UNIX SOCK_STREAM");
    if (!shape.inet) {
        // Every family, AF_UNIX included: a unix socket reaches host daemons under /run.
        b.add(SCMP_ACT_ERRNO(EPERM), "socket");
        summary.push_back("EPERM: socket (every family)");
    } else {
        // With domains allowed the script may open TCP sockets (AF_INET/AF_INET6, SOCK_STREAM) and nothing
        // else: no AF_UNIX (host daemons' sockets), no UDP (DNS tunnelling), no raw or packet sockets. The
        // connect() itself goes to the parent through the user-notification filter (prepare_connect_notify).
        b.add(SCMP_ACT_ERRNO(EPERM), "socket", {SCMP_A0(SCMP_CMP_EQ, 0)});
        b.add(SCMP_ACT_ERRNO(EPERM), "socket", {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)});
        for (int family = 3; family <= 9; ++family)
            b.add(SCMP_ACT_ERRNO(EPERM), "socket", {SCMP_A0(SCMP_CMP_EQ, std::uint64_t(family))});
        b.add(SCMP_ACT_ERRNO(EPERM), "socket", {SCMP_A0(SCMP_CMP_GE, 11)});
        for (std::uint64_t type = 0; type < 16; ++type)
            if (type != SOCK_STREAM) b.add(SCMP_ACT_ERRNO(EPERM), "socket", {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, type)});
        // TCP Fast Open connects from sendto/sendmsg without a connect() the parent would see.
        b.add(SCMP_ACT_ERRNO(EPERM), "sendto", {SCMP_A3(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN)});
        b.add(SCMP_ACT_ERRNO(EPERM), "sendmsg", {SCMP_A2(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN)});
        b.add(SCMP_ACT_ERRNO(EPERM), "sendmmsg", {SCMP_A3(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN)});
        summary.push_back("EPERM: socket other than AF_INET/AF_INET6 SOCK_STREAM; MSG_FASTOPEN");
    }
}

// The rules, in the order they are added, and their summary lines.
void add_rules(const Shape& shape, const std::vector<int>& protected_fds, Sink& b, std::vector<std::string>& summary) {

    for (const char* name : kKilled) b.add(kKill, name);
    for (std::uint64_t flag : kCloneNewFlags)
        b.add(kKill, "clone", {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)});
    summary.push_back("kill process: " + join(kKilled, std::size(kKilled)) +
                          "; clone with CLONE_NEW* flags; foreign architectures (i386, x32)");

    b.add(SCMP_ACT_ERRNO(ENOSYS), "clone3");
    summary.push_back("ENOSYS: clone3 (the C library falls back to clone, whose flags are checked)");

    if (shape.chmod) {
        for (const char* name : kChmod) b.add(SCMP_ACT_ERRNO(EPERM), name);
        summary.push_back("EPERM: " + join(kChmod, std::size(kChmod)));
    }
    add_mode_bit_rules(shape, b, summary);
    if (shape.chown) {
        for (const char* name : kChown) b.add(SCMP_ACT_ERRNO(EPERM), name);
        summary.push_back("EPERM: " + join(kChown, std::size(kChown)));
    }
    if (shape.chmod || shape.chown) {
        // An ACL (system.posix_acl_access) is a chmod by other means; owner-like xattrs likewise.
        for (const char* name : kXattrSet) b.add(SCMP_ACT_ERRNO(EPERM), name);
        summary.push_back("EPERM: " + join(kXattrSet, std::size(kXattrSet)));
    }
    // The sandbox shares the caller's controlling terminal. Pushing keystrokes into it (TIOCSTI) or its
    // console (TIOCLINUX) would run commands in the user's shell after the run; changing its line
    // discipline (TIOCSETD, N_NULL say) leaves it dead after the run. Termios and the window size are
    // restored by the parent instead (supervisor/terminal.h): a script may set a terminal raw.
    b.add(SCMP_ACT_ERRNO(EPERM), "ioctl", {eq32(1, TIOCSTI)});
    b.add(SCMP_ACT_ERRNO(EPERM), "ioctl", {eq32(1, TIOCLINUX)});
    b.add(SCMP_ACT_ERRNO(EPERM), "ioctl", {eq32(1, TIOCSETD)});
    // On a virtual console the keyboard and its maps are the console's, shared by every later login:
    // the KD* (0x4Bxx: keyboard mode, key maps, function-key strings, text/graphics mode) and VT_*
    // (0x56xx: switching and locking consoles) requests are refused as a whole.
    b.add(SCMP_ACT_ERRNO(EPERM), "ioctl", {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffff00, 0x4b00)});
    b.add(SCMP_ACT_ERRNO(EPERM), "ioctl", {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffff00, 0x5600)});
    summary.push_back("EPERM: ioctl TIOCSTI, TIOCLINUX, TIOCSETD, KD* (0x4Bxx), VT_* (0x56xx)");
    if (shape.del) {
        for (const char* name : kDelete) b.add(SCMP_ACT_ERRNO(EPERM), name);
        summary.push_back("EPERM: " + join(kDelete, std::size(kDelete)));
    }

    add_socket_rules(shape, b, summary);

    if (!shape.exec) {
        b.add(SCMP_ACT_ERRNO(EPERM), "execve");
        b.add(SCMP_ACT_ERRNO(EPERM), "execveat");
        summary.push_back("EPERM: execve, execveat");
    }

    if (!protected_fds.empty()) {
        std::string fds;
        for (int fd : protected_fds) {
            b.add(SCMP_ACT_ERRNO(EPERM), "close", {eq32(0, fd)});
            b.add(SCMP_ACT_ERRNO(EPERM), "dup2", {eq32(1, fd)});
            b.add(SCMP_ACT_ERRNO(EPERM), "dup3", {eq32(1, fd)});
            if (!fds.empty()) fds += ',';
            fds += std::to_string(fd);
        }
        // close_range(first, last) is refused (ENOSYS: CPython's os.closerange, subprocess and glibc then
        // fall back to close(), which the rules above check) when [first, last] meets
        // [lowest, highest] protected fd. The kernel reads both bounds as unsigned int, and a 64-bit
        // compare of a register whose upper half is set would pass a range the kernel truncates into the
        // protected fds: any bound above 32 bits is refused too. A range clear of them is allowed, so
        // closing everything above the channel costs one call, not one per fd.
        auto [lo, hi] = std::minmax_element(protected_fds.begin(), protected_fds.end());
        b.add(SCMP_ACT_ERRNO(ENOSYS), "close_range", {SCMP_A0(SCMP_CMP_GT, 0xffffffffULL)});
        b.add(SCMP_ACT_ERRNO(ENOSYS), "close_range", {SCMP_A1(SCMP_CMP_GT, 0xffffffffULL)});
        b.add(SCMP_ACT_ERRNO(ENOSYS), "close_range",
              {SCMP_A0(SCMP_CMP_LE, std::uint64_t(*hi)), SCMP_A1(SCMP_CMP_GE, std::uint64_t(*lo))});
        summary.push_back("EPERM: close/dup2/dup3 onto protected fds " + fds +
                              "; ENOSYS: close_range over " + std::to_string(*lo) + ".." +
                              std::to_string(*hi));
    }
}

void add_summary_trailer(std::vector<std::string>& summary, const std::vector<std::string>& unknown, int rules) {
    if (!unknown.empty()) {
        std::string names;
        for (const auto& n : unknown) names += (names.empty() ? "" : ", ") + n;
        summary.push_back("not filtered (unknown syscall): " + names);
    }
    summary.push_back(std::to_string(rules) + " rules");
}

}  // namespace

Result<Compiled> compile(const Shape& shape, const std::vector<int>& protected_fds) {
    Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
    if (!ctx) return Error{"seccomp_init(SCMP_ACT_ALLOW): failed", 0};
    // A filter is per architecture: a syscall made through another ABI (i386 via int 0x80) would be
    // matched against nothing, so any architecture but the native one ends the process.
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, kKill); rc < 0)
        return Error::from_errno("seccomp_attr_set", "ACT_BADARCH", -rc);
    // Binary-tree dispatch: fewer instructions per syscall than a linear list of ~60 rules.
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
        return Error::from_errno("seccomp_attr_set", "CTL_OPTIMIZE", -rc);

    Compiled out;
    LibseccompSink sink(ctx.get());
    add_rules(shape, protected_fds, sink, out.summary);
    HIVE_TRY(sink.status());
    out.unknown = sink.unknown();
    add_summary_trailer(out.summary, out.unknown, sink.rules());
    HIVE_TRY(export_program(ctx.get(), out.program));
    return out;
}

std::vector<std::string> describe(const Shape& shape, const std::vector<int>& protected_fds,
                                  const std::vector<std::string>& unknown) {
    std::vector<std::string> summary;
    CountingSink sink(unknown);
    add_rules(shape, protected_fds, sink, summary);
    add_summary_trailer(summary, unknown, sink.rules());
    return summary;
}

Result<std::vector<sock_filter>> compile_connect_notify() {
    Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
    if (!ctx) return Error{"seccomp_init(SCMP_ACT_ALLOW): failed", 0};
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0); rc < 0)
        return Error::from_errno("seccomp_rule_add", "connect SCMP_ACT_NOTIFY", -rc);
    std::vector<sock_filter> program;
    HIVE_TRY(export_program(ctx.get(), program));
    return program;
}

}  // namespace hive::seccomp
