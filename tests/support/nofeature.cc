// nofeature: run a command on a "machine" that lacks a kernel feature, the way a container that forbids
// it would look to hive-py: a seccomp filter (inherited by everything the command starts) makes the
// feature's syscalls fail. Used to test `enforcement: strict | best_effort` and set-up failure reports.
//
//   nofeature [--no-userns] [--no-mountns] [--no-landlock] [--fail-landlock-restrict] [--fail SYSCALL=ERRNO]... -- COMMAND ARGS...
//
// --fail makes one syscall fail with an errno given by name (EIO, ENOSYS, EMFILE, ...): for the tests
// that show hive-py checks that call's result.
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    int i = 1;
    for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
        if (!std::strcmp(argv[i], "--no-userns")) {
            // clone()/unshare() asking for a user namespace fail as in a container that forbids them.
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
        } else if (!std::strcmp(argv[i], "--no-mountns")) {
            // Mount namespaces refused (a container that forbids them): the private /tmp cannot be made.
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWNS, CLONE_NEWNS));
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWNS, CLONE_NEWNS));
        } else if (!std::strcmp(argv[i], "--no-landlock")) {
            // A kernel built without Landlock.
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("landlock_create_ruleset"), 0);
        } else if (!std::strcmp(argv[i], "--fail-landlock-restrict")) {
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(E2BIG), seccomp_syscall_resolve_name("landlock_restrict_self"), 0);
        } else if (!std::strcmp(argv[i], "--fail") && i + 1 < argc) {
            const char* spec = argv[++i];
            const char* eq = std::strchr(spec, '=');
            int err = 0;
            for (int e = 1; eq && e < 134; ++e)
                if (const char* n = strerrorname_np(e); n && !std::strcmp(n, eq + 1)) err = e;
            const int nr = eq ? seccomp_syscall_resolve_name(std::string(spec, eq).c_str()) : __NR_SCMP_ERROR;
            if (!err || nr == __NR_SCMP_ERROR || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 0) != 0) {
                std::fprintf(stderr, "nofeature: --fail %s: expected SYSCALL=ERRNO (e.g. getrandom=EIO)\n", spec);
                return 2;
            }
        } else {
            std::fprintf(stderr, "nofeature: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i + 1 >= argc) {
        std::fprintf(stderr, "usage: nofeature [--no-userns] [--no-mountns] [--no-landlock] [--fail-landlock-restrict] -- CMD...\n");
        return 2;
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (seccomp_load(ctx) != 0) {
        std::perror("seccomp_load");
        return 2;
    }
    execv(argv[i + 1], argv + i + 1);
    std::perror("execv");
    return 127;
}
