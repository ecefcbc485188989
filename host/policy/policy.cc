// Parsing and validating the `security:` YAML into a Policy. Schema-first: every key is known here, every
// value is type-checked strictly (no "5s", no 1.5 for an integer, no "yes" for a boolean) and the first
// problem is returned as `FILE:LINE:COL: security.key.path: what is wrong`. Nothing here throws out.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/sha256.h"
#include "policy/policy.h"

namespace hive {

namespace {

constexpr const char* kDefaultPolicy =
    R"(# scripts/config/security_policy.yml
security:
  execution:
    timeout_seconds: 300
    cpu_seconds: 60
    memory_mb: 512
    file_size_mb: 100
    max_processes: 5

  filesystem:
    allowed_paths:
      - "/tmp"
      - "./data"
      - "./logs"
    blocked_operations:
      - "delete"
      - "chmod"
      - "chown"

  network:
    allowed_domains: []
    blocked_ports: [22, 23, 3389]

  monitoring:
    log_level: "INFO"
    alert_thresholds:
      cpu_usage: 80
      memory_usage: 90
      execution_time: 250
)";

// One key of a map with its value, as written in the file.
struct Entry {
    std::string name;
    YAML::Node key;
    YAML::Node value;
};

struct Parser {
    std::string file;
    std::string base_dir;

    Error fail(const YAML::Mark& m, std::string_view path, std::string_view what) const {
        std::string msg = file;
        if (!m.is_null()) {
            msg += ':' + std::to_string(m.line + 1) + ':' + std::to_string(m.column + 1);
        }
        msg += ": ";
        msg += path;
        msg += ": ";
        msg += what;
        return Error{std::move(msg)};
    }
};

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out;
}

// The mark to report for a value: yaml-cpp gives an empty value (`key:`) the mark of the next token,
// which points at the wrong line, so those report the key.
YAML::Mark value_mark(const Entry& e) {
    if (!e.value.IsDefined() || e.value.IsNull() || e.value.Mark().is_null()) return e.key.Mark();
    return e.value.Mark();
}

bool is_plain(const YAML::Node& n) { return n.Tag() == "?"; }

// YAML 1.2 core schema classes of a plain scalar.
bool plain_is_null(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }
bool plain_is_true(const std::string& s) { return s == "true" || s == "True" || s == "TRUE"; }
bool plain_is_false(const std::string& s) { return s == "false" || s == "False" || s == "FALSE"; }
bool plain_is_yaml11_bool(const std::string& s) {
    static const std::set<std::string> k = {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON",
                                            "off", "Off", "OFF", "y", "Y", "n", "N"};
    return k.count(s) > 0;
}
bool looks_integer(const std::string& s) {
    size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (i == s.size()) return false;
    for (; i < s.size(); ++i)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}
std::optional<double> parse_decimal(const std::string& s) {
    // digits with an optional fraction and exponent; no .inf/.nan, no hex.
    size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    }
    if (digits == 0) return std::nullopt;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
        size_t exp_digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
        if (exp_digits == 0) return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    double v = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    auto r = std::from_chars(b, s.data() + s.size(), v);
    if (r.ec != std::errc() || !std::isfinite(v)) return std::nullopt;
    return v;
}

// "a sequence", "null", "'5s'"... for "expected X, got Y".
std::string describe(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return "nothing (null)";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a map";
    std::string s = n.Scalar();
    if (s.size() > 40) s = s.substr(0, 37) + "...";
    if (!is_plain(n)) return "the quoted string \"" + s + "\"";
    return "'" + s + "'";
}

// ---- scalar readers -------------------------------------------------------------------------------

