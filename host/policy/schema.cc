// The policy schema's table (kKeys) and what works on it alone: Policy's defaults, get/set, the YAML
// text of a set of values (the built-in default's text is one), and the table's self-check.
#include "policy/schema.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/json.h"

namespace hive::schema {

namespace {

bool is_identifier(std::string_view s) {
    if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

std::optional<std::string> check_env_name(const std::string& s) {
    if (is_identifier(s)) return std::nullopt;
    return "'" + s + "' is not an environment variable name (letters, digits, '_'; not starting with a digit)";
}

std::optional<std::string> check_module(const std::string& s) {
    size_t start = 0;
    while (true) {
        size_t dot = s.find('.', start);
        std::string_view part = std::string_view(s).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!is_identifier(part))
            return "'" + s + "' is not a module name (dotted Python identifiers, e.g. json or xml.etree)";
        if (dot == std::string::npos) return std::nullopt;
        start = dot + 1;
    }
}

std::optional<std::string> check_domain(const std::string& s) {
    // A host name, optionally "*." for its subdomains, or an IPv4 address: no scheme, port or path.
    std::string_view h = s;
    if (h.substr(0, 2) == "*.") h.remove_prefix(2);
    bool ok = !h.empty() && h.size() <= 253;
    size_t label = 0;
    for (char c : h) {
        if (c == '.') {
            ok = ok && label > 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
            ++label;
            ok = ok && label <= 63;
        } else {
            ok = false;
        }
    }
    ok = ok && label > 0;
    if (ok) return std::nullopt;
    return "'" + s + "' is not a domain name (write a host name such as api.example.org or *.example.org: "
           "no scheme, port or path)";
}

}  // namespace

// NB: built on first use (a function-local static), so that a Policy made during another file's static
// initialisation still finds its defaults.
const std::vector<Key>& keys() {
    const std::vector<Choice> kLogLevels = {{"DEBUG"}, {"INFO"}, {"WARNING"}, {"ERROR"}, {"CRITICAL"}};  // LogLevel's order
    const std::vector<Choice> kEnforcements = {{"strict"}, {"best_effort"}};  // Enforcement's order
    const std::vector<Choice> kKernelTrails = {{"auto"}, {"required"}, {"off"}};  // KernelTrail's order
    const std::vector<Choice> kBlockedOps = {{"delete", &BlockedOps::del}, {"chmod", &BlockedOps::chmod},
                                             {"chown", &BlockedOps::chown}, {"truncate", &BlockedOps::truncate}};

// clang-format off
// The schema. One row per key, in the order of the dumps and of the "known:" lists:
//   dotted name, field in Policy, type and bounds, default (key omitted), value in the built-in default
//   policy (BIP-025's file: `absent`, `as_default`, or a value), ours (not in BIP-025), help.
static const std::vector<Key> kKeys = {
    {"security.execution.timeout_seconds", HIVE_FIELD(execution.timeout_seconds), integer(1, 86400), std::int64_t{300}, as_default, false,
     "wall-clock limit, enforced by the parent"},
    {"security.execution.cpu_seconds", HIVE_FIELD(execution.cpu_seconds), integer(1, 86400), std::int64_t{60}, as_default, false,
     "CPU time limit, per process (RLIMIT_CPU: SIGXCPU, SIGKILL a second later) and for the whole run's process tree (the run's cgroup's CPU counter, else the parent's own sum from /proc, checked every 100 ms: SIGXCPU to each process, SIGKILL a CPU second later). The record's `limits` says which held it"},
    {"security.execution.memory_mb", HIVE_FIELD(execution.memory_mb), integer(32, 1048576, "the interpreter cannot start below ~24 MB of address space"), std::int64_t{512}, as_default, false,
     "memory limit, per process (RLIMIT_AS) and for the whole run: the run's memory cgroup counts every process and the pages kept in memfds, tmpfs and shared memory (past it the kernel's OOM killer ends a process of the run). Without a memory cgroup (an unprivileged caller on cgroup v1) only RLIMIT_AS holds, so a run may map up to this × (max_processes + 1), and the record's `limits` says so"},
    {"security.execution.file_size_mb", HIVE_FIELD(execution.file_size_mb), integer(1, 1048576), std::int64_t{100}, as_default, false,
     "largest file the script may write (RLIMIT_FSIZE)"},
    {"security.execution.max_processes", HIVE_FIELD(execution.max_processes), integer(1, 4096), std::int64_t{5}, as_default, false,
     "processes and threads of one run (the run's pids cgroup, else RLIMIT_NPROC: both count threads)"},
    {"security.execution.max_open_files", HIVE_FIELD(execution.max_open_files), integer(16, 65536, "the interpreter needs a few descriptors to start"), std::int64_t{256}, absent, true,
     "RLIMIT_NOFILE: BIP-025 bounds memory and files but not descriptors"},
    {"security.execution.disk_mb", HIVE_FIELD(execution.disk_mb), integer(1, 1048576), std::int64_t{100}, absent, true,
     "size of the run's private `/tmp` and `/dev/shm` together (`filesystem.private_tmp`; a tmpfs `size=`): a write past it fails with ENOSPC in the sandbox, and the run record's `tmp` says the budget, the bytes used at the end and `full`. BIP-025 bounds memory and file size but not the scratch space a run fills"},
    {"security.execution.disk_inodes", HIVE_FIELD(execution.disk_inodes), integer(16, 1048576), std::int64_t{16384}, absent, true,
     "files, directories and links the private `/tmp` and `/dev/shm` may hold together (tmpfs `nr_inodes=`): past it, creating one fails with ENOSPC"},
    {"security.execution.allow_subprocess", HIVE_FIELD(execution.allow_subprocess), boolean(), false, absent, true,
     "whether the script may execve at all. Off by default: BIP-025's threat model has no need for it"},
    {"security.execution.env_passthrough", HIVE_FIELD(execution.env_passthrough), strings("names", check_env_name, "`[A-Za-z_][A-Za-z0-9_]*`"), Strings{}, absent, true,
     "variables copied from hive-py's environment into the script's; the script otherwise starts with an environment of its own: `LOGNAME` and `USER` (the caller's login name, for getpass.getuser()) and, with the private /tmp, `TMPDIR` and `HOME` (that directory). A variable listed here wins over LOGNAME and USER, never over TMPDIR and HOME while /tmp is private"},

    {"security.filesystem.allowed_paths", HIVE_FIELD(filesystem.allowed_paths), paths(), Strings{}, Strings{"/tmp", "./data", "./logs"}, false,
     "read-write trees"},
    {"security.filesystem.read_only_paths", HIVE_FIELD(filesystem.read_only_paths), paths(), Strings{}, absent, true,
     "extra read-only trees (inputs, proposals), so that reading does not require granting write"},
    {"security.filesystem.exec_paths", HIVE_FIELD(filesystem.exec_paths), paths(), Strings{}, absent, true,
     "the programs the script may execve. Non-empty requires `execution.allow_subprocess: true`"},
    {"security.filesystem.private_tmp", HIVE_FIELD(filesystem.private_tmp), boolean(), true, absent, true,
     "`/tmp` and `/dev/shm` are a tmpfs of the run's own (as systemd's `PrivateTmp=`), of `execution.disk_mb`, gone with the run; `TMPDIR=/tmp`. Nothing of the host's `/tmp` is visible but the paths the plan grants below it, bound in at their place. The run may create, rename, truncate and delete its own files there whatever `blocked_operations` says, which keeps protecting every tree that existed before the run (Landlock), so tempfile, sqlite3's journal, `os.replace`, `RotatingFileHandler`, shelve and multiprocessing's semaphores work under the default policy. Where a writable path of `allowed_paths` lies below `/tmp`, `blocked_operations` holds in `/tmp` itself (Landlock's rights are inherited downwards) and `TMPDIR` is `/tmp/.hive-tmp`, which holds them instead. `false`: `/tmp` is the host's, writable only if `allowed_paths` lists it. Without a mount namespace (`best_effort`) `/tmp` is the host's and the run record says so"},
    {"security.filesystem.blocked_operations", HIVE_FIELD(filesystem.blocked), flags("blocked operation", kBlockedOps), Strings{}, Strings{"delete", "chmod", "chown"}, false,
     "`delete` is unlink, rmdir and rename/replace; `truncate` is ours: truncating an existing file destroys it as surely as deleting it. Without `chmod` the script may set plain modes, never a setuid or setgid bit (refused under every policy)"},

    {"security.network.allowed_domains", HIVE_FIELD(network.allowed_domains), strings("host names", check_domain, "`host.name`, `*.host.name` or an IPv4 address; no scheme, port or path"), Strings{}, as_default, false,
     "`[]` means no network at all. Otherwise TCP connections to these names only: the parent resolves them when the run starts (the addresses go in the run record), the sandbox resolves them from a generated hosts file, and the parent makes every connect() itself after checking the address (README, \"Network allow-list\"). A wildcard validates but is never reachable: no address can be known for it ahead (hive-py warns)"},
    {"security.network.blocked_ports", HIVE_FIELD(network.blocked_ports), integers(1, 65535), Integers{}, Integers{22, 23, 3389}, false,
     "ports refused even to allowed domains"},

    {"security.imports.allow", HIVE_FIELD(imports.allow), strings("module names", check_module, "dotted identifiers"), Strings{}, absent, true,
     "their top-level names may be imported **in addition to** the stdlib (`sys.stdlib_module_names`) and the script's own sibling modules. Naming `ctypes`/`_ctypes`/`cffi` here lifts their default refusal"},
    {"security.imports.site", HIVE_FIELD(imports.site), boolean(), false, absent, true,
     "third-party packages: Debian's `/usr/local/lib/python3.11/dist-packages` and `/usr/lib/python3/dist-packages` (or, when hive-py runs in an activated venv, `$VIRTUAL_ENV/lib/python3.11/site-packages` instead) on `sys.path` after the stdlib, as python3 has them, read-only. Their modules still need a name in `allow` (`allow: [yaml]`), `deny` still wins, and an extension module loads from there only as the file of its own dotted name (`yaml._yaml` from `yaml/_yaml.cpython-311-x86_64-linux-gnu.so`). `.pth` files are not run. A site directory inside a writable path is refused (the script could plant native code there)"},
    {"security.imports.deny", HIVE_FIELD(imports.deny), strings("module names", check_module, "dotted identifiers"), Strings{}, absent, true,
     "top-level names always refused, checked before everything else"},

    {"security.monitoring.log_level", HIVE_FIELD(monitoring.log_level), choice("log level", kLogLevels, true), std::string("INFO"), as_default, false,
     "what the audit logs keep, by each record's level: events are INFO when allowed or counted and ERROR when denied; security events are INFO/WARNING/ERROR/CRITICAL for severity low/medium/high/critical; resource samples are INFO. So WARNING keeps denials but not allowed events or samples, ERROR keeps denials and high/critical security events, CRITICAL only critical ones. Run records are always kept"},
    {"security.monitoring.alert_thresholds.cpu_usage", HIVE_FIELD(monitoring.alert_thresholds.cpu_usage), number(100, "percent"), 80.0, as_default, false,
     "alert past this percent of `cpu_seconds`"},
    {"security.monitoring.alert_thresholds.memory_usage", HIVE_FIELD(monitoring.alert_thresholds.memory_usage), number(100, "percent"), 90.0, as_default, false,
     "alert past this percent of `memory_mb`"},
    {"security.monitoring.alert_thresholds.execution_time", HIVE_FIELD(monitoring.alert_thresholds.execution_time), number(), 250.0, as_default, false,
     "alert when a run lasts longer (seconds)"},
    {"security.monitoring.alert_command", HIVE_FIELD(monitoring.alert_command), string(), std::string(), absent, true,
     "a command the parent runs with the alert as JSON on stdin; `\"\"` = none. BIP-025 asks for alerts but names no channel. A token in it stays out of the sandbox: hive-py keeps the command in memory its forks see as zeros and wipes the policy's copies, so even a script allowed ctypes cannot read it from its own memory (tests/attacks). A token in a file the command reads, outside the paths the sandbox may read, is safer still: the command's line shows in `ps` while it runs"},
    {"security.monitoring.alert_window_seconds", HIVE_FIELD(monitoring.alert_window_seconds), integer(0, 7 * 86400), std::int64_t{300}, absent, true,
     "BIP-025's alert filtering: `alert_command` runs at most once per script and alert (`cpu_usage`, `run_failed`, ...) in this many seconds, over every run that shares the log directory (its `alerts.state`); `0` = every alert is sent. Without `alert_command` nothing is filtered. A suppressed alert is still a security event (`\"suppressed\": true`), in the run record's `alerts` and on that run's stderr (its caller has not seen the others); the next notification after the window carries `count` and `suppressed_since_last`. hive-py waits at most 5 s after the run's end for the command: a failure (exit status, signal) or a command killed at that bound is a security event (`alert_command`) and one `hive-py: warning:` line"},
    {"security.monitoring.sample_interval_ms", HIVE_FIELD(monitoring.sample_interval_ms), integer(10, 3600000), std::int64_t{1000}, absent, true,
     "period of the resource samples in `resource_usage.log`"},
    {"security.monitoring.log_max_bytes", HIVE_FIELD(monitoring.log_max_bytes), integer(4096, std::int64_t(1) << 40), std::int64_t{10 * 1024 * 1024}, absent, true,
     "rotate an audit log file past this size (BIP-025: \"automatic log file rotation\")"},
    {"security.monitoring.hmac_key_file", HIVE_FIELD(monitoring.hmac_key_file), path(), std::string(), absent, true,
     "key for HMAC-SHA-256 chaining of the audit logs; `\"\"` = plain SHA-256 chain. A keyed chain cannot be recomputed by whoever can edit the logs. The file must lie outside every path the sandbox may read (allowed_paths, read_only_paths, exec_paths, the script's directory, the stdlib and system libraries) and have a single name (no hard links): otherwise exit 2"},
    {"security.monitoring.syslog_socket", HIVE_FIELD(monitoring.syslog_socket), path(), std::string(), absent, true,
     "a unix datagram socket (e.g. `/dev/log`, rsyslog's or syslog-ng's; journald's `/run/systemd/journal/socket` gets its native protocol, one field a line) that receives every run record and security event as RFC 5424 structured syslog (BIP-025: \"connection to centralized monitoring\"), with the chain value each record got in its stream, so the remote copy anchors the local trail; `\"\"` = none. A socket missing or refusing a message never loses a run: hive-py writes one `hive-py: warning:` line on stderr and a security event (`syslog_unreachable`) in the local trail"},

    {"security.monitoring.max_logged_events", HIVE_FIELD(monitoring.max_logged_events), integer(100, 1000000000), std::int64_t{100000}, absent, true,
     "the run's log budget: at most this many of its events (and the security events that repeat them: a denial, a tampering call) are written one by one to `audit_events.log`; past it they are counted by event name and written as one `log_budget` security event at the run's end, with `events_summarised` in the run record (a denial past it still gets one of 1,000 more lines first). Counts (`events`, `denials`), the denials list and every other security event are unaffected. Without a budget a script's flood of events wrote ~11 MB/s of log"},
    {"security.monitoring.max_logged_bytes", HIVE_FIELD(monitoring.max_logged_bytes), integer(65536, std::int64_t(1) << 40), std::int64_t{64} << 20, absent, true,
     "the same budget in bytes of those records (before their chain fields): whichever of the two is reached first"},
    {"security.monitoring.kernel_trail", HIVE_FIELD(monitoring.kernel_trail), choice("kernel trail", kKernelTrails), std::string("auto"), absent, true,
     "the kernel's own record of what it refused the run: Landlock's denials (kernel >= 6.15) and seccomp's kills, read by the parent from the kernel's audit netlink socket and written beside the hook's events (`\"source\": \"kernel\"`), with `kernel_trail` in the run record. The script cannot forge or hide these, even with native code. It needs a root caller (CAP_AUDIT_READ) and the kernel's audit on (`auditctl -e 1`); hive-py never turns audit on itself. `auto` collects them when it can and says why not in the record otherwise; `required` refuses the run (exit 125) when they cannot be collected; `off` does not try"},

    {"security.enforcement", HIVE_FIELD(enforcement), choice("enforcement", kEnforcements), std::string("strict"), absent, true,
     "with `strict`, a run whose sandbox layer cannot be applied (for example a kernel without Landlock) is refused; `best_effort` runs it with the layers that work and records each missing one in `security_events.log`"},
};
// clang-format on
    return kKeys;
}

const std::vector<Rule>& rules() {
    static const std::vector<Rule> kRules = {
        {"security.filesystem.exec_paths",
         [](const Policy& p) { return p.filesystem.exec_paths.empty() || p.execution.allow_subprocess; },
         "needs security.execution.allow_subprocess: true (without it every execve is refused, so these "
         "programs could never run)"},
    };
    return kRules;
}

namespace {

std::string_view parent_of(std::string_view dotted) {
    size_t dot = dotted.rfind('.');
    return dot == std::string_view::npos ? std::string_view() : dotted.substr(0, dot);
}

std::string number_text(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back as the same double
    return std::string(buf, r.ptr);
}

}  // namespace

Spec integer(std::int64_t lo, std::int64_t hi, const char* lo_reason) {
    Spec s{Type::integer};
    s.lo = lo, s.hi = hi, s.lo_reason = lo_reason;
    return s;
}
Spec boolean() { return Spec{Type::boolean}; }
Spec number(std::int64_t hi, const char* unit) {
    Spec s{Type::number};
    s.hi = hi, s.unit = unit;
    return s;
}
Spec string() { return Spec{Type::string}; }
Spec path() { return Spec{Type::path}; }
Spec choice(const char* noun, std::vector<Choice> values, bool any_case) {
    Spec s{Type::choice};
    s.noun = noun, s.choices = std::move(values), s.any_case = any_case;
    return s;
}
Spec paths() { return Spec{Type::paths}; }
Spec strings(const char* item, Check check, const char* syntax) {
    Spec s{Type::strings};
    s.item = item, s.check = check, s.syntax = syntax;
    return s;
}
Spec integers(std::int64_t lo, std::int64_t hi) {
    Spec s{Type::integers};
    s.lo = lo, s.hi = hi;
    return s;
}
Spec flags(const char* noun, std::vector<Choice> values) {
    Spec s{Type::flags};
    s.noun = noun, s.choices = std::move(values);
    return s;
}

const char* type_name(Type t) {
    switch (t) {
        case Type::integer: return "integer";
        case Type::boolean: return "boolean";
        case Type::number: return "number";
        case Type::string: return "string";
        case Type::path: return "path";
        case Type::choice: return "choice";
        case Type::paths: return "paths";
        case Type::strings: return "strings";
        case Type::integers: return "integers";
        case Type::flags: return "flags";
    }
    return "?";
}

std::string_view Key::leaf() const {
    std::string_view n = name;
    return n.substr(n.rfind('.') + 1);
}
std::string_view Key::parent() const { return parent_of(name); }
std::string_view Key::section() const {
    std::string_view p = parent();
    size_t first = p.find('.');
    if (first == std::string_view::npos) return p;
    size_t second = p.find('.', first + 1);
    return second == std::string_view::npos ? p : p.substr(0, second);
}

const Key* find(std::string_view dotted) {
    for (const Key& k : keys())
        if (dotted == k.name) return &k;
    return nullptr;
}

std::vector<std::string> children(std::string_view parent) {
    std::vector<std::string> out;
    const std::string prefix = std::string(parent) + ".";
    for (const Key& k : keys()) {
        std::string_view n = k.name;
        if (n.substr(0, prefix.size()) != prefix) continue;
        std::string_view rest = n.substr(prefix.size());
        std::string child(rest.substr(0, rest.find('.')));
        if (std::find(out.begin(), out.end(), child) == out.end()) out.push_back(std::move(child));
    }
    return out;
}

Value get(const Policy& p, const Key& k) {
    return std::visit(
        [&](auto field) -> Value {
            const auto& x = field(const_cast<Policy&>(p));  // NB: read only; one accessor serves both ways
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, int>) return std::int64_t{x};
            else if constexpr (std::is_same_v<T, std::vector<int>>) return Integers(x.begin(), x.end());
            else if constexpr (std::is_enum_v<T>) return std::string(k.spec.choices.at(size_t(x)).name);
            else if constexpr (std::is_same_v<T, BlockedOps>) {
                Strings names;
                for (const Choice& c : k.spec.choices)
                    if (x.*c.flag) names.push_back(c.name);
                return names;
            } else return x;
        },
        k.field);
}

