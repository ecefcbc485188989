#include "sandbox/rlimits.h"

#include <sys/resource.h>

#include <string>

namespace hive::rlimits {

namespace {
Status set(int resource, const char* name, rlim_t soft, rlim_t hard) {
    rlimit rl{soft, hard};
    if (setrlimit(resource, &rl) != 0) return errno_error("setrlimit", name);
    return {};
}
}  // namespace

Status apply(const Policy& p, int extra_processes) {
    const auto& e = p.execution;
    const rlim_t mb = 1024 * 1024;
    // The soft CPU limit sends SIGXCPU; the hard limit one second later sends SIGKILL, so a script
    // that catches or ignores SIGXCPU still ends.
    HIVE_TRY(set(RLIMIT_CPU, "RLIMIT_CPU", rlim_t(e.cpu_seconds), rlim_t(e.cpu_seconds) + 1));
    HIVE_TRY(set(RLIMIT_AS, "RLIMIT_AS", rlim_t(e.memory_mb) * mb, rlim_t(e.memory_mb) * mb));
    HIVE_TRY(set(RLIMIT_FSIZE, "RLIMIT_FSIZE", rlim_t(e.file_size_mb) * mb, rlim_t(e.file_size_mb) * mb));
    HIVE_TRY(set(RLIMIT_CORE, "RLIMIT_CORE", 0, 0));
    HIVE_TRY(set(RLIMIT_NOFILE, "RLIMIT_NOFILE", rlim_t(e.max_open_files), rlim_t(e.max_open_files)));
    rlim_t nproc = rlim_t(e.max_processes + extra_processes);
    HIVE_TRY(set(RLIMIT_NPROC, "RLIMIT_NPROC", nproc, nproc));
    return {};
}

}  // namespace hive::rlimits
