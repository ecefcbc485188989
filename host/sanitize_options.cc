// The sanitizer build's runtime options (-DHIVE_SANITIZE=ON only; linked into every executable of that
// build). Compiled in rather than read from ASAN_OPTIONS because hive-py's tests, like its users, run
// it with a clean environment, and the sandbox's processes are forks that inherit what the runtime read
// at the parent's start. ASAN_OPTIONS/UBSAN_OPTIONS in the environment still override these.
//
// - allocator_may_return_null: an allocation the memory limit refuses returns NULL (Python's MemoryError,
//   as in the normal build) instead of ASan ending the process with a report.
// - handle_segv/sigbus/sigfpe/sigill/abort=0: the script's own crashes (ctypes, os.abort) end it with
//   the signal, as in the normal build (tests check 128+N), not with ASan's report and exit code.
// - detect_leaks=0: LeakSanitizer's exit-time check runs in every process that calls exit(), the
//   script's process included, and there it needs /proc/<pid>/task (Landlock closes /proc) and ptrace
//   (seccomp kills it): it failed with "LeakSanitizer has encountered a fatal error" and exit code 1,
//   instead of the script's. `ASAN_OPTIONS=detect_leaks=1` turns it on for a test program by hand.
#ifdef HIVE_SANITIZE
extern "C" const char* __asan_default_options() {
    return "allocator_may_return_null=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:"
           "handle_abort=0:detect_leaks=0:print_summary=1";
}
extern "C" const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }
#endif

// ASan's runtime keeps a copy of the environment: at start-up it reads /proc/self/environ into a mapping
// of its own (sanitizer_common's GetEnv), for its options. The sandbox's processes are forks of hive-py
// and inherit it: the caller's environment, which the init zeroes on the stack (child_main.cc,
// wipe_environment), would stay in the script's memory in this build. Found here at start-up (the
// anonymous read-write mappings whose page starts hold exactly /proc/self/environ's bytes), zeroed by
// the init with its own copy; hive-py itself keeps its copy (the runtime may still read it).
#ifdef HIVE_SANITIZE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {

struct Copy {
    char* at;
    unsigned long len;
};
Copy g_env_copies[8];
int g_env_copies_n = 0;

// A /proc file whole, into a mapping of its own (no malloc: a freed heap block holding the environment
// would sit in ASan's quarantine); `cap` bytes at most.
char* read_proc(const char* path, unsigned long cap, unsigned long& len) {
    void* m = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    char* buf = static_cast<char*>(m);
    len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        for (ssize_t n; len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0;) len += (unsigned long)n;
        close(fd);
    }
    buf[len] = '\0';
    return buf;
}

bool same(const char* a, const char* b, unsigned long n) {
    for (unsigned long i = 0; i < n; ++i)
        if (a[i] != b[i]) return false;
    return true;
}

__attribute__((constructor)) void find_environment_copies() {
    const unsigned long kCap = 1ul << 20;
    unsigned long env_len = 0, maps_len = 0;
    char* env = read_proc("/proc/self/environ", kCap, env_len);
    char* maps = read_proc("/proc/self/maps", kCap, maps_len);
    const unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);
    if (env && maps && env_len > 0) {
        for (char* line = maps; *line && g_env_copies_n < 8;) {
            char* next = strchr(line, '\n');
            if (next) *next++ = '\0';
            unsigned long lo = 0, hi = 0, off = 0, inode = 0;
            char perms[5] = {}, dev[16] = {};
            int path_at = 0;
            if (std::sscanf(line, "%lx-%lx %4s %lx %15s %lu %n", &lo, &hi, perms, &off, dev, &inode, &path_at) >= 6 &&
                strcmp(perms, "rw-p") == 0 && inode == 0 && line[path_at] == '\0' && hi - lo <= (64ul << 20) &&
                !(lo < (unsigned long)env + kCap && (unsigned long)env < hi) &&
                !(lo < (unsigned long)maps + kCap && (unsigned long)maps < hi)) {
                for (unsigned long p = lo; p + env_len <= hi && g_env_copies_n < 8; p += page)
                    if (same(reinterpret_cast<const char*>(p), env, env_len))
                        g_env_copies[g_env_copies_n++] = {reinterpret_cast<char*>(p), env_len};
            }
            if (!next) break;
            line = next;
        }
    }
    if (env) {
        explicit_bzero(env, kCap);
        munmap(env, kCap);
    }
    if (maps) munmap(maps, kCap);
}

}  // namespace

extern "C" void hive_sanitizer_wipe_environment_copies() {
    for (int i = 0; i < g_env_copies_n; ++i) explicit_bzero(g_env_copies[i].at, g_env_copies[i].len);
}
#endif