void set(Policy& p, const Key& k, const Value& v) {
    std::visit(
        [&](auto field) {
            auto& x = field(p);
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, int>) x = int(std::get<std::int64_t>(v));
            else if constexpr (std::is_same_v<T, std::vector<int>>) {
                const auto& n = std::get<Integers>(v);
                x.assign(n.begin(), n.end());
            } else if constexpr (std::is_enum_v<T>) {
                const auto& name = std::get<std::string>(v);
                for (size_t i = 0; i < k.spec.choices.size(); ++i)
                    if (name == k.spec.choices[i].name) x = T(i);
            } else if constexpr (std::is_same_v<T, BlockedOps>) {
                x = BlockedOps{};
                for (const auto& name : std::get<Strings>(v))
                    for (const Choice& c : k.spec.choices)
                        if (name == c.name) x.*c.flag = true;
            } else x = std::get<T>(v);
        },
        k.field);
}

std::string yaml_value(const Key& k, const Value& v, int indent) {
    switch (k.spec.type) {
        case Type::integer: return std::to_string(std::get<std::int64_t>(v));
        case Type::boolean: return std::get<bool>(v) ? "true" : "false";
        case Type::number: return number_text(std::get<double>(v));
        // JSON string literals are valid YAML double-quoted scalars, escapes included.
        case Type::string:
        case Type::path:
        case Type::choice: return json::quote(std::get<std::string>(v));
        case Type::integers: return flow_text(k, v);
        case Type::paths:
        case Type::strings:
        case Type::flags: {
            const auto& items = std::get<Strings>(v);
            if (items.empty()) return "[]";
            std::string s;
            for (const auto& item : items) {
                s += '\n';
                s.append(size_t(indent + 2), ' ');
                s += "- ";
                s += json::quote(item);
            }
            return s;
        }
    }
    return "";
}

