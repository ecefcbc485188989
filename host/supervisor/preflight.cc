#include "supervisor/preflight.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "audit/log_dir.h"
#include "common/sha256.h"
#include "common/unique_fd.h"

namespace hive {

namespace {

// Real paths (symlinks resolved) where they exist, for comparing the log dir with writable paths.
std::string resolved(const std::string& p) {
    std::error_code ec;
    auto r = std::filesystem::weakly_canonical(p, ec);
    return ec ? p : r.string();
}

// Whether `data` ends in a zip file's end-of-central-directory record, as zipimport looks for it (in
// the last 22 bytes, or within a 64 KiB comment before them), with a central directory that fits
// before it: the test python3 makes (by zipimporter) to run a file as a zipapp.
bool is_zip(const std::string& data) {
    constexpr std::size_t kEnd = 22, kMaxComment = 65535;
    if (data.size() < kEnd) return false;
    const std::size_t lowest = data.size() > kEnd + kMaxComment ? data.size() - kEnd - kMaxComment : 0;
    const auto u32 = [&](std::size_t at) {
        const auto* b = reinterpret_cast<const unsigned char*>(data.data() + at);
        return std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[3]) << 24;
    };
    for (std::size_t at = data.size() - kEnd + 1; at-- > lowest;) {
        if (std::memcmp(data.data() + at, "PK\x05\x06", 4) != 0) continue;
        const std::uint64_t dir_size = u32(at + 12), dir_offset = u32(at + 16);
        return dir_size + dir_offset <= at;
    }
    return false;
}

}  // namespace

Result<std::string> check_script(ScriptSpec& spec, const std::string& cwd) {
    if (spec.mode == ScriptSpec::Mode::command) return sha256_hex(spec.target);
    if (spec.mode != ScriptSpec::Mode::file) return std::string();
    // One open, one fd: what is checked, hashed and run are the same bytes (the child runs spec.code,
    // never the file again). O_NONBLOCK: a fifo named as the script must not hang the open.
    UniqueFd fd(::open(spec.target.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
        if (errno == EACCES) return Error{"can't read script '" + spec.target + "': " + std::strerror(errno)};
        return Error{"can't open script '" + spec.target + "': " + std::strerror(errno) +
                     " (check the path; hive-py runs it from " + cwd + ")"};
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) return errno_error("fstat", spec.target);
    if (S_ISDIR(st.st_mode)) {
        // A directory runs as python3 runs it: its __main__.py, which is what gets hashed.
        UniqueFd main(::openat(fd.get(), "__main__.py", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
        if (!main.valid())
            return Error{"can't find '__main__' module in '" + spec.target + "' (a directory runs its __main__.py): " +
                         std::strerror(errno)};
        fd = std::move(main);
        if (fstat(fd.get(), &st) != 0) return errno_error("fstat", spec.target + "/__main__.py");
        if (!S_ISREG(st.st_mode))
            return Error{"'" + spec.target + "/__main__.py' is not a regular file: hive-py runs a __main__.py it can "
                         "read once and hash"};
        spec.importer = ScriptSpec::Importer::directory;
    }
    if (!S_ISREG(st.st_mode))
        return Error{"'" + spec.target + "' is not a regular file (a fifo, device or socket): hive-py runs a script "
                     "file it can read once and hash"};
    const auto too_large = [&] {
        return Error{"script '" + spec.target + "' is larger than hive-py's limit of " +
                     std::to_string(kMaxScriptBytes >> 20) + " MiB"};
    };
    if (std::uint64_t(st.st_size) > kMaxScriptBytes) return too_large();
    std::string code;
    code.resize(std::size_t(st.st_size) + 1);  // one byte more: a file that grew since fstat shows
    std::size_t got = 0;
    for (;;) {
        if (got == code.size()) {
            if (code.size() > kMaxScriptBytes) return too_large();
            code.resize(std::min(code.size() * 2, kMaxScriptBytes + 1));
        }
        const ssize_t n = ::read(fd.get(), code.data() + got, code.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error{"can't read script '" + spec.target + "': " + std::strerror(errno)};
        if (n == 0) break;
        got += std::size_t(n);
    }
    code.resize(got);
    spec.script_abs = resolved(normalize_path(spec.target, cwd));
    if (spec.importer == ScriptSpec::Importer::none && is_zip(code)) {
        // A zip file (a zipapp) runs as python3 runs it, by zipimport: the zip file's bytes are hashed.
        spec.importer = ScriptSpec::Importer::zip;
        return sha256_hex(code);
    }
    const std::size_t head = std::min<std::size_t>(got, 4096);
    if (std::memchr(code.data(), 0, head) || (got >= 4 && std::memcmp(code.data(), "\x7f" "ELF", 4) == 0))
        return Error{"'" + spec.target + "' is not a Python script (it holds binary data)"};
    spec.code = std::move(code);
    return sha256_hex(spec.code);
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
