// host/policy: parsing, validation messages, defaults, paths, discovery and the effective-policy dumps.
// Fixtures live in policy/tests/{valid,invalid}; each invalid one states its expected error on line 1.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "policy/policy.h"
#include "policy/schema.h"
#include "run.h"

namespace {

const std::string kFixtures = std::string(HIVE_SOURCE_DIR) + "/policy/tests";

std::vector<std::string> yml_files(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = opendir(dir.c_str());
    REQUIRE(d != nullptr);
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 4 && n.substr(n.size() - 4) == ".yml") out.push_back(dir + "/" + n);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

// Sets or clears HIVE_POLICY for one scope, restoring the previous value.
struct EnvGuard {
    std::string old;
    bool had;
    explicit EnvGuard(const char* value) {
        const char* o = std::getenv("HIVE_POLICY");
        had = o != nullptr;
        if (had) old = o;
        if (value) setenv("HIVE_POLICY", value, 1);
        else unsetenv("HIVE_POLICY");
    }
    ~EnvGuard() {
        if (had) setenv("HIVE_POLICY", old.c_str(), 1);
        else unsetenv("HIVE_POLICY");
    }
};

hive::Policy parse_ok(const std::string& text, const std::string& base = "/base") {
    auto r = hive::parse_policy(text, "test.yml", base);
    INFO(text);
    if (!r.ok()) FAIL(r.error().message);
    return r.value();
}

std::string parse_err(const std::string& text) {
    auto r = hive::parse_policy(text, "test.yml", "/base");
    INFO(text);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

}  // namespace

TEST_CASE("every valid fixture loads", "[policy]") {
    auto files = yml_files(kFixtures + "/valid");
    REQUIRE(files.size() >= 5);
    for (const auto& f : files) {
        auto r = hive::load_policy_file(f, "/work/run");
        INFO(f);
        if (!r.ok()) FAIL(r.error().message);
        CHECK(r->source == f);
        CHECK(r->sha256 == hive::sha256_hex(hivetest::read_file(f)));
    }
}

TEST_CASE("every invalid fixture fails with the position, key path and text of its # expect: line",
          "[policy]") {
    auto files = yml_files(kFixtures + "/invalid");
    REQUIRE(files.size() >= 15);
    for (const auto& f : files) {
        std::string text = hivetest::read_file(f);
        const std::string tag = "# expect: ";
        INFO(f);
        REQUIRE(text.rfind(tag, 0) == 0);
        std::string expect = text.substr(tag.size(), text.find('\n') - tag.size());
        // "L:C: key.path: text"
        size_t pos_end = expect.find(": ");
        size_t path_end = expect.find(": ", pos_end + 2);
        REQUIRE(pos_end != std::string::npos);
        REQUIRE(path_end != std::string::npos);
        std::string position = expect.substr(0, pos_end);
        std::string key_path = expect.substr(pos_end + 2, path_end - pos_end - 2);
        std::string what = expect.substr(path_end + 2);

        auto r = hive::load_policy_file(f, "/work/run");
        REQUIRE_FALSE(r.ok());
        const std::string& msg = r.error().message;
        INFO(msg);
        CHECK(msg.rfind(f + ":" + position + ": " + key_path + ": ", 0) == 0);
        CHECK(msg.find(what) != std::string::npos);
        CHECK(msg.find('\n') == std::string::npos);
    }
}

TEST_CASE("omitted keys take the defaults of policy.h", "[policy]") {
    hive::Policy p = parse_ok("security: {}\n");
    hive::Policy d;
    CHECK(hive::equivalent(p, d));
    CHECK(p.execution.timeout_seconds == 300);
    CHECK(p.execution.cpu_seconds == 60);
    CHECK(p.execution.memory_mb == 512);
    CHECK(p.execution.file_size_mb == 100);
    CHECK(p.execution.max_processes == 5);
    CHECK(p.execution.max_open_files == 256);
    CHECK_FALSE(p.execution.allow_subprocess);
    CHECK(p.filesystem.allowed_paths.empty());
    CHECK_FALSE(p.filesystem.blocked.del);
    CHECK(p.network.blocked_ports.empty());
    CHECK(p.monitoring.log_level == hive::LogLevel::info);
    CHECK(p.monitoring.sample_interval_ms == 1000);
    CHECK(p.monitoring.log_max_bytes == 10 * 1024 * 1024);
    CHECK(p.enforcement == hive::Enforcement::strict);
    CHECK(p.source == "test.yml");

    // A section left empty is the same as an omitted one.
    CHECK(hive::equivalent(parse_ok("security:\n  execution:\n"), d));
    CHECK(hive::equivalent(parse_ok("security:\n"), d));
}

TEST_CASE("the built-in default holds BIP-025's values", "[policy]") {
    auto r = hive::parse_policy(hive::default_policy_yaml(), "built-in default", "/run");
    REQUIRE(r.ok());
    const hive::Policy& p = *r;
    CHECK(p.source == "built-in default");
    CHECK(p.execution.timeout_seconds == 300);
    CHECK(p.execution.cpu_seconds == 60);
    CHECK(p.execution.memory_mb == 512);
    CHECK(p.execution.file_size_mb == 100);
    CHECK(p.execution.max_processes == 5);
    CHECK(p.filesystem.allowed_paths == std::vector<std::string>{"/tmp", "/run/data", "/run/logs"});
    CHECK(p.filesystem.blocked.del);
    CHECK(p.filesystem.blocked.chmod);
    CHECK(p.filesystem.blocked.chown);
    CHECK_FALSE(p.filesystem.blocked.truncate);
    CHECK(p.network.allowed_domains.empty());
    CHECK(p.network.blocked_ports == std::vector<int>{22, 23, 3389});
    CHECK(p.monitoring.log_level == hive::LogLevel::info);
    CHECK(p.monitoring.alert_thresholds.cpu_usage == 80);
    CHECK(p.monitoring.alert_thresholds.memory_usage == 90);
    CHECK(p.monitoring.alert_thresholds.execution_time == 250);
}

TEST_CASE("the built-in default built without parsing is the parsed built-in text", "[policy]") {
    for (const char* base : {"/run", "/", "/tmp/x/../y"}) {
        auto parsed = hive::parse_policy(hive::default_policy_yaml(), "built-in default", base);
        REQUIRE(parsed.ok());
        const hive::Policy built = hive::builtin_default_policy(base);
        INFO("base " << base);
        CHECK(hive::equivalent(built, *parsed));
        CHECK(hive::to_yaml(built) == hive::to_yaml(*parsed));
        CHECK(hive::to_json(built) == hive::to_json(*parsed));
        CHECK(built.source == parsed->source);
        CHECK(built.sha256 == parsed->sha256);
    }
}

TEST_CASE("default_policy_yaml() is byte-identical to policy/security_policy.yml", "[policy]") {
    std::string file = hivetest::read_file(std::string(HIVE_SOURCE_DIR) + "/policy/security_policy.yml");
    CHECK(file == hive::default_policy_yaml());
}

TEST_CASE("every key is read", "[policy]") {
    auto r = hive::load_policy_file(kFixtures + "/valid/every_key.yml", "/work/run");
    REQUIRE(r.ok());
    const hive::Policy& p = *r;
    CHECK(p.execution.timeout_seconds == 120);
    CHECK(p.execution.cpu_seconds == 30);
    CHECK(p.execution.memory_mb == 256);
    CHECK(p.execution.file_size_mb == 10);
    CHECK(p.execution.max_processes == 8);
    CHECK(p.execution.max_open_files == 128);
    CHECK(p.execution.allow_subprocess);
    CHECK(p.execution.env_passthrough == std::vector<std::string>{"LANG", "TZ", "HIVE_RUN_ID"});
    CHECK(p.filesystem.allowed_paths == std::vector<std::string>{"/tmp/hive-work", "/work/run/data"});
    CHECK(p.filesystem.read_only_paths == std::vector<std::string>{"/srv/governance/proposals"});
    CHECK(p.filesystem.exec_paths == std::vector<std::string>{"/usr/bin/git"});
    CHECK(p.filesystem.blocked.truncate);
    CHECK(p.network.allowed_domains ==
          std::vector<std::string>{"api.example.org", "*.example.net", "10.0.0.1"});
    CHECK(p.network.blocked_ports == std::vector<int>{22, 23, 3389, 65535, 1});
    CHECK(p.imports.allow == std::vector<std::string>{"json", "math", "xml.etree.ElementTree", "_private"});
    CHECK(p.imports.deny == std::vector<std::string>{"ctypes", "socket"});
    CHECK(p.monitoring.log_level == hive::LogLevel::warning);  // case-insensitive
    CHECK(p.monitoring.alert_thresholds.cpu_usage == 75.5);
    CHECK(p.monitoring.alert_thresholds.memory_usage == 100);
    CHECK(p.monitoring.alert_thresholds.execution_time == 90.25);
    CHECK(p.monitoring.alert_command == "/usr/local/bin/hive-alert --to ops");
    CHECK(p.monitoring.sample_interval_ms == 250);
    CHECK(p.monitoring.log_max_bytes == 1048576);
    CHECK(p.monitoring.hmac_key_file == "/etc/hive-py/audit.key");
    CHECK(p.monitoring.syslog_socket == "/dev/log");
    CHECK(p.enforcement == hive::Enforcement::strict);

    CHECK(parse_ok("security: {enforcement: best_effort}").enforcement == hive::Enforcement::best_effort);
}

TEST_CASE("relative paths resolve lexically against base_dir and need not exist", "[policy]") {
    auto r = hive::load_policy_file(kFixtures + "/valid/relative_paths.yml", "/nonexistent/run/");
    REQUIRE(r.ok());
    CHECK(r->filesystem.allowed_paths ==
          std::vector<std::string>{"/nonexistent/run/data", "/nonexistent/run/out/tmp", "/nonexistent/run/b"});
    CHECK(r->filesystem.read_only_paths ==
          std::vector<std::string>{"/nonexistent/run/inputs", "/nonexistent/shared"});
    CHECK(r->monitoring.hmac_key_file == "/nonexistent/run/keys/audit.key");

    CHECK(hive::normalize_path("//a/./b//c/", "/x") == "/a/b/c");
    CHECK(hive::normalize_path("../../..", "/x/y") == "/");
    CHECK(hive::normalize_path(".", "/x/y/") == "/x/y");
    CHECK(hive::normalize_path("/", "/x") == "/");
    CHECK(hive::path_within("/a/b", "/a/b"));
    CHECK(hive::path_within("/a/b/c", "/a/b"));
    CHECK_FALSE(hive::path_within("/a/bc", "/a/b"));
    CHECK(hive::path_within("/anything", "/"));
}

TEST_CASE("value checks beyond the fixtures", "[policy]") {
    CHECK(parse_err("security: {execution: {memory_mb: 31}}").find("must be at least 32") != std::string::npos);
    CHECK(parse_ok("security: {execution: {memory_mb: 32}}").execution.memory_mb == 32);
    CHECK(parse_err("security: {execution: {cpu_seconds: 99999999999999999999}}").find("must be between") !=
          std::string::npos);
    CHECK(parse_err("security: {execution: {cpu_seconds: 0x10}}").find("expected an integer") != std::string::npos);
    CHECK(parse_err("security: {execution: {allow_subprocess: 1}}").find("expected a boolean") != std::string::npos);
    CHECK(parse_err("security: {execution: {allow_subprocess: \"true\"}}").find("expected a boolean") !=
          std::string::npos);
    CHECK(parse_ok("security: {execution: {allow_subprocess: True}}").execution.allow_subprocess);
    CHECK(parse_err("security: {filesystem: {allowed_paths: [\"\"]}}").find("empty path") != std::string::npos);
    CHECK(parse_err("security: {filesystem: {allowed_paths: [[a]]}}").find("expected a string, got a list") !=
          std::string::npos);
    CHECK(parse_err("security: {network: {blocked_ports: [22.5]}}").find("decimal number") != std::string::npos);
    CHECK(parse_err("security: {monitoring: {alert_thresholds: {memory_usage: .nan}}}").find("expected a number") !=
          std::string::npos);
    CHECK(parse_err("security: {monitoring: {sample_interval_ms: 5}}").find("at least 10") != std::string::npos);
    CHECK(parse_err("security: {monitoring: {alert_command: 5}}").find("expected a string") != std::string::npos);
    CHECK(parse_err("security: 5").find("security: expected a map, got '5'") != std::string::npos);
    CHECK(parse_err("security: {imports: {allow: [\"os path\"]}}").find("not a module name") != std::string::npos);
    CHECK(parse_err("security: {network: {allowed_domains: [\"example.org:443\"]}}").find("not a domain name") !=
          std::string::npos);
    CHECK(parse_ok("security: {monitoring: {log_level: critical}}").monitoring.log_level ==
          hive::LogLevel::critical);
    // exec_paths with allow_subprocess, in either order.
    CHECK(parse_ok("security: {filesystem: {exec_paths: [/bin/true]}, execution: {allow_subprocess: true}}")
              .filesystem.exec_paths == std::vector<std::string>{"/bin/true"});
}

TEST_CASE("empty and comment-only policies are refused", "[policy]") {
    for (std::string text : {"", "# nothing\n", "---\n"}) {
        auto r = hive::parse_policy(text, "empty.yml", "/");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message == "empty.yml: the policy is empty: expected a map with the single key 'security'");
    }
}