std::string flow_text(const Key& k, const Value& v) {
    std::string t = "[";
    auto item = [&](const std::string& x) {
        if (t.size() > 1) t += ", ";
        t += x;
    };
    if (const auto* s = std::get_if<Strings>(&v)) {
        for (const auto& x : *s) item(json::quote(x));
    } else if (const auto* n = std::get_if<Integers>(&v)) {
        for (std::int64_t x : *n) item(std::to_string(x));
    } else {
        return yaml_value(k, v, 0);
    }
    return t + "]";
}

std::string yaml_document(std::vector<Setting> settings, bool spaced) {
    // In table order, so that each section's keys are together under one header.
    auto rank = [](const Key* k) { return k - keys().data(); };
    std::stable_sort(settings.begin(), settings.end(),
                     [&](const Setting& a, const Setting& b) { return rank(a.key) < rank(b.key); });
    std::string out;
    std::vector<std::string_view> open;  // the sections of the previous key, from the root
    for (const Setting& s : settings) {
        std::vector<std::string_view> path;
        std::string_view n = s.key->name;
        for (size_t i = 0, dot; (dot = n.find('.', i)) != std::string_view::npos; i = dot + 1)
            path.push_back(n.substr(i, dot - i));
        size_t common = 0;
        while (common < open.size() && common < path.size() && open[common] == path[common]) ++common;
        for (size_t d = common; d < path.size(); ++d) {
            if (spaced && d == 1 && !open.empty()) out += '\n';
            out.append(2 * d, ' ');
            out += std::string(path[d]) + ":\n";
        }
        open = path;
        int indent = int(2 * path.size());
        std::string v = yaml_value(*s.key, s.value, indent);
        out.append(size_t(indent), ' ');
        out += s.key->leaf();
        out += v.front() == '\n' ? ":" : ": ";
        out += v;
        out += '\n';
    }
    return out;
}