Status read_int(const Parser& P, const Entry& e, const std::string& path, std::int64_t lo, std::int64_t hi,
                std::string_view lo_reason, std::int64_t& out) {
    const YAML::Node& v = e.value;
    const std::string kind = "expected an integer";
    if (!v.IsScalar() || !is_plain(v)) return P.fail(value_mark(e), path, kind + ", got " + describe(v));
    const std::string& s = v.Scalar();
    if (plain_is_true(s) || plain_is_false(s))
        return P.fail(value_mark(e), path, kind + ", got the boolean '" + s + "'");
    if (!looks_integer(s)) {
        if (parse_decimal(s)) return P.fail(value_mark(e), path, kind + ", got the decimal number '" + s + "'");
        return P.fail(value_mark(e), path, kind + ", got " + describe(v) + " (write a plain number, no unit)");
    }
    std::int64_t n = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    auto r = std::from_chars(b, s.data() + s.size(), n);
    std::string range = "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
    if (r.ec != std::errc()) return P.fail(value_mark(e), path, range + ", got " + s);
    if (n <= 0) return P.fail(value_mark(e), path, "must be positive, got " + s);
    if (n < lo) {
        std::string msg = "must be at least " + std::to_string(lo);
        if (!lo_reason.empty()) msg += " (" + std::string(lo_reason) + ")";
        return P.fail(value_mark(e), path, msg + ", got " + s);
    }
    if (n > hi) return P.fail(value_mark(e), path, "must be at most " + std::to_string(hi) + ", got " + s);
    out = n;
    return {};
}

Status read_int(const Parser& P, const Entry& e, const std::string& path, std::int64_t lo, std::int64_t hi,
                std::string_view lo_reason, int& out) {
    std::int64_t n = 0;
    HIVE_TRY(read_int(P, e, path, lo, hi, lo_reason, n));
    out = static_cast<int>(n);
    return {};
}

Status read_bool(const Parser& P, const Entry& e, const std::string& path, bool& out) {
    const YAML::Node& v = e.value;
    const std::string kind = "expected a boolean (true or false)";
    if (!v.IsScalar() || !is_plain(v)) return P.fail(value_mark(e), path, kind + ", got " + describe(v));
    const std::string& s = v.Scalar();
    if (plain_is_true(s)) {
        out = true;
        return {};
    }
    if (plain_is_false(s)) {
        out = false;
        return {};
    }
    if (plain_is_yaml11_bool(s))
        return P.fail(value_mark(e), path, kind + ", got '" + s + "' (YAML 1.1 spellings are refused)");
    return P.fail(value_mark(e), path, kind + ", got " + describe(v));
}

// A number > 0 (and <= hi when hi > 0).
Status read_threshold(const Parser& P, const Entry& e, const std::string& path, double hi, double& out) {
    const YAML::Node& v = e.value;
    const std::string kind = "expected a number";
    if (!v.IsScalar() || !is_plain(v)) return P.fail(value_mark(e), path, kind + ", got " + describe(v));
    auto d = parse_decimal(v.Scalar());
    if (!d) return P.fail(value_mark(e), path, kind + ", got " + describe(v));
    if (*d <= 0) return P.fail(value_mark(e), path, "must be greater than 0, got " + v.Scalar());
    if (hi > 0 && *d > hi)
        return P.fail(value_mark(e), path, "must be at most " + std::to_string(int(hi)) + " (percent), got " + v.Scalar());
    out = *d;
    return {};
}

// A scalar meant as text: quoted, or plain but not null/boolean/number.
Status read_string_node(const Parser& P, const YAML::Node& v, const YAML::Mark& m, const std::string& path,
                        std::string& out) {
    if (!v.IsDefined() || v.IsNull() || !v.IsScalar())
        return P.fail(m, path, "expected a string, got " + describe(v));
    const std::string& s = v.Scalar();
    if (is_plain(v)) {
        if (plain_is_null(s)) return P.fail(m, path, "expected a string, got nothing (null)");
        if (plain_is_true(s) || plain_is_false(s))
            return P.fail(m, path, "expected a string, got the boolean '" + s + "' (quote it)");
        if (parse_decimal(s)) return P.fail(m, path, "expected a string, got the number '" + s + "' (quote it)");
    }
    if (s.find('\0') != std::string::npos) return P.fail(m, path, "contains a NUL character");
    out = s;
    return {};
}

Status read_string(const Parser& P, const Entry& e, const std::string& path, std::string& out) {
    return read_string_node(P, e.value, value_mark(e), path, out);
}

