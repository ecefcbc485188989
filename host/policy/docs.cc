// policy/README.md's key tables, written from the schema's table: `ninja -C build policy_docs` rewrites
// them (host/tools/policy_docs.cc), and test_policy fails while the file and the table differ.
#include <string>
#include <string_view>
#include <vector>

#include "policy/schema.h"

namespace hive::schema {

namespace {

constexpr std::string_view kBegin = "<!-- schema-table ";
constexpr std::string_view kEnd = "<!-- end schema-table -->";

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::string bound(std::int64_t n) {
    // 1099511627776 reads better as 2^40.
    if (n >= (std::int64_t(1) << 32) && (n & (n - 1)) == 0) {
        int e = 0;
        while ((std::int64_t(1) << e) != n) ++e;
        return "2^" + std::to_string(e);
    }
    return std::to_string(n);
}

std::string type_text(const Spec& s) {
    switch (s.type) {
        case Type::integer: return "int";
        case Type::boolean: return "bool";
        case Type::number: return "number";
        case Type::string: return "string";
        case Type::path: return "path";
        case Type::choice: return "choice";
        case Type::paths: return "list of paths";
        case Type::strings: return std::string("list of ") + s.item;
        case Type::integers: return "list of ints";
        case Type::flags: return std::string("list of ") + s.noun + "s";
    }
    return "";
}

std::string bounds_text(const Spec& s) {
    std::vector<std::string> names;
    for (const Choice& c : s.choices) names.push_back(c.name);
    switch (s.type) {
        case Type::integer:
        case Type::integers: return bound(s.lo) + ".." + bound(s.hi);
        case Type::number: return s.hi > 0 ? "> 0, <= " + std::to_string(s.hi) : "> 0";
        case Type::choice: return join(names, ", ") + (s.any_case ? " (any case)" : "");
        case Type::flags:
            for (auto& n : names) n = "`" + n + "`";
            return "any of " + join(names, ", ");
        case Type::strings: return s.syntax;
        default: return "";
    }
}

std::string cell(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

std::string markdown_table(std::string_view section) {
    std::string out =
        "| key | type | default | built-in policy | bounds | meaning |\n"
        "|---|---|---|---|---|---|\n";
    for (const Key& k : keys()) {
        if (k.section() != section) continue;
        std::string meaning = k.ours ? "**(ours)** " : "";
        meaning += k.help;
        if (k.spec.type == Type::integer && *k.spec.lo_reason)
            meaning += ". At least " + std::to_string(k.spec.lo) + ": " + k.spec.lo_reason;
        std::string builtin = k.builtin.kind == Builtin::value ? flow_text(k, k.builtin.v) : "";
        out += "| " + std::string(std::string_view(k.name).substr(section.size() + 1)) + " | " + type_text(k.spec) +
               " | " + cell(flow_text(k, k.def)) + " | " + cell(builtin) + " | " + cell(bounds_text(k.spec)) + " | " +
               cell(meaning) + " |\n";
    }
    return out;
}

Result<std::string> readme_with_tables(const std::string& readme) {
    std::vector<std::string> sections;
    for (const Key& k : keys()) {
        std::string s(k.section());
        if (sections.empty() || sections.back() != s) sections.push_back(s);
    }
    std::string out;
    std::vector<std::string> found;
    size_t at = 0;
    for (size_t b; (b = readme.find(kBegin, at)) != std::string::npos;) {
        size_t name_end = readme.find_first_of(" \n", b + kBegin.size());
        size_t line_end = readme.find('\n', b);
        size_t e = readme.find(kEnd, b);
        if (name_end == std::string::npos || line_end == std::string::npos || e == std::string::npos)
            return Error{"policy/README.md: a `" + std::string(kBegin) + "SECTION ... -->` line without its `" +
                         std::string(kEnd) + "`"};
        std::string section = readme.substr(b + kBegin.size(), name_end - b - kBegin.size());
        bool known = false;
        for (const auto& s : sections) known = known || s == section;
        if (!known) return Error{"policy/README.md: a key table for '" + section + "', which the schema has not"};
        found.push_back(section);
        out += readme.substr(at, line_end + 1 - at);
        out += markdown_table(section);
        out += kEnd;
        at = e + kEnd.size();
    }
    out += readme.substr(at);
    for (const auto& s : sections) {
        bool has = false;
        for (const auto& f : found) has = has || f == s;
        if (!has)
            return Error{"policy/README.md: no key table for " + s + ": add the lines `" + std::string(kBegin) + s +
                         " -->` and `" + std::string(kEnd) + "` where it belongs"};
    }
    return out;
}

}  // namespace hive::schema
