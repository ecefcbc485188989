// The policy schema as data: one row per key of the `security:` tree (the table is kKeys in schema.cc).
// Everything that knows a key reads it from there: the parser (policy.cc), Policy's defaults (its
// constructor), the built-in default policy and its text, to_yaml / to_json / equivalent (emit.cc),
// policy/README.md's key tables (docs.cc, written by `ninja policy_docs`) and the Python API's keyword
// arguments (pymodules/hive_sandbox.cc).
//
// Adding a key: a field in Policy (policy.h) and one row in kKeys; then `ninja -C build policy_docs`
// rewrites policy/README.md's tables (test_policy fails until it is run).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "policy/policy.h"

namespace hive::schema {

enum class Type {
    integer,   // a plain YAML integer, lo..hi
    boolean,   // true / false
    number,    // an integer or decimal, > 0 (and <= hi when hi > 0)
    string,    // text
    path,      // text made absolute against the run's cwd; "" (quoted) = none
    choice,    // one of `choices` (stored as the matching enum value)
    paths,     // list of paths
    strings,   // list of text, each item passing `check`
    integers,  // list of integers, each lo..hi
    flags,     // list of `choices`, each setting one bool of BlockedOps
};

// "integer", "boolean", ... (the Python API names the types so).
const char* type_name(Type t);

using Strings = std::vector<std::string>;
using Integers = std::vector<std::int64_t>;

// One key's value as the table writes it and get()/set() exchange it: integer -> int64_t, boolean ->
// bool, number -> double, string / path / choice -> std::string (a choice by its name), paths / strings
// / flags -> Strings, integers -> Integers.
using Value = std::variant<std::int64_t, bool, double, std::string, Strings, Integers>;

// Where a key's value lives in Policy: a function returning a reference to the field.
// HIVE_FIELD(execution.timeout_seconds) makes one; the field's C++ type picks the alternative.
using Field = std::variant<int& (*)(Policy&), std::int64_t& (*)(Policy&), bool& (*)(Policy&), double& (*)(Policy&),
                           std::string& (*)(Policy&), std::vector<std::string>& (*)(Policy&),
                           std::vector<int>& (*)(Policy&), LogLevel& (*)(Policy&), Enforcement& (*)(Policy&), KernelTrailMode& (*)(Policy&),
                           BlockedOps& (*)(Policy&)>;
#define HIVE_FIELD(member) (+[](::hive::Policy& p) -> decltype(auto) { return (p.member); })

// An item check of a `strings` key: why `item` is refused, or nothing.
using Check = std::optional<std::string> (*)(const std::string& item);

// A value of a choice (its index is the enum's value) or of a flags key (with the bool it sets).
struct Choice {
    const char* name;
    bool BlockedOps::*flag = nullptr;
};

// What a key accepts beyond its type. Made by the functions below, which read as the table's column.
struct Spec {
    Type type;
    std::int64_t lo = 0, hi = 0;   // integer(s): bounds; number: hi (0 = none)
    const char* lo_reason = "";    // integer: why the lower bound, said when it is not met
    const char* unit = "";         // number: what hi counts ("percent")
    std::vector<Choice> choices;   // choice, flags: the values (a choice's in the enum's order)
    const char* noun = "";         // choice, flags: "log level" for "unknown log level 'x'"
    bool any_case = false;         // choice: matched case-insensitively
    Check check = nullptr;         // strings: each item's check
    const char* item = "";         // strings: what an item is, for the docs ("names")
    const char* syntax = "";       // strings: the item syntax, for the docs
};
Spec integer(std::int64_t lo, std::int64_t hi, const char* lo_reason = "");
Spec boolean();
Spec number(std::int64_t hi = 0, const char* unit = "");
Spec string();
Spec path();
Spec choice(const char* noun, std::vector<Choice> values, bool any_case = false);
Spec paths();
Spec strings(const char* item, Check check, const char* syntax);
Spec integers(std::int64_t lo, std::int64_t hi);
Spec flags(const char* noun, std::vector<Choice> values);

// What the built-in default policy (BIP-025's file, policy/security_policy.yml) writes for a key.
struct Builtin {
    enum Kind { absent, as_default, value } kind = absent;  // not listed / listed with its default / a value
    Value v{};
    Builtin(Kind k) : kind(k) {}
    template <class T, class = std::enable_if_t<std::is_constructible_v<Value, T>>>
    Builtin(T x) : kind(value), v(Value(std::move(x))) {}
};
inline constexpr Builtin::Kind absent = Builtin::absent;
inline constexpr Builtin::Kind as_default = Builtin::as_default;

struct Key {
    const char* name;  // dotted from the root: "security.execution.timeout_seconds"
    Field field;
    Spec spec;
    Value def;         // when the key is omitted
    Builtin builtin;   // in the built-in default policy
    bool ours;         // not in BIP-025 (policy/README.md marks it and says why it exists)
    const char* help;  // one line: what the key does (policy/README.md's "meaning")

    std::string_view leaf() const;     // "timeout_seconds"
    std::string_view parent() const;   // "security.execution" (the map that holds the key)
    std::string_view section() const;  // the README table it is in: "security.execution", or "security"
    bool in_builtin() const { return builtin.kind != Builtin::absent; }
    const Value& builtin_value() const { return builtin.kind == Builtin::value ? builtin.v : def; }
};

// The table, in the order of the YAML dumps and of the "known:" lists of errors.
const std::vector<Key>& keys();
// The key named `dotted`, or nullptr (a section or unknown).
const Key* find(std::string_view dotted);
// The names one level below `parent` ("security" -> execution, filesystem, ..., enforcement), in order.
std::vector<std::string> children(std::string_view parent);

// Cross-field rules, checked once every key is read: a policy that breaks one is refused with `what`,
// at the position of `key`.
struct Rule {
    const char* key;
    bool (*holds)(const Policy&);
    const char* what;
};
const std::vector<Rule>& rules();

// The key's value in `p`, and the inverse. set() trusts `v` (the parser has checked it).
Value get(const Policy& p, const Key& k);
void set(Policy& p, const Key& k, const Value& v);

// One key's value as YAML: a flow scalar or list for the scalar types and integers, block-list lines
// for string lists (`indent` is the key's). Both are valid YAML that parse_policy reads back.
std::string yaml_value(const Key& k, const Value& v, int indent);

struct Setting {
    const Key* key;
    Value value;
};
// A policy document: `security:` and the settings' keys under their sections, in table order.
// `spaced`: a blank line between sections, as BIP-025 writes them.
std::string yaml_document(std::vector<Setting> settings, bool spaced);
// The built-in default policy's settings, its paths as written (relative ones unresolved).
std::vector<Setting> builtin_settings();

// Problems with the table itself (unknown type pairings, duplicate leaves, split sections...): one line
// each; empty when sound. test_policy checks it.
std::vector<std::string> table_problems();

// policy/README.md with each generated key table (between `<!-- schema-table SECTION -->` and
// `<!-- end schema-table -->`) rewritten from the table. A section without its marker is an error.
Result<std::string> readme_with_tables(const std::string& readme);
// The Markdown table of one section's keys.
std::string markdown_table(std::string_view section);
// A value as one line of YAML flow text, as the docs show it ("300", "\"INFO\"", "[22, 23, 3389]").
std::string flow_text(const Key& k, const Value& v);

}  // namespace hive::schema
