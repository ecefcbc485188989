// hive-policy-docs SOURCE_DIR: writes what the policy schema's table (host/policy/schema.cc) documents
// into the source tree: the key tables of policy/README.md and policy/security_policy.yml (the built-in
// default policy's text, installed as /etc/hive-py/security_policy.yml). Run by `ninja policy_docs`;
// test_policy fails while either file differs from what this would write.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "policy/policy.h"
#include "policy/schema.h"

namespace {

bool read(const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::ostringstream s;
    s << f.rdbuf();
    out = s.str();
    return true;
}

// Writes `text` to `path` unless it is there already; false (with a message) on failure.
bool update(const std::string& path, const std::string& text) {
    std::string old;
    if (read(path, old) && old == text) {
        std::printf("hive-policy-docs: %s is up to date\n", path.c_str());
        return true;
    }
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) {
        std::fprintf(stderr, "hive-policy-docs: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
        return false;
    }
    std::printf("hive-policy-docs: wrote %s\n", path.c_str());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: hive-policy-docs SOURCE_DIR\n");
        return 2;
    }
    for (const auto& p : hive::schema::table_problems()) {
        std::fprintf(stderr, "hive-policy-docs: host/policy/schema.cc: %s\n", p.c_str());
        return 1;
    }
    const std::string readme = std::string(argv[1]) + "/policy/README.md";
    std::string text;
    if (!read(readme, text)) {
        std::fprintf(stderr, "hive-policy-docs: cannot read %s: %s\n", readme.c_str(), std::strerror(errno));
        return 1;
    }
    auto r = hive::schema::readme_with_tables(text);
    if (!r.ok()) {
        std::fprintf(stderr, "hive-policy-docs: %s\n", r.error().message.c_str());
        return 1;
    }
    bool ok = update(readme, *r);
    ok = update(std::string(argv[1]) + "/policy/security_policy.yml", hive::default_policy_yaml()) && ok;
    return ok ? 0 : 1;
}
