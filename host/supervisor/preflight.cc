#include "supervisor/preflight.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "audit/log_dir.h"
#include "common/sha256.h"

namespace hive {

namespace {

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
    spec.script_abs = resolved(normalize_path(spec.target, cwd));
    std::FILE* f = std::fopen(spec.target.c_str(), "rb");
    char head[4096];
    std::size_t got = f ? std::fread(head, 1, sizeof head, f) : 0;
    if (f) std::fclose(f);
    if (std::memchr(head, 0, got) || (got >= 4 && std::memcmp(head, "\x7f" "ELF", 4) == 0))
        return Error{"'" + spec.target + "' is not a Python script (it holds binary data)"};
    return sha256_file_hex(spec.target);
}

std::string log_dir_for(const std::string& option, const std::string& cwd) {
    return normalize_path(option.empty() ? default_log_dir() : option, cwd);
}

Result<audit::LogOptions> log_options(const std::string& dir, const Policy& policy) {
    audit::LogOptions lo;
    lo.dir = dir;
    lo.max_bytes = policy.monitoring.log_max_bytes;
    if (!policy.monitoring.hmac_key_file.empty()) {
        auto key = audit::read_key_file(policy.monitoring.hmac_key_file);
        if (!key) return Error{"security.monitoring.hmac_key_file: " + key.error().message};
        lo.hmac_key = *key;
    }
    return lo;
}

plan::Protected protected_files(const Policy& policy, const std::string& log_dir) {
    plan::Protected what;
    what.key_file = policy.monitoring.hmac_key_file;
    what.log_dir = log_dir;
    if (!policy.source.empty() && policy.source[0] == '/') what.policy_file = policy.source;
    what.executable = own_executable();
    return what;
}

std::string own_executable() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, std::size_t(n)) : std::string();
}

}  // namespace hive
