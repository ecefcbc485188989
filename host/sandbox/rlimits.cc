#include "sandbox/rlimits.h"

#include <sys/resource.h>

#include <string>

#ifdef HIVE_SANITIZE
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#endif

namespace hive::rlimits {

namespace {
Status set(int resource, const char* name, rlim_t soft, rlim_t hard) {
    rlimit rl{soft, hard};
    if (setrlimit(resource, &rl) != 0) return errno_error("setrlimit", name);
    return {};
}
#ifdef HIVE_SANITIZE
// The sanitizer build only (-DHIVE_SANITIZE=ON, README "Reliability"): ASan reserves terabytes of address
// space for its shadow and allocator when the process starts, so an RLIMIT_AS of memory_mb would leave
// no room for any new mapping. The limit is set that far above what the process has mapped now: every new
// mapping still counts against memory_mb (large allocations, the interpreter's arenas), but small
// allocations land in ASan's reservation and do not. The run record says so (sanitizer_build).
rlim_t mapped_now() {
    int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return RLIM_INFINITY;
    char buf[128] = {};
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return RLIM_INFINITY;
    return rlim_t(std::strtoull(buf, nullptr, 10)) * rlim_t(::sysconf(_SC_PAGESIZE));
}
#endif

}  // namespace

Status apply(const Policy& p, int extra_processes) {
    const auto& e = p.execution;
    const rlim_t mb = 1024 * 1024;
    // The soft CPU limit sends SIGXCPU; the hard limit one second later sends SIGKILL, so a script
    // that catches or ignores SIGXCPU still ends.
    HIVE_TRY(set(RLIMIT_CPU, "RLIMIT_CPU", rlim_t(e.cpu_seconds), rlim_t(e.cpu_seconds) + 1));
#ifndef HIVE_SANITIZE
    HIVE_TRY(set(RLIMIT_AS, "RLIMIT_AS", rlim_t(e.memory_mb) * mb, rlim_t(e.memory_mb) * mb));
#else
    const rlim_t base = mapped_now();
    if (base != RLIM_INFINITY)
        HIVE_TRY(set(RLIMIT_AS, "RLIMIT_AS", base + rlim_t(e.memory_mb) * mb, base + rlim_t(e.memory_mb) * mb));
#endif
    HIVE_TRY(set(RLIMIT_FSIZE, "RLIMIT_FSIZE", rlim_t(e.file_size_mb) * mb, rlim_t(e.file_size_mb) * mb));
    HIVE_TRY(set(RLIMIT_CORE, "RLIMIT_CORE", 0, 0));
    HIVE_TRY(set(RLIMIT_NOFILE, "RLIMIT_NOFILE", rlim_t(e.max_open_files), rlim_t(e.max_open_files)));
    rlim_t nproc = rlim_t(e.max_processes + extra_processes);
    HIVE_TRY(set(RLIMIT_NPROC, "RLIMIT_NPROC", nproc, nproc));
    return {};
}

}  // namespace hive::rlimits
