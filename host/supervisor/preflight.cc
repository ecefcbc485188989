#include "supervisor/preflight.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/sha256.h"
#include "sandbox/landlock.h"

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

namespace {

std::string default_log_dir() {
    if (const char* e = std::getenv("HIVE_LOG_DIR"); e && *e) return e;
    if (geteuid() == 0) return "/var/log/hive-py";
    if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/hive-py";
    std::string home;
    if (const char* h = std::getenv("HOME"); h && *h) home = h;
    else home = home_from_user_db(geteuid());
    return (home.empty() ? std::string("/tmp") : home) + "/.local/state/hive-py";
}

std::string lexical_abs(const std::string& p, const std::string& cwd) {
    std::filesystem::path x = p.empty() || p[0] != '/' ? std::filesystem::path(cwd) / p : std::filesystem::path(p);
    std::string s = x.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

bool path_under(const std::string& p, const std::string& root) {
    return p == root || root == "/" ||
           (p.size() > root.size() && p.compare(0, root.size(), root) == 0 && p[root.size()] == '/');
}

// Real paths (symlinks resolved) where they exist, for comparing the log dir with writable paths.
std::string resolved(const std::string& p) {
    std::error_code ec;
    auto r = std::filesystem::weakly_canonical(p, ec);
    return ec ? p : r.string();
}

}  // namespace

Result<std::string> check_script(ScriptSpec& spec, const std::string& cwd) {
    if (spec.mode == ScriptSpec::Mode::command) return sha256_hex(spec.target);
    if (spec.mode != ScriptSpec::Mode::file) return std::string();
    struct stat st {};
    if (stat(spec.target.c_str(), &st) != 0)
        return Error{"can't open script '" + spec.target + "': " + std::strerror(errno) +
                     " (check the path; hive-py runs it from " + cwd + ")"};
    if (S_ISDIR(st.st_mode)) return Error{"'" + spec.target + "' is a directory, not a Python script"};
    if (access(spec.target.c_str(), R_OK) != 0)
        return Error{"can't read script '" + spec.target + "': " + std::strerror(errno)};
    spec.script_abs = resolved(lexical_abs(spec.target, cwd));
    std::FILE* f = std::fopen(spec.target.c_str(), "rb");
    char head[4096];
    std::size_t got = f ? std::fread(head, 1, sizeof head, f) : 0;
    if (f) std::fclose(f);
    if (std::memchr(head, 0, got) || (got >= 4 && std::memcmp(head, "\x7f" "ELF", 4) == 0))
        return Error{"'" + spec.target + "' is not a Python script (it holds binary data)"};
    return sha256_file_hex(spec.target);
}

std::vector<std::string> sandbox_readable(const Policy& policy, const std::string& script_dir) {
    std::vector<std::string> r = landlock::system_read_paths();
    for (const auto* v : {&policy.filesystem.allowed_paths, &policy.filesystem.read_only_paths})
        r.insert(r.end(), v->begin(), v->end());
    if (!script_dir.empty()) r.push_back(script_dir);
    return r;
}

Status check_key_file_placement(const std::string& kf, const std::vector<std::string>& readable) {
    // The key must stay the host's: a script that could read it could recompute the chain over records it
    // forged. (In memory it is kept out of the sandbox by common/secret.h.)
    const std::string real_key = resolved(kf);
    for (const auto& r : readable) {
        if (path_under(kf, r) || path_under(real_key, resolved(r)))
            return Error{"security.monitoring.hmac_key_file " + kf + " lies inside " + r +
                         ", which the script may read: it could read the key and forge the audit chain; "
                         "keep the key elsewhere"};
    }
    // A second name (a hard link) could lie where the sandbox reads, and nothing above would see it.
    struct stat kst;
    if (::stat(kf.c_str(), &kst) == 0 && S_ISREG(kst.st_mode) && kst.st_nlink > 1)
        return Error{"security.monitoring.hmac_key_file " + kf + " has " + std::to_string(kst.st_nlink) +
                     " names (hard links): one may lie where the script can read it; give the key a single name"};
    return {};
}

Result<audit::LogOptions> log_options(const std::string& option, const Policy& policy, const std::string& cwd,
                                      const std::vector<std::string>& sandbox_readable) {
    audit::LogOptions lo;
    // The audit trail must be out of the script's reach: never inside a path it may write.
    lo.dir = lexical_abs(option.empty() ? default_log_dir() : option, cwd);
    const std::string real_log = resolved(lo.dir);
    for (const auto& w : policy.filesystem.allowed_paths) {
        if (path_under(lo.dir, w) || path_under(real_log, resolved(w)))
            return Error{"log directory " + lo.dir + " lies inside the writable path " + w +
                         " (security.filesystem.allowed_paths): the script could rewrite its own audit trail; "
                         "choose --log-dir elsewhere"};
    }
    lo.max_bytes = policy.monitoring.log_max_bytes;
    if (!policy.monitoring.hmac_key_file.empty()) {
        const std::string& kf = policy.monitoring.hmac_key_file;
        HIVE_TRY(check_key_file_placement(kf, sandbox_readable));
        auto key = audit::read_key_file(kf);
        if (!key) return Error{"security.monitoring.hmac_key_file: " + key.error().message};
        lo.hmac_key = *key;
    }
    return lo;
}

}  // namespace hive
