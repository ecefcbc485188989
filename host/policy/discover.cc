// Finding and reading the policy file: --policy, then $HIVE_POLICY, then scripts/config/security_policy.yml
// searched upward from the script's directory (the cwd for -c, -m and stdin), then the built-in default.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/unique_fd.h"
#include "policy/policy.h"

namespace hive {

namespace {

// A policy is a few hundred bytes; anything past this is not one.
constexpr off_t kMaxPolicyBytes = 1 << 20;

Error read_error(const std::string& path, int e) {
    return Error{path + ": cannot read policy: " + std::strerror(e), e};
}

}  // namespace

Result<Policy> load_policy_file(const std::string& path, const std::string& base_dir) {
    // The path as the process opens it (relative to its cwd), absolute for messages and Policy.source.
    const std::string abs = normalize_path(path, "");
    // NB: O_NONBLOCK so that a FIFO named as the policy cannot hang the open; it is refused below.
    UniqueFd fd(::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) return read_error(abs, errno);

    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return read_error(abs, errno);
    if (S_ISDIR(st.st_mode)) return read_error(abs, EISDIR);
    if (!S_ISREG(st.st_mode)) return Error{abs + ": cannot read policy: not a regular file"};
    if (st.st_size > kMaxPolicyBytes) return Error{abs + ": cannot read policy: larger than 1 MiB"};
    // NB: anyone could loosen a world-writable policy between two runs; the sandbox would then enforce
    // the attacker's rules. Refuse rather than trust it.
    if (st.st_mode & S_IWOTH)
        return Error{abs + ": refusing a world-writable policy file (anyone could loosen it): chmod o-w " + abs};

    std::string text;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return read_error(abs, errno);
        }
        if (n == 0) break;
        text.append(buf, size_t(n));
        if (text.size() > size_t(kMaxPolicyBytes)) return Error{abs + ": cannot read policy: larger than 1 MiB"};
    }
    // The text may hold a credential (monitoring.alert_command), and the sandbox inherits this stack.
    explicit_bzero(buf, sizeof buf);
    return parse_policy(text, abs, base_dir);
}

Result<Policy> discover_policy(const std::string& explicit_path, const std::string& cwd, const std::string& search_from) {
    const std::string base = normalize_path(".", cwd);
    if (!explicit_path.empty()) return load_policy_file(normalize_path(explicit_path, base), base);

    const char* env = std::getenv("HIVE_POLICY");
    if (env != nullptr && env[0] != '\0') return load_policy_file(normalize_path(env, base), base);

    for (std::string dir = search_from.empty() ? base : normalize_path(search_from, base);;) {
        std::string candidate = (dir == "/" ? "" : dir) + "/scripts/config/security_policy.yml";
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0) return load_policy_file(candidate, base);
        // A directory we may not search hides whether a policy is there: say so rather than run with
        // the default while a stricter policy may exist.
        if (errno != ENOENT && errno != ENOTDIR) return read_error(candidate, errno);
        if (dir == "/") break;
        dir = normalize_path("..", dir);
    }
    return builtin_default_policy(base);
}

}  // namespace hive