TEST_CASE("an unreadable policy file names the file and the reason", "[policy]") {
    auto r = hive::load_policy_file("/nonexistent/policy.yml", "/");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "/nonexistent/policy.yml: cannot read policy: No such file or directory");

    hivetest::TempDir t;
    auto d = hive::load_policy_file(t.path, "/");
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().message == t.path + ": cannot read policy: Is a directory");

    std::string ww = t.file("ww.yml", "security: {}\n", 0666);
    chmod(ww.c_str(), 0666);  // umask may have masked the mode
    auto w = hive::load_policy_file(ww, "/");
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().message.find("world-writable") != std::string::npos);

    if (geteuid() == 0) {
        WARN("running as root: skipping the mode-000 unreadable-file check (root reads any file)");
    } else {
        std::string locked = t.file("locked.yml", "security: {}\n", 0000);
        auto l = hive::load_policy_file(locked, "/");
        REQUIRE_FALSE(l.ok());
        CHECK(l.error().message == locked + ": cannot read policy: Permission denied");
    }
}

TEST_CASE("discovery: --policy, then $HIVE_POLICY, then scripts/config upward, then the default", "[policy]") {
    hivetest::TempDir t;
    const std::string root = t.path;
    mkdir((root + "/scripts").c_str(), 0755);
    mkdir((root + "/scripts/config").c_str(), 0755);
    mkdir((root + "/a").c_str(), 0755);
    mkdir((root + "/a/b").c_str(), 0755);
    const std::string found = t.file("scripts/config/security_policy.yml", "security: {execution: {cpu_seconds: 11}}\n");
    const std::string env_file = t.file("env.yml", "security: {execution: {cpu_seconds: 22}}\n");
    const std::string explicit_file = t.file("explicit.yml", "security: {execution: {cpu_seconds: 33}}\n");
    const std::string deep = root + "/a/b";

    {
        EnvGuard env(env_file.c_str());
        auto r = hive::discover_policy("../../explicit.yml", deep);  // relative to cwd
        REQUIRE(r.ok());
        CHECK(r->execution.cpu_seconds == 33);
        CHECK(r->source == explicit_file);

        auto e = hive::discover_policy("", deep);
        REQUIRE(e.ok());
        CHECK(e->execution.cpu_seconds == 22);
        CHECK(e->source == env_file);
    }
    {
        EnvGuard env("");  // set but empty counts as unset
        auto u = hive::discover_policy("", deep);
        REQUIRE(u.ok());
        CHECK(u->execution.cpu_seconds == 11);
        CHECK(u->source == found);
    }
    {
        EnvGuard env(nullptr);
        auto u = hive::discover_policy("", deep);
        REQUIRE(u.ok());
        CHECK(u->source == found);
        auto here = hive::discover_policy("", root);
        REQUIRE(here.ok());
        CHECK(here->source == found);

        // Relative paths resolve against cwd, not against the policy file's folder.
        t.file("scripts/config/security_policy.yml", "security: {filesystem: {allowed_paths: [data]}}\n");
        auto rel = hive::discover_policy("", deep);
        REQUIRE(rel.ok());
        CHECK(rel->filesystem.allowed_paths == std::vector<std::string>{deep + "/data"});

        // An invalid discovered policy is an error, not a silent fall-back to the default.
        t.file("scripts/config/security_policy.yml", "security: {bogus: 1}\n");
        auto bad = hive::discover_policy("", deep);
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.error().message.rfind(found + ":1:12: security.bogus: unknown key", 0) == 0);

        unlink(found.c_str());
        auto def = hive::discover_policy("", deep);
        REQUIRE(def.ok());
        CHECK(def->source == "built-in default");
        CHECK(def->sha256 == hive::sha256_hex(hive::default_policy_yaml()));
        CHECK(def->filesystem.allowed_paths ==
              std::vector<std::string>{"/tmp", deep + "/data", deep + "/logs"});
    }
    {
        // A missing named policy is an error too.
        EnvGuard env((root + "/missing.yml").c_str());
        auto m = hive::discover_policy("", deep);
        REQUIRE_FALSE(m.ok());
        CHECK(m.error().message == root + "/missing.yml: cannot read policy: No such file or directory");
        auto x = hive::discover_policy(root + "/missing.yml", deep);
        REQUIRE_FALSE(x.ok());
    }
}