// A sequence whose items go through `item(node, mark, item_path)`.
Status read_list(const Parser& P, const Entry& e, const std::string& path,
                 const std::function<Status(const YAML::Node&, const YAML::Mark&, const std::string&)>& item) {
    const YAML::Node& v = e.value;
    if (!v.IsSequence()) return P.fail(value_mark(e), path, "expected a list, got " + describe(v));
    for (size_t i = 0; i < v.size(); ++i) {
        YAML::Node n = v[i];
        YAML::Mark m = n.Mark().is_null() ? value_mark(e) : n.Mark();
        HIVE_TRY(item(n, m, path + "[" + std::to_string(i) + "]"));
    }
    return {};
}

Status read_string_list(const Parser& P, const Entry& e, const std::string& path,
                        const std::function<std::optional<std::string>(const std::string&)>& check,
                        std::vector<std::string>& out) {
    out.clear();
    return read_list(P, e, path, [&](const YAML::Node& n, const YAML::Mark& m, const std::string& ip) -> Status {
        std::string s;
        HIVE_TRY(read_string_node(P, n, m, ip, s));
        if (check) {
            if (auto why = check(s)) return P.fail(m, ip, *why);
        }
        out.push_back(std::move(s));
        return {};
    });
}

// ---- value checks ---------------------------------------------------------------------------------

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

// Resolves a path against base_dir. Refuses what a shell would have expanded: hive-py runs none.
Status resolve_path(const Parser& P, const YAML::Mark& m, const std::string& path, std::string& s) {
    if (s.empty()) return P.fail(m, path, "empty path");
    if (s[0] == '~')
        return P.fail(m, path, "'" + s + "': '~' is not expanded (hive-py uses no shell): write the full path");
    s = normalize_path(s, P.base_dir);
    return {};
}

Status read_path_list(const Parser& P, const Entry& e, const std::string& path, std::vector<std::string>& out) {
    out.clear();
    return read_list(P, e, path, [&](const YAML::Node& n, const YAML::Mark& m, const std::string& ip) -> Status {
        std::string s;
        HIVE_TRY(read_string_node(P, n, m, ip, s));
        HIVE_TRY(resolve_path(P, m, ip, s));
        out.push_back(std::move(s));
        return {};
    });
}

// ---- maps -----------------------------------------------------------------------------------------

// The entries of a map section, in file order; unknown, duplicated and non-scalar keys are errors.
// A section left empty (`execution:`) is an empty map.
Status read_map(const Parser& P, const YAML::Node& node, const YAML::Mark& mark, const std::string& path,
                const std::vector<std::string>& known, std::vector<Entry>& out) {
    out.clear();
    if (!node.IsDefined() || node.IsNull()) return {};
    if (!node.IsMap()) return P.fail(mark, path, "expected a map, got " + describe(node));
    for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node& k = it->first;
        std::string kpath = path.empty() ? std::string() : path + ".";
        if (!k.IsScalar()) return P.fail(k.Mark(), path.empty() ? "(root)" : path, "keys must be plain names");
        const std::string& name = k.Scalar();
        kpath += name;
        bool is_known = false;
        for (const auto& n : known) is_known = is_known || n == name;
        if (!is_known) return P.fail(k.Mark(), kpath, "unknown key (known: " + join(known) + ")");
        for (const auto& prev : out) {
            if (prev.name == name) {
                return P.fail(k.Mark(), kpath,
                              "duplicate key (first at line " + std::to_string(prev.key.Mark().line + 1) + ")");
            }
        }
        out.push_back(Entry{name, k, it->second});
    }
    return {};
}

