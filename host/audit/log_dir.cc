#include "audit/log_dir.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hive {

std::string home_from_user_db(uid_t uid) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return "";
    const pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return "";
    }
    if (pid == 0) {
        close(p[0]);
        if (passwd* pw = getpwuid(uid); pw && pw->pw_dir) {
            [[maybe_unused]] ssize_t n = write(p[1], pw->pw_dir, std::strlen(pw->pw_dir));
        }
        _exit(0);
    }
    close(p[1]);
    std::string home;
    char buf[512];
    for (;;) {
        const ssize_t n = read(p[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        home.append(buf, std::size_t(n));
    }
    close(p[0]);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return home;
}

std::string default_log_dir() {
    if (const char* e = std::getenv("HIVE_LOG_DIR"); e && *e) return e;
    if (geteuid() == 0) return "/var/log/hive-py";
    if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/hive-py";
    std::string home;
    if (const char* h = std::getenv("HOME"); h && *h) home = h;
    else home = home_from_user_db(geteuid());
    return (home.empty() ? std::string("/tmp") : home) + "/.local/state/hive-py";
}

}  // namespace hive
