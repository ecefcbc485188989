// Preflight work that touches what the sandbox must not see: the user database is read in a helper
// process, so that none of /etc/passwd stays in the heap the sandbox's processes inherit from hive-py.
#include <fcntl.h>
#include <malloc.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "supervisor/preflight.h"

using namespace hive;

namespace {

// The second line of /etc/passwd, read into `buf` (not the heap). The first line is no good needle: a
// freed block's first bytes are overwritten by malloc's free-list pointers.
std::size_t second_line(char (&buf)[512]) {
    char file[8192];
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, file, sizeof file);
    close(fd);
    if (n <= 0) return 0;
    const char* a = static_cast<const char*>(std::memchr(file, '\n', std::size_t(n)));
    if (!a) return 0;
    ++a;
    const char* b = static_cast<const char*>(std::memchr(a, '\n', std::size_t(file + n - a)));
    if (!b || b - a >= long(sizeof buf)) return 0;
    std::memcpy(buf, a, std::size_t(b - a));
    return std::size_t(b - a);
}

// Whether [p, p + n) holds the needle: a plain loop, uninstrumented, because it reads freed blocks and
// (under ASan) their redzones on purpose, which ASan's memmem would report.
__attribute__((no_sanitize_address)) bool holds(const char* p, std::size_t n, const char* needle, std::size_t len) {
    for (std::size_t i = 0; i + len <= n; ++i) {
        std::size_t j = 0;
        while (j < len && p[i + j] == needle[j]) ++j;
        if (j == len) return true;
    }
    return false;
}

// Whether the heap malloc() allocates from holds the needle: glibc's main arena (below sbrk(0)) in the
// normal build; in the sanitizer build ASan's allocator, whose blocks live in a fixed range
// ([0x600000000000, +4 TiB) on x86_64, one region per size class, its used part mapped read-write)
// and which keeps freed blocks in its quarantine, unscrubbed unless their owner scrubbed them.
bool heap_holds(const char* needle, std::size_t len) {
#ifdef HIVE_SANITIZE
    char maps[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) _exit(3);
    std::size_t got = 0;
    for (ssize_t n; (n = read(fd, maps + got, sizeof maps - 1 - got)) > 0;) got += std::size_t(n);
    close(fd);
    maps[got] = '\0';
    bool found = false, any = false;
    for (char* line = maps; line && *line;) {
        char* next = std::strchr(line, '\n');
        if (next) *next++ = '\0';
        unsigned long lo = 0, hi = 0;
        char perms[5] = {};
        if (std::sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && perms[0] == 'r' && perms[1] == 'w' &&
            lo >= 0x600000000000ul && hi <= 0x640000000000ul) {
            any = true;
            found = found || holds(reinterpret_cast<const char*>(lo), hi - lo, needle, len);
        }
        line = next;
    }
    if (!any) _exit(3);
    return found;
#else
    const char* end = static_cast<const char*>(sbrk(0));
    const std::size_t arena = mallinfo2().arena;
    return holds(end - arena, arena, needle, len);
#endif
}

// In a fork: run `lookup` for uid 0, then say (exit code) whether the heap holds the needle.
// 0: not found, 1: found, 2: the lookup gave no home, 3: no heap found.
int heap_after(bool through_helper, const char* needle, std::size_t len) {
    pid_t pid = fork();
    if (pid == 0) {
        std::string home;
        if (through_helper) {
            home = home_from_user_db(0);
        } else if (passwd* pw = getpwuid(0)) {
            home = pw->pw_dir;
        }
        if (home.empty()) _exit(2);
        _exit(heap_holds(needle, len) ? 1 : 0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST_CASE("preflight: the user database is read in a helper, /etc/passwd stays out of hive-py's heap", "[preflight]") {
    char needle[512];
    const std::size_t len = second_line(needle);
    REQUIRE(len > 8);
    // The control: the C library's own lookup leaves the file's bytes in the heap, and the scan finds them.
    CHECK(heap_after(false, needle, len) == 1);
    CHECK(heap_after(true, needle, len) == 0);
    passwd* pw = getpwuid(0);
    REQUIRE(pw);
    CHECK(home_from_user_db(0) == pw->pw_dir);
    CHECK(home_from_user_db(4000000000u).empty());
}