TEST_CASE("to_yaml lists every key and parses back to an equivalent policy", "[policy]") {
    std::vector<std::string> files = yml_files(kFixtures + "/valid");
    for (const auto& f : files) {
        INFO(f);
        auto r = hive::load_policy_file(f, "/work/run");
        REQUIRE(r.ok());
        std::string y = hive::to_yaml(*r);
        INFO(y);
        CHECK(y.rfind("# source: " + f + "  sha256: " + r->sha256 + "\n", 0) == 0);
        for (const char* key : {"timeout_seconds:", "env_passthrough:", "exec_paths:", "blocked_ports:", "deny:",
                                "execution_time:", "hmac_key_file:", "syslog_socket:", "enforcement:"})
            CHECK(y.find(key) != std::string::npos);
        // Parsed from another directory: every path is already absolute.
        auto back = hive::parse_policy(y, "roundtrip.yml", "/elsewhere");
        if (!back.ok()) FAIL(back.error().message);
        CHECK(hive::equivalent(*r, *back));
        // And the dump is a fixed point (apart from the header line).
        std::string y2 = hive::to_yaml(*back);
        CHECK(y.substr(y.find('\n')) == y2.substr(y2.find('\n')));
    }
}

TEST_CASE("to_json is one object with the same tree", "[policy]") {
    auto r = hive::parse_policy(hive::default_policy_yaml(), "built-in default", "/run");
    REQUIRE(r.ok());
    std::string j = hive::to_json(*r);
    CHECK(j.front() == '{');
    CHECK(j.back() == '}');
    CHECK(j.find('\n') == std::string::npos);
    CHECK(j.find("\"source\":\"built-in default\"") != std::string::npos);
    CHECK(j.find("\"security\":{\"execution\":{\"timeout_seconds\":300,") != std::string::npos);
    CHECK(j.find("\"allowed_paths\":[\"/tmp\",\"/run/data\",\"/run/logs\"]") != std::string::npos);
    CHECK(j.find("\"blocked_operations\":[\"delete\",\"chmod\",\"chown\"]") != std::string::npos);
    CHECK(j.find("\"blocked_ports\":[22,23,3389]") != std::string::npos);
    CHECK(j.find("\"alert_thresholds\":{\"cpu_usage\":80,\"memory_usage\":90,\"execution_time\":250}") !=
          std::string::npos);
    CHECK(j.find("\"enforcement\":\"strict\"") != std::string::npos);
}

