// Parsing and validating the `security:` YAML into a Policy. Schema-first: every key is known from the
// schema's table (schema.h), every value is type-checked strictly by its type there (no "5s", no 1.5 for
// an integer, no "yes" for a boolean) and the first problem is returned as
// `FILE:LINE:COL: security.key.path: what is wrong`. Nothing here throws out.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/sha256.h"
#include "policy/policy.h"
#include "policy/schema.h"

namespace hive {

namespace {

// Counts the documents of a YAML stream, from the parser's events alone: where each starts, and where
// its root node is (the position an error about the document names, as YAML::Node::Mark() gives it).
struct DocumentCounter : YAML::EventHandler {
    std::vector<YAML::Mark> starts, roots;
    void node(const YAML::Mark& m) {
        if (roots.size() < starts.size()) roots.push_back(m);
    }
    void OnDocumentStart(const YAML::Mark& m) override { starts.push_back(m); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { node(m); }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(m);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(m);
    }
    void OnMapEnd() override {}
};

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
    if (n <= 0 && lo > 0) return P.fail(value_mark(e), path, "must be positive, got " + s);
    if (n < lo) {
        std::string msg = "must be at least " + std::to_string(lo);
        if (!lo_reason.empty()) msg += " (" + std::string(lo_reason) + ")";
        return P.fail(value_mark(e), path, msg + ", got " + s);
    }
    if (n > hi) return P.fail(value_mark(e), path, "must be at most " + std::to_string(hi) + ", got " + s);
    out = n;
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

// A number > 0 (and <= hi, in `unit`, when hi > 0).
Status read_number(const Parser& P, const Entry& e, const std::string& path, double hi, std::string_view unit,
                   double& out) {
    const YAML::Node& v = e.value;
    const std::string kind = "expected a number";
    if (!v.IsScalar() || !is_plain(v)) return P.fail(value_mark(e), path, kind + ", got " + describe(v));
    auto d = parse_decimal(v.Scalar());
    if (!d) return P.fail(value_mark(e), path, kind + ", got " + describe(v));
    if (*d <= 0) return P.fail(value_mark(e), path, "must be greater than 0, got " + v.Scalar());
    if (hi > 0 && *d > hi)
        return P.fail(value_mark(e), path,
                      "must be at most " + std::to_string(int(hi)) + " (" + std::string(unit) + "), got " + v.Scalar());
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
    // A YAML stream is Unicode text, and the records (JSON) and --check-policy's YAML could not show the
    // bytes as they are: yaml-cpp passed them through, the effective policy named another path (fuzz_policy).
    if (!json::is_utf8(s)) return P.fail(m, path, "is not valid UTF-8 (a policy file is UTF-8 text)");
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
                        schema::Check check,
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
        // A copy (a Node is a handle): `it->first` lives in a proxy that dies with the expression, and a
        // reference to it read a dead stack slot (ASan: stack-use-after-scope, found by fuzz_policy).
        const YAML::Node k = it->first;
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

// One value, read as its key's type says.
Status read_value(const Parser& P, const Entry& e, const std::string& p, const schema::Key& k, schema::Value& out) {
    const schema::Spec& s = k.spec;
    auto pick = [&](const std::string& given, const YAML::Mark& m, const std::string& ip,
                    std::string& name) -> Status {
        std::string want = given;
        if (s.any_case)
            for (char& c : want) c = (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
        std::vector<std::string> known;
        for (const schema::Choice& c : s.choices) {
            if (want == c.name) {
                name = c.name;
                return {};
            }
            known.push_back(c.name);
        }
        return P.fail(m, ip, "unknown " + std::string(s.noun) + " '" + given + "' (known: " + join(known) + ")");
    };
    switch (s.type) {
        case schema::Type::integer: {
            std::int64_t n = 0;
            HIVE_TRY(read_int(P, e, p, s.lo, s.hi, s.lo_reason, n));
            out = n;
            return {};
        }
        case schema::Type::boolean: {
            bool b = false;
            HIVE_TRY(read_bool(P, e, p, b));
            out = b;
            return {};
        }
        case schema::Type::number: {
            double d = 0;
            HIVE_TRY(read_number(P, e, p, double(s.hi), s.unit, d));
            out = d;
            return {};
        }
        case schema::Type::string: {
            std::string t;
            HIVE_TRY(read_string(P, e, p, t));
            out = std::move(t);
            return {};
        }
        case schema::Type::path: {
            std::string t;
            // "" (quoted) is "none"; any other text is a path.
            if (!(e.value.IsScalar() && !is_plain(e.value) && e.value.Scalar().empty())) {
                HIVE_TRY(read_string(P, e, p, t));
                HIVE_TRY(resolve_path(P, value_mark(e), p, t));
            }
            out = std::move(t);
            return {};
        }
        case schema::Type::choice: {
            std::string t, name;
            HIVE_TRY(read_string(P, e, p, t));
            HIVE_TRY(pick(t, value_mark(e), p, name));
            out = std::move(name);
            return {};
        }
        case schema::Type::paths: {
            std::vector<std::string> v;
            HIVE_TRY(read_path_list(P, e, p, v));
            out = std::move(v);
            return {};
        }
        case schema::Type::strings: {
            std::vector<std::string> v;
            HIVE_TRY(read_string_list(P, e, p, s.check, v));
            out = std::move(v);
            return {};
        }
        case schema::Type::integers: {
            schema::Integers v;
            auto item = [&](const YAML::Node& node, const YAML::Mark&, const std::string& ip) -> Status {
                std::int64_t n = 0;
                Entry one{e.name, e.key, node};
                HIVE_TRY(read_int(P, one, ip, s.lo, s.hi, "", n));
                v.push_back(n);
                return {};
            };
            HIVE_TRY(read_list(P, e, p, item));
            out = std::move(v);
            return {};
        }
        case schema::Type::flags: {
            std::vector<std::string> given, names;
            HIVE_TRY(read_string_list(P, e, p, nullptr, given));
            for (size_t i = 0; i < given.size(); ++i) {
                std::string name;
                HIVE_TRY(pick(given[i], e.value[i].Mark(), p + "[" + std::to_string(i) + "]", name));
                names.push_back(std::move(name));
            }
            out = std::move(names);
            return {};
        }
    }
    return P.fail(value_mark(e), p, "key of an unknown type");
}

// Where each key was written, for the cross-field rules' errors.
using Seen = std::vector<std::pair<std::string, YAML::Mark>>;

// The map at `prefix` ("security", "security.monitoring.alert_thresholds"): its known names are the
// table's names one level below; a key is read into `pol`, a map is read the same way.
Status parse_map(const Parser& P, const Entry& sec, const std::string& prefix, Policy& pol, Seen& seen) {
    std::vector<Entry> es;
    HIVE_TRY(read_map(P, sec.value, value_mark(sec), prefix, schema::children(prefix), es));
    for (const auto& e : es) {
        const std::string p = prefix + "." + e.name;
        const schema::Key* k = schema::find(p);
        if (k == nullptr) {
            HIVE_TRY(parse_map(P, e, p, pol, seen));
            continue;
        }
        schema::Value v;
        HIVE_TRY(read_value(P, e, p, *k, v));
        schema::set(pol, *k, v);
        seen.emplace_back(p, e.key.Mark());
    }
    return {};
}

Status parse_security(const Parser& P, const Entry& sec, Policy& pol) {
    Seen seen;
    HIVE_TRY(parse_map(P, sec, "security", pol, seen));
    // Cross-field rules, checked once every key is read.
    for (const schema::Rule& r : schema::rules()) {
        if (r.holds(pol)) continue;
        YAML::Mark m = YAML::Mark::null_mark();
        for (const auto& [name, mark] : seen)
            if (name == r.key) m = mark;
        return P.fail(m, r.key, r.what);
    }
    return {};
}

}  // namespace

const std::string& default_policy_yaml() {
    static const std::string text =
        "# scripts/config/security_policy.yml\n" + schema::yaml_document(schema::builtin_settings(), true);
    return text;
}

Policy builtin_default_policy(const std::string& base_dir) {
    static const std::string sha = sha256_hex(default_policy_yaml());
    Policy pol;
    const std::string base = normalize_path(".", base_dir);
    for (schema::Setting& s : schema::builtin_settings()) {
        // Paths as the parser leaves them: absolute against the run's cwd.
        if (s.key->spec.type == schema::Type::path && !std::get<std::string>(s.value).empty())
            s.value = normalize_path(std::get<std::string>(s.value), base);
        if (s.key->spec.type == schema::Type::paths)
            for (auto& p : std::get<schema::Strings>(s.value)) p = normalize_path(p, base);
        schema::set(pol, *s.key, s.value);
    }
    pol.source = "built-in default";
    pol.sha256 = sha;
    return pol;
}

Result<Policy> parse_policy(const std::string& yaml_text, const std::string& source_name,
                            const std::string& base_dir) {
    Parser P{source_name, normalize_path(".", base_dir)};
    const std::string expect_root = "expected a map with the single key 'security'";
    try {
        // Not YAML::LoadAll: it loops forever on a stray ',' at the top level (", x": yaml-cpp 0.7.0 reports
        // a null document without consuming the token, again and again, and the vector of documents grows
        // until memory runs out; jbeder/yaml-cpp#1040, found by fuzz_policy). The documents are counted
        // first (events only, two at most); a document that starts where the previous one started is that
        // loop. Then the first one is loaded.
        DocumentCounter counter;
        {
            std::istringstream in(yaml_text);
            YAML::Parser parser(in);
            while (counter.starts.size() < 2 && parser.HandleNextDocument(counter)) {
            }
        }
        const auto& starts = counter.starts;
        auto at_comma = [&](const YAML::Mark& m) {
            return m.pos >= 0 && std::size_t(m.pos) < yaml_text.size() && yaml_text[std::size_t(m.pos)] == ',';
        };
        if (starts.size() == 2 && (starts[1].pos == starts[0].pos || at_comma(starts[1]))) {
            const YAML::Mark& m = starts[1];
            return Error{source_name + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                         ": YAML syntax error: unexpected token (a ',' outside a flow collection?)"};
        }
        if (starts.size() > 1)
            return P.fail(counter.roots.size() > 1 ? counter.roots[1] : starts[1], "(root)",
                          "more than one YAML document: a policy is a single document");
        const YAML::Node root = YAML::Load(yaml_text);
        if (starts.empty() || root.IsNull()) return Error{source_name + ": the policy is empty: " + expect_root};
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

// The names are the schema's choices, whose order is the enum's.
const char* to_string(Enforcement e) { return schema::find("security.enforcement")->spec.choices.at(size_t(e)).name; }
const char* to_string(LogLevel l) {
    return schema::find("security.monitoring.log_level")->spec.choices.at(size_t(l)).name;
}

}  // namespace hive
