#include "plan/plan.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>

namespace hive::plan {

const char* to_string(Access a) {
    switch (a) {
        case Access::read: return "read";
        case Access::read_write: return "write";
        case Access::exec: return "exec";
        case Access::device_rw: return "write";
    }
    return "?";
}

const std::vector<SystemPath>& system_paths() {
    // Debian 12: /lib is a symlink to /usr/lib, so the second libs entry resolves to the first; both
    // stay for systems that are not merged-/usr. /etc/localtime is a symlink into zoneinfo (O_PATH
    // follows it: these are the system's, not the policy's). /proc is not needed: CPython 3.11 starts
    // and imports without it.
    static const std::vector<SystemPath> v = {
        {"/usr/lib/python3.11", "the stdlib", Access::read},
        // On sys.path though Debian ships none: importlib.metadata and pkgutil list it (ENOENT).
        {"/usr/lib/python311.zip", "the stdlib's zip entry of sys.path", Access::read},
        {"/usr/lib/x86_64-linux-gnu", "shared libraries", Access::read},
        {"/lib/x86_64-linux-gnu", "shared libraries", Access::read},
        {"/etc/ld.so.cache", "the loader's cache", Access::read},
        {"/usr/share/zoneinfo", "time zones", Access::read},
        {"/etc/localtime", "time zones", Access::read},
        // Secret-free system data the stdlib reads (#18): ssl's CA store and OpenSSL's configuration
        // (never /etc/ssl/private: Landlock judges the file a link leads to, not the link), mimetypes,
        // platform.freedesktop_os_release(), locale data. /usr/lib/ssl holds only links into /etc/ssl.
        {"/etc/ssl/certs", "the CA certificates", Access::read},
        {"/usr/share/ca-certificates", "the CA certificates", Access::read},
        {"/etc/ssl/openssl.cnf", "OpenSSL's configuration", Access::read},
        {"/etc/mime.types", "MIME types", Access::read},
        {"/etc/os-release", "the OS's name", Access::read},
        {"/usr/lib/os-release", "the OS's name", Access::read},
        {"/usr/lib/locale", "locale data", Access::read},
        {"/usr/share/locale", "locale data", Access::read},
        // NB: O_TRUNC on /dev/null needs Landlock's TRUNCATE, and Python's open(os.devnull, "w") uses it.
        {"/dev/null", "devices", Access::device_rw},
        {"/dev/zero", "devices", Access::read},
        {"/dev/urandom", "devices", Access::read},
        {"/dev/random", "devices", Access::read},
    };
    return v;
}

namespace {

// A dynamically linked program is started by the kernel through its ELF interpreter, which needs the
// execute right too (the libraries it then maps only need read, which they have).
constexpr const char* kElfInterpreter = "/lib64/ld-linux-x86-64.so.2";

// The first component of `path` that is a symbolic link, and where it leads ("" if none).
std::pair<std::string, std::string> first_link(const std::string& path) {
    std::string prefix;
    std::size_t pos = 0;
    while (pos < path.size()) {
        std::size_t next = path.find('/', pos + 1);
        prefix = path.substr(0, next);
        struct stat st {};
        if (::lstat(prefix.c_str(), &st) != 0) break;
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = ::readlink(prefix.c_str(), target, sizeof target - 1);
            return {prefix, n > 0 ? std::string(target, std::size_t(n)) : "?"};
        }
        if (next == std::string::npos) break;
        pos = next;
    }
    return {"", ""};
}

std::string real_or_same(const std::string& p) {
    std::error_code ec;
    auto r = std::filesystem::weakly_canonical(p, ec);
    return ec ? p : r.string();
}

Status fill_identity(Grant& g) {
    struct stat st {};
    if (::fstat(g.fd.get(), &st) != 0) return errno_error("fstat", g.path);
    g.exists = true;
    g.is_dir = S_ISDIR(st.st_mode);
    g.dev = st.st_dev;
    g.ino = st.st_ino;
    return {};
}

// Opens a system or run path, following links: they are the host's, not something a run can plant.
Status open_following(Grant& g) {
    g.fd.reset(::open(g.path.c_str(), O_PATH | O_CLOEXEC));
    if (!g.fd.valid()) {
        if (errno == ENOENT || errno == ENOTDIR) return {};
        return errno_error("open", g.path);
    }
    // The fd's own path is the resolved one: one readlink, not one per component.
    char real[PATH_MAX];
    const std::string self = "/proc/self/fd/" + std::to_string(g.fd.get());
    const ssize_t n = ::readlink(self.c_str(), real, sizeof real - 1);
    g.real = n > 0 ? std::string(real, std::size_t(n)) : real_or_same(g.path);
    return fill_identity(g);
}

// Opens a path the policy grants without following a link in any component.
Status open_no_links(Grant& g) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, AT_FDCWD, g.path.c_str(), &how, sizeof how);
    if (fd < 0 && errno == ENOSYS) {
        // Kernels before 5.6: check the components one by one, then open the last without following it.
        if (first_link(g.path).first.empty()) fd = ::open(g.path.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW);
        else errno = ELOOP;
    }
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            // Nothing there now; but a dangling link is a link.
            if (auto [link, to] = first_link(g.path); !link.empty()) errno = ELOOP;
            else return {};
        }
        if (errno == ELOOP) {
            auto [link, to] = first_link(g.path);
            std::string real = real_or_same(g.path);
            return Error{g.key + ": " + g.path + " is reached through the symbolic link " + link + " -> " + to +
                             ": hive-py follows no link in the paths a policy grants (an earlier run may have "
                             "planted it); grant the real path" +
                             (real != g.path ? " (" + real + ")" : std::string()) + " or remove the link",
                         ELOOP};
        }
        return errno_error("openat2", g.path + ", RESOLVE_NO_SYMLINKS");
    }
    g.fd.reset(int(fd));
    g.real = g.path;
    return fill_identity(g);
}

