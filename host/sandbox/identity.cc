#include "sandbox/identity.h"

#include <string_view>

namespace hive::identity {
namespace {

constexpr const char* kSystemDirs[] = {"/etc",  "/usr",       "/bin", "/sbin", "/boot", "/root", "/var/lib",
                                       "/var/spool", "/run", "/proc", "/sys",  "/dev"};
constexpr const char* kSecrets[] = {"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
                                    "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh", "/etc/ssl/private",
                                    "/root/.ssh", "/root"};
constexpr const char* kSharedTmp[] = {"/tmp", "/var/tmp", "/dev/shm"};

// /lib, /lib32, /lib64, /libx32 and anything under them.
bool in_lib(const std::string& p) {
    std::string_view first(p);
    first.remove_prefix(1);
    first = first.substr(0, first.find('/'));
    return first.rfind("lib", 0) == 0;
}

// `p` is `area`, lies inside it, or contains it.
bool meets(const std::string& p, const std::string& area) { return path_within(p, area) || path_within(area, p); }

// The first area of `areas` that `p` meets, or nullptr.
template <class Areas>
const char* first_met(const std::string& p, const Areas& areas, bool within_only) {
    for (const char* a : areas)
        if (within_only ? path_within(p, a) : meets(p, a)) return a;
    return nullptr;
}

// "a system directory", "lies in /etc, a system directory", "contains /etc/shadow, a secret".
std::string how(const std::string& p, const std::string& area, const char* what) {
    if (p == area) return what;
    return (path_within(p, area) ? "lies in " : "contains ") + area + ", " + what;
}

}  // namespace

std::vector<std::string> root_exposure_warnings(const Policy& policy) {
    std::vector<std::string> out;
    const std::string lead = "run by root: security.filesystem.";
    for (const auto& p : policy.filesystem.allowed_paths) {
        const std::string key = lead + "allowed_paths: " + p + ": ";
        // The run's own /tmp and /dev/shm (private_tmp) are no one else's: nothing the script leaves there
        // outlives the run. What lies below them is the host's, bound in, and warned of as such.
        if (policy.filesystem.private_tmp && (p == "/tmp" || p == "/dev/shm")) continue;
        // /dev/shm before /dev: a shared directory, not the device nodes.
        if (const char* t = first_met(p, kSharedTmp, true)) {
            out.push_back(key + how(p, t, "shared by every user") +
                          ": what the script leaves there (files, symlinks) is owned by root outside, and other "
                          "root programs may trust it");
            continue;
        }
        std::string reasons;
        if (p == "/")
            reasons = "the whole filesystem";
        else if (const char* d = first_met(p, kSystemDirs, false))
            reasons = how(p, d, "a system directory");
        else if (in_lib(p))
            reasons = "a system directory";
        if (const char* s = first_met(p, kSecrets, false))
            reasons += (reasons.empty() ? "" : "; ") + how(p, s, "a secret");
        if (!reasons.empty())
            out.push_back(key + reasons + ": the script could read and change root's files there as their owner");
    }
    for (const auto& p : policy.filesystem.read_only_paths) {
        if (const char* s = first_met(p, kSecrets, false))
            out.push_back(lead + "read_only_paths: " + p + ": " + how(p, s, "a secret") +
                          ": the script could read it as its owner (root)");
    }
    return out;
}

}  // namespace hive::identity
