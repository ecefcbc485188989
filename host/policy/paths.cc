// Lexical path handling for the policy: every path in a Policy is absolute and normalised, so the
// sandbox layers and the supervisor compare plain strings and never touch the filesystem to do so.
#include <unistd.h>

#include <string>
#include <vector>

#include "policy/policy.h"

namespace hive {

namespace {

std::string process_cwd() {
    std::string buf(4096, '\0');
    if (getcwd(buf.data(), buf.size()) == nullptr) return "/";
    buf.resize(buf.find('\0'));
    return buf;
}

}  // namespace

std::string normalize_path(const std::string& path, const std::string& base_dir) {
    std::string joined;
    if (!path.empty() && path[0] == '/') {
        joined = path;
    } else {
        std::string base = base_dir.empty() ? process_cwd() : base_dir;
        if (base[0] != '/') base = process_cwd() + "/" + base;
        joined = base + "/" + path;
    }
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= joined.size()) {
        size_t j = joined.find('/', i);
        if (j == std::string::npos) j = joined.size();
        std::string part = joined.substr(i, j - i);
        if (part == "..") {
            // NB: ".." above "/" stays at "/", as the kernel resolves it.
            if (!parts.empty()) parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(std::move(part));
        }
        i = j + 1;
    }
    if (parts.empty()) return "/";
    std::string out;
    for (const auto& p : parts) {
        out += '/';
        out += p;
    }
    return out;
}

bool path_within(const std::string& path, const std::string& dir) {
    if (dir == "/") return !path.empty() && path[0] == '/';
    if (path.size() < dir.size() || path.compare(0, dir.size(), dir) != 0) return false;
    return path.size() == dir.size() || path[dir.size()] == '/';
}

}  // namespace hive