Status parse_execution(const Parser& P, const Entry& sec, Policy::Execution& x) {
    const std::string base = "security.execution";
    std::vector<Entry> es;
    HIVE_TRY(read_map(P, sec.value, value_mark(sec), base,
                      {"timeout_seconds", "cpu_seconds", "memory_mb", "file_size_mb", "max_processes",
                       "max_open_files", "allow_subprocess", "env_passthrough"},
                      es));
    for (const auto& e : es) {
        const std::string p = base + "." + e.name;
        if (e.name == "timeout_seconds") HIVE_TRY(read_int(P, e, p, 1, 86400, "", x.timeout_seconds));
        if (e.name == "cpu_seconds") HIVE_TRY(read_int(P, e, p, 1, 86400, "", x.cpu_seconds));
        if (e.name == "memory_mb")
            HIVE_TRY(read_int(P, e, p, 32, 1048576,
                              "the interpreter cannot start below ~24 MB of address space", x.memory_mb));
        if (e.name == "file_size_mb") HIVE_TRY(read_int(P, e, p, 1, 1048576, "", x.file_size_mb));
        if (e.name == "max_processes") HIVE_TRY(read_int(P, e, p, 1, 4096, "", x.max_processes));
        if (e.name == "max_open_files")
            HIVE_TRY(read_int(P, e, p, 16, 65536, "the interpreter needs a few descriptors to start",
                              x.max_open_files));
        if (e.name == "allow_subprocess") HIVE_TRY(read_bool(P, e, p, x.allow_subprocess));
        if (e.name == "env_passthrough") HIVE_TRY(read_string_list(P, e, p, check_env_name, x.env_passthrough));
    }
    return {};
}

Status parse_filesystem(const Parser& P, const Entry& sec, Policy::Filesystem& f,
                        std::optional<YAML::Mark>& exec_paths_mark) {
    const std::string base = "security.filesystem";
    std::vector<Entry> es;
    HIVE_TRY(read_map(P, sec.value, value_mark(sec), base,
                      {"allowed_paths", "read_only_paths", "exec_paths", "blocked_operations"}, es));
    for (const auto& e : es) {
        const std::string p = base + "." + e.name;
        if (e.name == "allowed_paths") HIVE_TRY(read_path_list(P, e, p, f.allowed_paths));
        if (e.name == "read_only_paths") HIVE_TRY(read_path_list(P, e, p, f.read_only_paths));
        if (e.name == "exec_paths") {
            HIVE_TRY(read_path_list(P, e, p, f.exec_paths));
            exec_paths_mark = e.key.Mark();
        }
        if (e.name == "blocked_operations") {
            std::vector<std::string> ops;
            HIVE_TRY(read_string_list(P, e, p, nullptr, ops));
            f.blocked = BlockedOps{};
            for (size_t i = 0; i < ops.size(); ++i) {
                const std::string& op = ops[i];
                if (op == "delete") f.blocked.del = true;
                else if (op == "chmod") f.blocked.chmod = true;
                else if (op == "chown") f.blocked.chown = true;
                else if (op == "truncate") f.blocked.truncate = true;
                else
                    return P.fail(e.value[i].Mark(), p + "[" + std::to_string(i) + "]",
                                  "unknown blocked operation '" + op + "' (known: delete, chmod, chown, truncate)");
            }
        }
    }
    return {};
}

Status parse_network(const Parser& P, const Entry& sec, Policy::Network& n) {
    const std::string base = "security.network";
    std::vector<Entry> es;
    HIVE_TRY(read_map(P, sec.value, value_mark(sec), base, {"allowed_domains", "blocked_ports"}, es));
    for (const auto& e : es) {
        const std::string p = base + "." + e.name;
        if (e.name == "allowed_domains") HIVE_TRY(read_string_list(P, e, p, check_domain, n.allowed_domains));
        if (e.name == "blocked_ports") {
            n.blocked_ports.clear();
            HIVE_TRY(read_list(P, e, p, [&](const YAML::Node& item, const YAML::Mark&, const std::string& ip) -> Status {
                int port = 0;
                Entry one{e.name, e.key, item};
                HIVE_TRY(read_int(P, one, ip, 1, 65535, "", port));
                n.blocked_ports.push_back(port);
                return {};
            }));
        }
    }
    return {};
}

Status parse_imports(const Parser& P, const Entry& sec, Policy::Imports& im) {
    const std::string base = "security.imports";
    std::vector<Entry> es;
    HIVE_TRY(read_map(P, sec.value, value_mark(sec), base, {"allow", "deny"}, es));
    for (const auto& e : es) {
        const std::string p = base + "." + e.name;
        if (e.name == "allow") HIVE_TRY(read_string_list(P, e, p, check_module, im.allow));
        if (e.name == "deny") HIVE_TRY(read_string_list(P, e, p, check_module, im.deny));
    }
    return {};
}

