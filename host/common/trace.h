// Start-up timeline for the performance work (README "Performance"): built only with -DHIVE_TRACE, it
// writes one line per mark to stderr, `hive-trace <mark> <pid> <CLOCK_MONOTONIC ns> <page faults> <user us> <sys us>`, from every
// process of a run; tests/bench/timeline.py lines them up. Without HIVE_TRACE a mark is nothing.
#pragma once

#ifdef HIVE_TRACE
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace hive {
inline int g_trace_fd = 2;  // the init's: a copy of hive-py's own stderr (it closes its stdio, the pipes)
inline void trace_mark(const char* mark) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char line[128];
    int n = std::snprintf(line, sizeof line, "hive-trace %s %d %lld %ld %ld %ld\n", mark, int(getpid()),
                          (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, ru.ru_minflt + ru.ru_majflt,
                          ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
                          ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
    if (n > 0) [[maybe_unused]] ssize_t w = write(g_trace_fd, line, std::size_t(n));
}
}  // namespace hive
#define HIVE_MARK(m) ::hive::trace_mark(m)
#else
#define HIVE_MARK(m) ((void)0)
#endif