std::vector<Setting> builtin_settings() {
    std::vector<Setting> out;
    for (const Key& k : keys())
        if (k.in_builtin()) out.push_back({&k, k.builtin_value()});
    return out;
}

std::vector<std::string> table_problems() {
    const std::vector<Key>& kKeys = keys();
    std::vector<std::string> out;
    // The Value alternative each type holds, and the field types it may live in.
    auto value_index = [](Type t) -> size_t {
        switch (t) {
            case Type::integer: return 0;
            case Type::boolean: return 1;
            case Type::number: return 2;
            case Type::string:
            case Type::path:
            case Type::choice: return 3;
            case Type::paths:
            case Type::strings:
            case Type::flags: return 4;
            case Type::integers: return 5;
        }
        return 99;
    };
    for (size_t i = 0; i < kKeys.size(); ++i) {
        const Key& k = kKeys[i];
        const std::string n = k.name;
        const Type t = k.spec.type;
        bool field_ok = std::visit(
            [&](auto field) {
                using T = std::decay_t<decltype(field(std::declval<Policy&>()))>;
                if constexpr (std::is_same_v<T, int> || std::is_same_v<T, std::int64_t>) return t == Type::integer;
                else if constexpr (std::is_same_v<T, bool>) return t == Type::boolean;
                else if constexpr (std::is_same_v<T, double>) return t == Type::number;
                else if constexpr (std::is_same_v<T, std::string>) return t == Type::string || t == Type::path;
                else if constexpr (std::is_enum_v<T>) return t == Type::choice;
                else if constexpr (std::is_same_v<T, std::vector<std::string>>)
                    return t == Type::paths || t == Type::strings;
                else if constexpr (std::is_same_v<T, std::vector<int>>) return t == Type::integers;
                else if constexpr (std::is_same_v<T, BlockedOps>) return t == Type::flags;
                else return false;
            },
            k.field);
        if (!field_ok) out.push_back(n + ": the field's C++ type does not hold this key's type");
        if (k.def.index() != value_index(t)) out.push_back(n + ": the default is not a value of the key's type");
        if (k.builtin.kind == Builtin::value && k.builtin.v.index() != value_index(t))
            out.push_back(n + ": the built-in value is not a value of the key's type");
        if ((t == Type::choice || t == Type::flags) && k.spec.choices.empty()) out.push_back(n + ": no choices");
        if (t == Type::flags)
            for (const Choice& c : k.spec.choices)
                if (!c.flag) out.push_back(n + ": choice " + c.name + " sets no flag");
        if (t == Type::choice) {
            bool found = false;
            for (const Choice& c : k.spec.choices) found = found || std::get<std::string>(k.def) == c.name;
            if (!found) out.push_back(n + ": the default is not one of the choices");
        }
        if (n.rfind("security.", 0) != 0) out.push_back(n + ": not under security");
        for (size_t j = 0; j < i; ++j) {
            if (n == kKeys[j].name) out.push_back(n + ": declared twice");
            // The Python API takes a key by its last name.
            else if (k.leaf() == kKeys[j].leaf()) out.push_back(n + ": same last name as " + kKeys[j].name);
        }
        // A map's keys are one run of rows (the dumps write each header once).
        for (std::string_view m = k.parent(); !m.empty(); m = parent_of(m)) {
            auto under = [&](const Key& o) { return std::string_view(o.name).substr(0, m.size() + 1) == std::string(m) + "."; };
            if (i == 0 || under(kKeys[i - 1])) continue;
            for (size_t j = 0; j + 1 < i; ++j)
                if (under(kKeys[j])) out.push_back(n + ": the rows of " + std::string(m) + " are not together");
        }
        for (const Key& o : kKeys)
            if (o.parent() == n) out.push_back(n + ": is both a key and a map");  // no name is both
    }
    return out;
}

}  // namespace hive::schema

namespace hive {

// NB: value-initialised first, so that a field no row names is zero rather than indeterminate.
Policy::Policy() : execution(), filesystem(), network(), imports(), monitoring(), enforcement() {
    for (const schema::Key& k : schema::keys()) schema::set(*this, k, k.def);
}

}  // namespace hive