Status parse_monitoring(const Parser& P, const Entry& sec, Policy::Monitoring& mo) {
    const std::string base = "security.monitoring";
    std::vector<Entry> es;
    HIVE_TRY(read_map(P, sec.value, value_mark(sec), base,
                      {"log_level", "alert_thresholds", "alert_command", "sample_interval_ms", "log_max_bytes",
                       "hmac_key_file", "syslog_socket"},
                      es));
    for (const auto& e : es) {
        const std::string p = base + "." + e.name;
        if (e.name == "log_level") {
            std::string s;
            HIVE_TRY(read_string(P, e, p, s));
            std::string up;
            for (char c : s) up += (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
            if (up == "DEBUG") mo.log_level = LogLevel::debug;
            else if (up == "INFO") mo.log_level = LogLevel::info;
            else if (up == "WARNING") mo.log_level = LogLevel::warning;
            else if (up == "ERROR") mo.log_level = LogLevel::error;
            else if (up == "CRITICAL") mo.log_level = LogLevel::critical;
            else
                return P.fail(value_mark(e), p,
                              "unknown log level '" + s + "' (known: DEBUG, INFO, WARNING, ERROR, CRITICAL)");
        }
        if (e.name == "alert_thresholds") {
            std::vector<Entry> ts;
            HIVE_TRY(read_map(P, e.value, value_mark(e), p, {"cpu_usage", "memory_usage", "execution_time"}, ts));
            for (const auto& t : ts) {
                const std::string tp = p + "." + t.name;
                if (t.name == "cpu_usage") HIVE_TRY(read_threshold(P, t, tp, 100, mo.alert_thresholds.cpu_usage));
                if (t.name == "memory_usage")
                    HIVE_TRY(read_threshold(P, t, tp, 100, mo.alert_thresholds.memory_usage));
                if (t.name == "execution_time")
                    HIVE_TRY(read_threshold(P, t, tp, 0, mo.alert_thresholds.execution_time));
            }
        }
        if (e.name == "alert_command") {
            // "" (quoted) switches alerts off explicitly.
            if (e.value.IsScalar() && !is_plain(e.value) && e.value.Scalar().empty()) mo.alert_command.clear();
            else HIVE_TRY(read_string(P, e, p, mo.alert_command));
        }
        if (e.name == "sample_interval_ms") HIVE_TRY(read_int(P, e, p, 10, 3600000, "", mo.sample_interval_ms));
        if (e.name == "log_max_bytes")
            HIVE_TRY(read_int(P, e, p, 4096, std::int64_t(1) << 40, "", mo.log_max_bytes));
        if (e.name == "hmac_key_file") {
            if (e.value.IsScalar() && !is_plain(e.value) && e.value.Scalar().empty()) {
                mo.hmac_key_file.clear();
            } else {
                std::string s;
                HIVE_TRY(read_string(P, e, p, s));
                HIVE_TRY(resolve_path(P, value_mark(e), p, s));
                mo.hmac_key_file = s;
            }
        }
        if (e.name == "syslog_socket") {
            if (e.value.IsScalar() && !is_plain(e.value) && e.value.Scalar().empty()) {
                mo.syslog_socket.clear();
            } else {
                std::string s;
                HIVE_TRY(read_string(P, e, p, s));
                HIVE_TRY(resolve_path(P, value_mark(e), p, s));
                mo.syslog_socket = s;
            }
        }
    }
    return {};
}

Status parse_security(const Parser& P, const Entry& sec, Policy& pol) {
    std::vector<Entry> es;
    HIVE_TRY(read_map(P, sec.value, value_mark(sec), "security",
                      {"execution", "filesystem", "network", "imports", "monitoring", "enforcement"}, es));
    std::optional<YAML::Mark> exec_paths_mark;
    for (const auto& e : es) {
        if (e.name == "execution") HIVE_TRY(parse_execution(P, e, pol.execution));
        if (e.name == "filesystem") HIVE_TRY(parse_filesystem(P, e, pol.filesystem, exec_paths_mark));
        if (e.name == "network") HIVE_TRY(parse_network(P, e, pol.network));
        if (e.name == "imports") HIVE_TRY(parse_imports(P, e, pol.imports));
        if (e.name == "monitoring") HIVE_TRY(parse_monitoring(P, e, pol.monitoring));
        if (e.name == "enforcement") {
            std::string s;
            HIVE_TRY(read_string(P, e, "security.enforcement", s));
            if (s == "strict") pol.enforcement = Enforcement::strict;
            else if (s == "best_effort") pol.enforcement = Enforcement::best_effort;
            else
                return P.fail(value_mark(e), "security.enforcement",
                              "unknown enforcement '" + s + "' (known: strict, best_effort)");
        }
    }
    // Cross-field rules, checked once every key is read.
    if (!pol.filesystem.exec_paths.empty() && !pol.execution.allow_subprocess) {
        return P.fail(*exec_paths_mark, "security.filesystem.exec_paths",
                      "needs security.execution.allow_subprocess: true (without it every execve is refused, so these "
                      "programs could never run)");
    }
    return {};
}

}  // namespace