TEST_CASE("to_string names", "[policy]") {
    CHECK(std::string(hive::to_string(hive::Enforcement::strict)) == "strict");
    CHECK(std::string(hive::to_string(hive::Enforcement::best_effort)) == "best_effort");
    CHECK(std::string(hive::to_string(hive::LogLevel::debug)) == "DEBUG");
    CHECK(std::string(hive::to_string(hive::LogLevel::warning)) == "WARNING");
    CHECK(std::string(hive::to_string(hive::LogLevel::critical)) == "CRITICAL");
}

// ---------------------------------------------------------------------------------------------------
// The schema's table (host/policy/schema.cc): everything above reads it; these check the table itself
// and that each of its rows reaches every place that lists keys.
// ---------------------------------------------------------------------------------------------------

namespace {

// A value of key `k` that is valid and differs from its default.
hive::schema::Value sample(const hive::schema::Key& k) {
    using hive::schema::Type;
    const auto& s = k.spec;
    switch (s.type) {
        case Type::integer: return std::get<std::int64_t>(k.def) == s.hi ? s.lo : s.hi;
        case Type::boolean: return !std::get<bool>(k.def);
        case Type::number: return 1.5;
        case Type::string: return std::string("x: 'y' \"z\"");
        case Type::path: return std::string("/srv/" + std::string(k.leaf()));
        case Type::choice:
            for (const auto& c : s.choices)
                if (std::get<std::string>(k.def) != c.name) return std::string(c.name);
            break;
        case Type::paths: return hive::schema::Strings{"/a/" + std::string(k.leaf()), "/b"};
        case Type::strings: return hive::schema::Strings{"LANG", "x1"};  // an env name, module and host name
        case Type::integers: return hive::schema::Integers{s.lo, s.hi};
        case Type::flags: {
            hive::schema::Strings all;
            for (const auto& c : s.choices) all.push_back(c.name);
            return all;
        }
    }
    FAIL("no sample for " << k.name);
    return false;
}

}  // namespace