Status add(Plan& p, std::string path, std::string key, Access access, Origin origin) {
    Grant g;
    g.path = std::move(path);
    g.key = std::move(key);
    g.access = access;
    g.origin = origin;
    g.real = g.path;
    HIVE_TRY(origin == Origin::policy ? open_no_links(g) : open_following(g));
    p.grants.push_back(std::move(g));
    return {};
}

// The private /tmp and /dev/shm (plan.h: PrivateTmp), planned once every grant is known.
constexpr const char* kScratchRoots[] = {"/tmp", "/dev/shm"};

void add_scratch(Plan& p, const Policy& policy) {
    PrivateTmp& t = p.tmp;
    t.on = true;
    t.size_bytes = std::int64_t(policy.execution.disk_mb) << 20;
    t.inodes = policy.execution.disk_inodes;
    const std::string key = "security.filesystem.private_tmp: the run's own tmpfs (" +
                            std::to_string(policy.execution.disk_mb) + " MB for /tmp and /dev/shm), gone with the run";
    for (const char* root : kScratchRoots) {
        Grant g;
        g.path = g.real = root;
        g.key = key;
        g.access = Access::read_write;
        g.origin = Origin::run;
        g.exists = g.is_dir = g.scratch = true;
        p.grants.push_back(std::move(g));
    }
}

void plan_scratch_binds(Plan& p, const Policy& policy) {
    PrivateTmp& t = p.tmp;
    const BlockedOps& b = policy.filesystem.blocked;
    std::vector<const Grant*> below;
    for (const Grant& g : p.grants) {
        if (g.scratch || !g.exists) continue;
        for (const char* root : kScratchRoots)
            if (g.path != root && path_within(g.path, root)) below.push_back(&g);
    }
    std::sort(below.begin(), below.end(), [](const Grant* x, const Grant* y) { return x->path < y->path; });
    for (const Grant* g : below) {
        if ((b.del || b.truncate) && g->access == Access::read_write) {
            const bool in_tmp = path_within(g->path, "/tmp");
            if (t.deletable && t.shm_deletable) t.why_not = g->key + " " + g->path + " lies inside it";
            (in_tmp ? t.deletable : t.shm_deletable) = false;
        }
        if (!t.binds.empty() && path_within(g->path, t.binds.back().path)) continue;  // carried by that bind
        t.binds.push_back({g->path, g->real, g->dev, g->ino, g->is_dir});
    }
    if (!t.deletable) t.tmpdir = kBlockedTmpdir;
}

Status add_list(Plan& p, const std::vector<std::string>& paths, const std::string& key, Access access) {
    for (std::size_t i = 0; i < paths.size(); ++i)
        HIVE_TRY(add(p, paths[i], key + "[" + std::to_string(i) + "]", access, Origin::policy));
    return {};
}