const std::string& default_policy_yaml() {
    static const std::string text = kDefaultPolicy;
    return text;
}

Policy builtin_default_policy(const std::string& base_dir) {
    // execution, monitoring and enforcement: the struct's defaults are BIP-025's values, as the text states.
    Policy pol;
    const std::string base = normalize_path(".", base_dir);
    for (const char* p : {"/tmp", "./data", "./logs"}) pol.filesystem.allowed_paths.push_back(normalize_path(p, base));
    pol.filesystem.blocked.del = pol.filesystem.blocked.chmod = pol.filesystem.blocked.chown = true;
    pol.network.blocked_ports = {22, 23, 3389};
    pol.source = "built-in default";
    pol.sha256 = sha256_hex(default_policy_yaml());
    return pol;
}

Result<Policy> parse_policy(const std::string& yaml_text, const std::string& source_name,
                            const std::string& base_dir) {
    Parser P{source_name, normalize_path(".", base_dir)};
    const std::string expect_root = "expected a map with the single key 'security'";
    try {
        std::vector<YAML::Node> docs = YAML::LoadAll(yaml_text);
        if (docs.empty() || (docs.size() == 1 && docs[0].IsNull()))
            return Error{source_name + ": the policy is empty: " + expect_root};
        if (docs.size() > 1)
            return P.fail(docs[1].Mark(), "(root)", "more than one YAML document: a policy is a single document");
        const YAML::Node& root = docs[0];
        if (!root.IsMap()) return P.fail(root.Mark(), "(root)", expect_root + ", got " + describe(root));
        std::vector<Entry> top;
        HIVE_TRY(read_map(P, root, root.Mark(), "", {"security"}, top));
        if (top.empty()) return P.fail(root.Mark(), "(root)", expect_root + ", got an empty map");
        Policy pol;
        HIVE_TRY(parse_security(P, top[0], pol));
        pol.source = source_name;
        pol.sha256 = sha256_hex(yaml_text);
        return pol;
    } catch (const YAML::Exception& e) {
        // ParserException and the depth guard: syntax errors with the position yaml-cpp stopped at.
        std::string m = source_name;
        if (!e.mark.is_null()) m += ':' + std::to_string(e.mark.line + 1) + ':' + std::to_string(e.mark.column + 1);
        return Error{m + ": YAML syntax error: " + e.msg};
    } catch (const std::exception& e) {
        return Error{source_name + ": cannot parse policy: " + e.what()};
    }
}

const char* to_string(Enforcement e) {
    switch (e) {
        case Enforcement::strict: return "strict";
        case Enforcement::best_effort: return "best_effort";
    }
    return "?";
}

const char* to_string(LogLevel l) {
    switch (l) {
        case LogLevel::debug: return "DEBUG";
        case LogLevel::info: return "INFO";
        case LogLevel::warning: return "WARNING";
        case LogLevel::error: return "ERROR";
        case LogLevel::critical: return "CRITICAL";
    }
    return "?";
}

}  // namespace hive