TEST_CASE("the schema's table is sound", "[policy][schema]") {
    auto problems = hive::schema::table_problems();
    for (const auto& p : problems) INFO(p);
    CHECK(problems.empty());
    REQUIRE(hive::schema::keys().size() >= 25);
    CHECK(hive::schema::children("security") ==
          std::vector<std::string>{"execution", "filesystem", "network", "imports", "monitoring", "enforcement"});
}

TEST_CASE("every key of the schema is parsed, set, dumped, compared and refused when unknown", "[policy][schema]") {
    const hive::Policy defaults;
    for (const auto& k : hive::schema::keys()) {
        INFO(k.name);
        const hive::schema::Value v = sample(k);
        std::vector<hive::schema::Setting> settings{{&k, v}};
        // The cross-field rules hold for every sample with subprocesses allowed.
        const auto* sub = hive::schema::find("security.execution.allow_subprocess");
        REQUIRE(sub != nullptr);
        if (&k != sub) settings.push_back({sub, true});
        const std::string text = hive::schema::yaml_document(settings, false);
        INFO(text);
        hive::Policy p = parse_ok(text);
        CHECK(hive::schema::get(p, k) == v);
        CHECK_FALSE(hive::equivalent(p, defaults));
        hive::Policy q = defaults;
        hive::schema::set(q, k, v);
        if (&k != sub) hive::schema::set(q, *sub, true);
        CHECK(hive::equivalent(p, q));
        // The dumps name it, and the YAML dump reads back to the same value.
        const std::string leaf(k.leaf());
        const size_t depth = size_t(std::count(k.name, k.name + std::strlen(k.name), '.'));
        CHECK(hive::to_yaml(p).find("\n" + std::string(2 * depth, ' ') + leaf + ":") != std::string::npos);
        CHECK(hive::to_json(p).find("\"" + leaf + "\":") != std::string::npos);
        CHECK(hive::schema::get(parse_ok(hive::to_yaml(p), "/elsewhere"), k) == v);
        // Its map refuses an unknown name next to it, listing the table's names.
        std::string parent(k.parent());
        std::vector<std::string> known = hive::schema::children(parent);
        std::string list;
        for (const auto& n : known) {
            if (!list.empty()) list += ", ";
            list += n;
        }
        std::string doc = "bogus: 1";
        for (std::string_view m = parent; m != "security"; m = m.substr(0, m.rfind('.')))
            doc = std::string(m.substr(m.rfind('.') + 1)) + ": {" + doc + "}";
        doc = "security: {" + doc + "}";
        CHECK(parse_err(doc).find(parent + ".bogus: unknown key (known: " + list + ")") != std::string::npos);
    }
}

