// The effective policy written back out: YAML for --check-policy (it parses back to the same Policy) and
// one JSON object for run records. Both list every key, defaults included, in the schema's order.
#include <charconv>
#include <string>
#include <vector>

#include "common/json.h"
#include "policy/policy.h"

namespace hive {

namespace {

std::string number(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back as the same double
    return std::string(buf, r.ptr);
}

std::vector<std::string> blocked_names(const BlockedOps& b) {
    std::vector<std::string> v;
    if (b.del) v.push_back("delete");
    if (b.chmod) v.push_back("chmod");
    if (b.chown) v.push_back("chown");
    if (b.truncate) v.push_back("truncate");
    return v;
}

// JSON string literals are valid YAML double-quoted scalars, escapes included.
void yaml_key(std::string& out, int indent, const char* key) {
    out.append(size_t(indent), ' ');
    out += key;
    out += ':';
}

void yaml_scalar(std::string& out, int indent, const char* key, const std::string& text) {
    yaml_key(out, indent, key);
    out += ' ';
    out += text;
    out += '\n';
}

void yaml_list(std::string& out, int indent, const char* key, const std::vector<std::string>& items) {
    yaml_key(out, indent, key);
    if (items.empty()) {
        out += " []\n";
        return;
    }
    out += '\n';
    for (const auto& s : items) {
        out.append(size_t(indent + 2), ' ');
        out += "- ";
        out += json::quote(s);
        out += '\n';
    }
}

std::string ports_text(const std::vector<int>& ports, const char* sep = ", ") {
    std::string s = "[";
    for (size_t i = 0; i < ports.size(); ++i) {
        if (i) s += sep;
        s += std::to_string(ports[i]);
    }
    return s + "]";
}

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

}  // namespace

std::string to_yaml(const Policy& p) {
    const auto& x = p.execution;
    const auto& f = p.filesystem;
    const auto& m = p.monitoring;
    std::string o = "# source: " + one_line(p.source) + "  sha256: " + p.sha256 + "\n";
    o += "security:\n";
    o += "  execution:\n";
    yaml_scalar(o, 4, "timeout_seconds", std::to_string(x.timeout_seconds));
    yaml_scalar(o, 4, "cpu_seconds", std::to_string(x.cpu_seconds));
    yaml_scalar(o, 4, "memory_mb", std::to_string(x.memory_mb));
    yaml_scalar(o, 4, "file_size_mb", std::to_string(x.file_size_mb));
    yaml_scalar(o, 4, "max_processes", std::to_string(x.max_processes));
    yaml_scalar(o, 4, "max_open_files", std::to_string(x.max_open_files));
    yaml_scalar(o, 4, "allow_subprocess", x.allow_subprocess ? "true" : "false");
    yaml_list(o, 4, "env_passthrough", x.env_passthrough);
    o += "  filesystem:\n";
    yaml_list(o, 4, "allowed_paths", f.allowed_paths);
    yaml_list(o, 4, "read_only_paths", f.read_only_paths);
    yaml_list(o, 4, "exec_paths", f.exec_paths);
    yaml_list(o, 4, "blocked_operations", blocked_names(f.blocked));
    o += "  network:\n";
    yaml_list(o, 4, "allowed_domains", p.network.allowed_domains);
    yaml_scalar(o, 4, "blocked_ports", ports_text(p.network.blocked_ports));
    o += "  imports:\n";
    yaml_list(o, 4, "allow", p.imports.allow);
    yaml_list(o, 4, "deny", p.imports.deny);
    o += "  monitoring:\n";
    yaml_scalar(o, 4, "log_level", json::quote(to_string(m.log_level)));
    o += "    alert_thresholds:\n";
    yaml_scalar(o, 6, "cpu_usage", number(m.alert_thresholds.cpu_usage));
    yaml_scalar(o, 6, "memory_usage", number(m.alert_thresholds.memory_usage));
    yaml_scalar(o, 6, "execution_time", number(m.alert_thresholds.execution_time));
    yaml_scalar(o, 4, "alert_command", json::quote(m.alert_command));
    yaml_scalar(o, 4, "sample_interval_ms", std::to_string(m.sample_interval_ms));
    yaml_scalar(o, 4, "log_max_bytes", std::to_string(m.log_max_bytes));
    yaml_scalar(o, 4, "hmac_key_file", json::quote(m.hmac_key_file));
    yaml_scalar(o, 4, "syslog_socket", json::quote(m.syslog_socket));
    yaml_scalar(o, 2, "enforcement", to_string(p.enforcement));
    return o;
}

std::string to_json(const Policy& p) {
    const auto& x = p.execution;
    const auto& f = p.filesystem;
    const auto& m = p.monitoring;
    json::Object ex;
    ex.add("timeout_seconds", x.timeout_seconds)
        .add("cpu_seconds", x.cpu_seconds)
        .add("memory_mb", x.memory_mb)
        .add("file_size_mb", x.file_size_mb)
        .add("max_processes", x.max_processes)
        .add("max_open_files", x.max_open_files)
        .add("allow_subprocess", x.allow_subprocess)
        .add("env_passthrough", x.env_passthrough);
    json::Object fs;
    fs.add("allowed_paths", f.allowed_paths)
        .add("read_only_paths", f.read_only_paths)
        .add("exec_paths", f.exec_paths)
        .add("blocked_operations", blocked_names(f.blocked));
    std::string ports = ports_text(p.network.blocked_ports, ",");
    json::Object net;
    net.add("allowed_domains", p.network.allowed_domains).add_raw("blocked_ports", ports);
    json::Object im;
    im.add("allow", p.imports.allow).add("deny", p.imports.deny);
    json::Object th;
    // NB: json::Object rounds doubles to 6 digits; thresholds are written exactly.
    th.add_raw("cpu_usage", number(m.alert_thresholds.cpu_usage))
        .add_raw("memory_usage", number(m.alert_thresholds.memory_usage))
        .add_raw("execution_time", number(m.alert_thresholds.execution_time));
    json::Object mo;
    mo.add("log_level", to_string(m.log_level))
        .add_raw("alert_thresholds", th.str())
        .add("alert_command", m.alert_command)
        .add("sample_interval_ms", m.sample_interval_ms)
        .add("log_max_bytes", m.log_max_bytes)
        .add("hmac_key_file", m.hmac_key_file)
        .add("syslog_socket", m.syslog_socket);
    json::Object sec;
    sec.add_raw("execution", ex.str())
        .add_raw("filesystem", fs.str())
        .add_raw("network", net.str())
        .add_raw("imports", im.str())
        .add_raw("monitoring", mo.str())
        .add("enforcement", to_string(p.enforcement));
    json::Object root;
    root.add("source", p.source).add("sha256", p.sha256).add_raw("security", sec.str());
    return root.str();
}

bool equivalent(const Policy& a, const Policy& b) {
    const auto &xa = a.execution, &xb = b.execution;
    const auto &fa = a.filesystem, &fb = b.filesystem;
    const auto &ma = a.monitoring, &mb = b.monitoring;
    return xa.timeout_seconds == xb.timeout_seconds && xa.cpu_seconds == xb.cpu_seconds &&
           xa.memory_mb == xb.memory_mb && xa.file_size_mb == xb.file_size_mb &&
           xa.max_processes == xb.max_processes && xa.max_open_files == xb.max_open_files &&
           xa.allow_subprocess == xb.allow_subprocess && xa.env_passthrough == xb.env_passthrough &&
           fa.allowed_paths == fb.allowed_paths && fa.read_only_paths == fb.read_only_paths &&
           fa.exec_paths == fb.exec_paths && blocked_names(fa.blocked) == blocked_names(fb.blocked) &&
           a.network.allowed_domains == b.network.allowed_domains &&
           a.network.blocked_ports == b.network.blocked_ports && a.imports.allow == b.imports.allow &&
           a.imports.deny == b.imports.deny && ma.log_level == mb.log_level &&
           ma.alert_thresholds.cpu_usage == mb.alert_thresholds.cpu_usage &&
           ma.alert_thresholds.memory_usage == mb.alert_thresholds.memory_usage &&
           ma.alert_thresholds.execution_time == mb.alert_thresholds.execution_time &&
           ma.alert_command == mb.alert_command && ma.sample_interval_ms == mb.sample_interval_ms &&
           ma.log_max_bytes == mb.log_max_bytes && ma.hmac_key_file == mb.hmac_key_file &&
           ma.syslog_socket == mb.syslog_socket &&
           a.enforcement == b.enforcement;
}

}  // namespace hive
