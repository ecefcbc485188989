// The effective policy written back out: YAML for --check-policy (it parses back to the same Policy) and
// one JSON object for run records. Both list every key of the schema's table, defaults included, in its
// order; equivalent() compares the same keys.
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "policy/policy.h"
#include "policy/schema.h"

namespace hive {

namespace {

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

std::string json_value(const schema::Key& k, const schema::Value& v) {
    auto list = [](const auto& items, auto item) {
        std::string t = "[";
        for (const auto& x : items) {
            if (t.size() > 1) t += ',';
            t += item(x);
        }
        return t + "]";
    };
    switch (k.spec.type) {
        case schema::Type::integer: return std::to_string(std::get<std::int64_t>(v));
        case schema::Type::boolean: return std::get<bool>(v) ? "true" : "false";
        // NB: json::Object rounds doubles to 6 digits; a number is written exactly (its YAML text is JSON).
        case schema::Type::number: return schema::yaml_value(k, v, 0);
        case schema::Type::string:
        case schema::Type::path:
        case schema::Type::choice: return json::quote(std::get<std::string>(v));
        case schema::Type::integers:
            return list(std::get<schema::Integers>(v), [](std::int64_t n) { return std::to_string(n); });
        case schema::Type::paths:
        case schema::Type::strings:
        case schema::Type::flags:
            return list(std::get<schema::Strings>(v), [](const std::string& s) { return json::quote(s); });
    }
    return "null";
}

// The JSON object of the map at `prefix`, its keys and maps in table order.
std::string json_map(const Policy& p, const std::string& prefix) {
    json::Object o;
    for (const std::string& name : schema::children(prefix)) {
        const std::string dotted = prefix + "." + name;
        if (const schema::Key* k = schema::find(dotted)) o.add_raw(name, json_value(*k, schema::get(p, *k)));
        else o.add_raw(name, json_map(p, dotted));
    }
    return o.str();
}

}  // namespace

std::string to_yaml(const Policy& p) {
    std::vector<schema::Setting> all;
    for (const schema::Key& k : schema::keys()) all.push_back({&k, schema::get(p, k)});
    return "# source: " + one_line(p.source) + "  sha256: " + p.sha256 + "\n" + schema::yaml_document(all, false);
}

std::string to_json(const Policy& p) {
    json::Object root;
    root.add("source", p.source).add("sha256", p.sha256).add_raw("security", json_map(p, "security"));
    return root.str();
}

bool equivalent(const Policy& a, const Policy& b) {
    for (const schema::Key& k : schema::keys())
        if (schema::get(a, k) != schema::get(b, k)) return false;
    return true;
}

}  // namespace hive