TEST_CASE("policy/README.md's key tables are the schema's (ninja -C build policy_docs rewrites them)",
          "[policy][schema]") {
    const std::string path = std::string(HIVE_SOURCE_DIR) + "/policy/README.md";
    const std::string readme = hivetest::read_file(path);
    auto r = hive::schema::readme_with_tables(readme);
    if (!r.ok()) FAIL(r.error().message);
    // The first line that differs, rather than both files.
    auto first_difference = [](const std::string& a, const std::string& b) {
        auto la = hivetest::lines(a), lb = hivetest::lines(b);
        for (size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
            std::string x = i < la.size() ? la[i] : "(end)", y = i < lb.size() ? lb[i] : "(end)";
            if (x != y) return "line " + std::to_string(i + 1) + ":\n  README: " + x + "\n  schema: " + y;
        }
        return std::string("none");
    };
    INFO("policy/README.md differs from host/policy/schema.cc's table (run `ninja -C build policy_docs`) at "
         << first_difference(readme, *r));
    CHECK((*r == readme));
    // Each key is a row of its section's table.
    for (const auto& k : hive::schema::keys()) {
        INFO(k.name);
        std::string row = "| " + std::string(std::string_view(k.name).substr(k.section().size() + 1)) + " | ";
        CHECK(readme.find(row) != std::string::npos);
    }
    // The check notices a stale table and a missing one.
    std::string stale = readme;
    stale.replace(stale.find("| timeout_seconds | int | 300 |"), 30, "| timeout_seconds | int | 301 |");
    auto s = hive::schema::readme_with_tables(stale);
    REQUIRE(s.ok());
    CHECK(*s != stale);
    auto missing = hive::schema::readme_with_tables("# no tables\n");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("no key table for security.execution") != std::string::npos);
}