const Grant* first_containing(const Plan& p, const std::string& path, bool writable) {
    const std::string lex = normalize_path(path, p.invocation.cwd);
    const std::string real = real_or_same(lex);
    for (const Grant& g : p.grants) {
        if (writable && g.access != Access::read_write && g.access != Access::device_rw) continue;
        // The private tmpfs hides the host's tree of that name and is gone with the run: it exposes no
        // file of the host (and without a mount namespace it is not there at all).
        if (g.scratch) continue;
        if (path_within(lex, g.path) || path_within(real, g.real) || path_within(real, g.path)) return &g;
    }
    return nullptr;
}

std::string dir_of(const std::string& file) {
    const auto slash = file.rfind('/');
    return slash == std::string::npos || slash == 0 ? "" : file.substr(0, slash);
}

// security.imports.site: python3's site directories (a venv's instead, when one is active), each that
// exists a read grant; none inside a writable grant, where the script could plant native code.
Status add_site_dirs(Plan& p) {
    std::vector<std::string> dirs;
    if (const char* venv = std::getenv("VIRTUAL_ENV"); venv && venv[0] == '/')
        dirs.push_back(std::string(venv) + "/lib/python3.11/site-packages");
    else
        dirs = {"/usr/local/lib/python3.11/dist-packages", "/usr/lib/python3/dist-packages"};
    for (const std::string& d : dirs) {
        struct stat st {};
        if (::stat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        const std::string real = real_or_same(d);
        if (const Grant* w = first_containing(p, real, /*writable=*/true); w && w->origin == Origin::policy)
            return Error{"security.imports.site: " + d + " lies inside the writable path " + w->path + " (" + w->key +
                         "): the script could plant native code in its packages"};
        HIVE_TRY(add(p, d, "security.imports.site", Access::read, Origin::policy));
        p.site_dirs.push_back(real);
    }
    return {};
}

}  // namespace

const Grant* Plan::readable_by(const std::string& path) const { return first_containing(*this, path, false); }
const Grant* Plan::writable_by(const std::string& path) const { return first_containing(*this, path, true); }

std::vector<std::string> Plan::paths(std::initializer_list<Access> accesses) const {
    std::vector<std::string> v;
    for (const Grant& g : grants)
        for (Access a : accesses)
            if (g.access == a) {
                v.push_back(g.path);
                break;
            }
    return v;
}

bool is_host_root(uid_t euid) {
    if (euid != 0) return false;
    // "inner outer count" lines: uid 0 here is host root when it maps to outer 0.
    UniqueFd fd(::open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return true;  // no /proc: assume the stricter case
    char buf[1024];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n <= 0) return true;
    buf[n] = 0;
    unsigned long inner = 0, outer = 0, count = 0;
    for (const char* line = buf; *line;) {
        if (std::sscanf(line, "%lu %lu %lu", &inner, &outer, &count) == 3 && inner == 0 && count > 0) return outer == 0;
        const char* nl = std::strchr(line, '\n');
        if (!nl) break;
        line = nl + 1;
    }
    return false;
}

Result<Plan> make(const Policy& policy, const Invocation& inv) {
    Plan p;
    p.policy = &policy;
    p.invocation = inv;
    p.ids.outer_uid = inv.uid;
    p.ids.outer_gid = inv.gid;
    p.ids.host_root = is_host_root(inv.uid);
    p.network = policy.network.allowed_domains.empty() ? Network::none : Network::brokered;
    p.key_file = policy.monitoring.hmac_key_file;
    for (const SystemPath& s : system_paths())
        HIVE_TRY(add(p, s.path, std::string("system: ") + s.why, s.access, Origin::system));
    if (policy.filesystem.private_tmp) add_scratch(p, policy);
    if (!inv.script_path.empty()) {
        p.script_dir = dir_of(inv.script_path);
        HIVE_TRY(add(p, inv.script_path, "the script", Access::read, Origin::run));
        // Its sibling modules: hive-py lets a script import them.
        if (!p.script_dir.empty()) HIVE_TRY(add(p, p.script_dir, "the script's directory", Access::read, Origin::run));
    }
    const auto& fs = policy.filesystem;
    HIVE_TRY(add_list(p, fs.read_only_paths, "security.filesystem.read_only_paths", Access::read));
    HIVE_TRY(add_list(p, fs.allowed_paths, "security.filesystem.allowed_paths", Access::read_write));
    if (policy.imports.site) HIVE_TRY(add_site_dirs(p));
    if (policy.execution.allow_subprocess && !fs.exec_paths.empty()) {
        HIVE_TRY(add(p, kElfInterpreter, "system: the ELF interpreter (for security.filesystem.exec_paths)",
                     Access::exec, Origin::system));
        HIVE_TRY(add_list(p, fs.exec_paths, "security.filesystem.exec_paths", Access::exec));
    }
    if (p.tmp.on) plan_scratch_binds(p, policy);
    return p;
}

Status add_network_files(Plan& plan, const std::vector<std::string>& read_paths,
                         const std::vector<std::pair<std::string, std::string>>& binds) {
    for (const auto& r : read_paths)
        HIVE_TRY(add(plan, r, "security.network.allowed_domains (name service)", Access::read, Origin::run));
    plan.binds = binds;
    return {};
}

Status check_placement(const Plan& plan, const Protected& w) {
    if (!w.key_file.empty()) {
        // The key must stay the host's: a script that could read it could recompute the chain over records
        // it forged. (In memory it is kept out of the sandbox by common/secret.h.)
        if (const Grant* g = plan.readable_by(w.key_file))
            return Error{"security.monitoring.hmac_key_file " + w.key_file + " lies inside " + g->path + " (" +
                         g->key + "), which the script may read: it could read the key and forge the audit chain; "
                         "keep the key elsewhere"};
        // A second name (a hard link) could lie where the sandbox reads, and nothing above would see it.
        struct stat kst {};
        if (::stat(w.key_file.c_str(), &kst) == 0 && S_ISREG(kst.st_mode) && kst.st_nlink > 1)
            return Error{"security.monitoring.hmac_key_file " + w.key_file + " has " + std::to_string(kst.st_nlink) +
                         " names (hard links): one may lie where the script can read it; give the key a single name"};
    }
    auto writable = [&](const std::string& path, const std::string& what, const std::string& why) -> Status {
        if (path.empty()) return {};
        if (const Grant* g = plan.writable_by(path))
            return Error{what + " " + path + " lies inside the writable path " + g->path + " (" + g->key + "): " + why};
        return {};
    };
    HIVE_TRY(writable(w.log_dir, "log directory",
                      "the script could rewrite its own audit trail; choose --log-dir elsewhere"));
    HIVE_TRY(writable(w.policy_file, "policy file",
                      "the script could rewrite the policy of the next run; keep the policy elsewhere"));
    HIVE_TRY(writable(w.executable, "hive-py's own executable",
                      "the script could replace hive-py for the next run; install it elsewhere"));
    return {};
}

std::string describe(const Plan& plan) {
    std::string s = "# What the sandbox may reach under this policy (each path with the key that grants it):\n";
    auto line = [&](const char* what, const std::string& path, const std::string& key) {
        s += "#   ";
        s += what;
        s.append(6 - std::string_view(what).size(), ' ');
        s += path;
        s += "   ";
        s += key;
        s += '\n';
    };
    for (const Grant& g : plan.grants) {
        std::string key = g.exists ? g.key : g.key + " (does not exist now)";
        if (plan.tmp.on && !g.scratch && (g.path == "/tmp" || g.path == "/dev/shm"))
            key += " (the host's: hidden by the private one; used only where the machine offers no mount namespace)";
        line(g.access == Access::exec ? "exec" : g.access == Access::read ? "read" : "write", g.path, key);
    }
    if (plan.network == Network::brokered) {
        line("read", "/etc/hosts", "security.network.allowed_domains (generated for the run)");
        line("read", "/etc/resolv.conf", "security.network.allowed_domains (generated for the run)");
    }
    if (plan.tmp.on) {
        if (!plan.tmp.deletable || !plan.tmp.shm_deletable)
            s += std::string("#   (in the private ") + (plan.tmp.deletable ? "/dev/shm" : "/tmp") +
                 " blocked_operations holds too: " + plan.tmp.why_not +
                 (plan.tmp.deletable ? "" : "; the run's own files go to TMPDIR=" + plan.tmp.tmpdir) + ")\n";
        for (const auto& b : plan.tmp.binds) s += "#   (bound into the private /tmp: " + b.path + ")\n";
    } else {
        s += "#   (/tmp is the host's: security.filesystem.private_tmp is false)\n";
    }
    if (plan.invocation.script_path.empty())
        s += "#   (a run of a script file may also read that file and its directory)\n";
    return s;
}

}  // namespace hive::plan
