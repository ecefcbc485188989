// `hive-py audit verify|show`: the user's view of the audit logs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "audit/audit_log.h"
#include "audit/log_dir.h"
#include "audit/record_format.h"
#include "common/unique_fd.h"

namespace hive::audit {

using namespace detail;
using json = nlohmann::ordered_json;

namespace {

constexpr const char* kUsage = R"(usage: hive-py audit verify [LOG_DIR] [--key-file FILE]
       hive-py audit show   [LOG_DIR] [--run ID] [--denied] [--event KIND] [--since TIME]
                            [--script PATH] [--all] [--json]

  LOG_DIR defaults to the directory a run without --log-dir writes to: $HIVE_LOG_DIR, else
  /var/log/hive-py as root, else ${XDG_STATE_HOME:-~/.local/state}/hive-py.

  verify   check the hash chain of every log in LOG_DIR, rotated .gz files included, and each
           stream's end against its head (.NAME.head): records cut off the end, a deleted
           stream file or one replaced by an older copy fail too.
           --key-file FILE   the HMAC key the logs were written with (policy monitoring.hmac_key_file)
           exit status: 0 every chain intact, 1 a record was edited/deleted/inserted/reordered or
                        the end does not match the head, 2 usage error or unreadable directory
  show     a timeline of the runs in execution_audit.log: one line per run, then its denials,
           tampering, subprocesses, network and security events (control bytes shown escaped).
           --run ID        runs whose run_id starts with ID
           --denied        runs with a denial, and only their denials
           --event KIND    events of a kind (file, socket, subprocess, code, tampering, other) or
                           a name (open, socket.connect; `os` matches os.*), and their runs
           --since TIME    runs at or after TIME: UTC 2026-11-27 or 2026-11-27T10:00:00, or back
                           from now: 90s, 30m, 1h, 2d, 1w
           --script PATH   runs of that script (a bare name matches the end of the path)
           --all           every event of each run, not only the notable ones
           --json          one JSON object per line (runs, events, security events; a "type" field
                           says which), for jq
)";

// Text from the logs, safe to print on a terminal: the logs hold what the script chose (event names,
// arguments, paths), so C0 and C1 control bytes, DEL, bidirectional overrides and bytes that are not
// UTF-8 are shown escaped (`\x1b`, `\u202e`), never sent raw.
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    char buf[16];
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
            continue;
        }
        if (c < 0x80) {
            out += char(c);
            continue;
        }
        std::size_t len = (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        bool valid = len > 0 && i + len <= s.size();
        std::uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
        for (std::size_t k = 1; valid && k < len; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            valid = (cc & 0xc0) == 0x80;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (!valid) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
            continue;
        }
        bool control = (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                       cp == 0x200e || cp == 0x200f || cp == 0x061c || cp == 0x2028 || cp == 0x2029;
        if (control) {
            std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(cp));
            out += buf;
        } else {
            out.append(s.substr(i, len));
        }
        i += len - 1;
    }
    return out;
}

constexpr std::size_t kMaxIssuesPrinted = 50;

struct Parsed {
    std::string dir;
    bool dir_given = false;
    std::map<std::string, std::string> opts;
    std::set<std::string> flags;
};

// Positional LOG_DIR plus `--opt VALUE` / `--opt=VALUE` for the options in `with_value` and the bare
// `flags`. A usage error is one line on stderr (exit 2).
std::optional<Parsed> parse_args(const std::vector<std::string>& args, const std::set<std::string>& with_value,
                                 const std::set<std::string>& flags, std::ostream& err) {
    Parsed p;
    const std::string who = "hive-py audit " + args[0] + ": ";
    const char* hint = " (hive-py audit --help)\n";
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.rfind("--", 0) == 0) {
            std::string name = a, value;
            bool inline_value = false;
            if (auto eq = a.find('='); eq != std::string::npos) {
                name = a.substr(0, eq);
                value = a.substr(eq + 1);
                inline_value = true;
            }
            if (flags.count(name)) {
                if (inline_value) {
                    err << who << name << " takes no value" << hint;
                    return std::nullopt;
                }
                p.flags.insert(name);
                continue;
            }
            if (!with_value.count(name)) {
                err << who << "unknown option " << printable(name) << hint;
                return std::nullopt;
            }
            if (!inline_value) {
                if (i + 1 >= args.size()) {
                    err << who << name << " needs a value" << hint;
                    return std::nullopt;
                }
                value = args[++i];
            }
            p.opts[name] = value;
        } else if (!p.dir_given) {
            p.dir = a;
            p.dir_given = true;
        } else {
            err << who << "unexpected argument '" << printable(a) << "'" << hint;
            return std::nullopt;
        }
    }
    if (!p.dir_given) p.dir = default_log_dir();
    while (p.dir.size() > 1 && p.dir.back() == '/') p.dir.pop_back();
    return p;
}

int cmd_verify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    auto p = parse_args(args, {"--key-file"}, {}, err);
    if (!p) return 2;
    std::shared_ptr<const Secret> key;
    if (auto it = p->opts.find("--key-file"); it != p->opts.end()) {
        auto k = read_key_file(it->second);
        if (!k.ok()) {
            err << "hive-py audit verify: " << k.error().message << "\n";
            return 2;
        }
        key = std::move(k).value();
    }
    auto r = verify(p->dir, key ? key->view() : std::string_view{});
    if (!r.ok()) {
        err << "hive-py audit verify: " << r.error().message << "\n";
        return 2;
    }
    std::size_t next_issue = 0;
    int broken_streams = 0;
    for (const StreamSummary& s : r->streams) {
        out << s.name << ": ";
        if (s.files == 0 && s.issues == 0) {
            out << "no file, 0 records\n";
            continue;
        }
        out << (s.files == 0 ? "no file, " : "") << s.records << (s.records == 1 ? " record" : " records");
        if (s.files > 1) out << " in " << s.files << " files";
        if (s.issues == 0) {
            out << ", chain intact\n";
        } else {
            ++broken_streams;
            out << ", " << s.issues << (s.issues == 1 ? " problem\n" : " problems\n");
        }
        // Every chain failing means a key problem, not 10,000 edits: show a few lines and say so.
        bool key_problem = s.records > 1 && s.chain_mismatches == s.records;
        std::int64_t cap = key_problem ? 3 : std::int64_t(kMaxIssuesPrinted);
        for (std::int64_t i = 0; i < s.issues; ++i, ++next_issue) {
            const VerifyIssue& is = r->issues[next_issue];
            if (i < cap) out << is.file << (is.line > 0 ? ":" + std::to_string(is.line) : "") << ": " << is.what << "\n";
        }
        if (s.issues > cap) out << "  ... " << s.issues - cap << " more problems in " << s.name << "\n";
        if (key_problem) {
            out << "  every record's chain fails: "
                << (!key ? "were these logs written with an HMAC key? pass --key-file"
                                : "is this the key the logs were written with?")
                << "\n";
        }
    }
    for (const std::string& n : r->notes) out << "note: " << n << "\n";
    if (r->issues.empty()) {
        out << "OK: " << r->records << " records checked, every chain intact"
            << (!key ? " (SHA-256, no key)" : " (HMAC-SHA-256)") << "\n";
        return 0;
    }
    out << "FAILED: " << r->issues.size() << " problem(s) in " << broken_streams
        << " stream(s): the logs were altered or damaged after they were written\n";
    return 1;
}

// --- show ---------------------------------------------------------------------------------------

// True when the JSON text nests arrays and objects deeper than `limit`. ordered_json copies each value
// into its parent while parsing, recursively, so a line of 200,000 brackets overflowed the stack of
// `audit show` (found while writing fuzz_audit): such a record is skipped, as a line that is not JSON is.
bool nested_deeper_than(std::string_view text, int limit) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return true;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}

// A value as JSON text. nlohmann's dump() recurses once per level of nesting, and a record nested
// 100,000 deep (one line of brackets in an edited log) overflowed the stack: deeper values are elided.
bool nested_within(const json& j, int levels) {
    if (!j.is_structured()) return true;
    if (levels == 0) return false;
    for (const json& e : j)
        if (!nested_within(e, levels - 1)) return false;
    return true;
}

std::string dump_value(const json& j) { return nested_within(j, 32) ? j.dump() : "<nested too deep>"; }

std::string str_field(const json& j, const char* key, const char* missing = "-") {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return missing;
    if (it->is_string()) return it->get<std::string>();
    return dump_value(*it);
}

std::int64_t int_field(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

std::string seconds_field(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(3) << it->get<double>() << "s";
    return s.str();
}

std::string args_text(const json& j) {
    auto it = j.find("args");
    if (it == j.end()) return "";
    std::string s;
    if (it->is_array()) {
        for (const json& a : *it) {
            if (!s.empty()) s += ", ";
            s += a.is_string() ? a.get<std::string>() : dump_value(a);
        }
    } else {
        s = it->is_string() ? it->get<std::string>() : dump_value(*it);
    }
    if (s.size() > 160) s = s.substr(0, 157) + "...";
    return s;
}

std::string pad(std::string s, std::size_t w) {
    if (s.size() < w) s.append(w - s.size(), ' ');
    return s;
}

// Every JSON object line of a stream, rotated files first; lines that don't parse are skipped (show
// is a reader, not a checker: `audit verify` reports them).
template <class F>
void for_each_record(const std::string& dir, Stream s, F&& f) {
    for (const std::string& file : stream_files(dir, file_name(s))) {
        LineReader r;
        if (!r.open(file).ok()) continue;
        std::string line;
        while (r.next(line)) {
            if (nested_deeper_than(line, 64)) continue;
            json j = json::parse(line, nullptr, false);
            if (j.is_object()) f(j);
        }
    }
}

std::string iso_utc(std::time_t t) {
    std::tm g{};
    gmtime_r(&t, &g);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &g);
    return buf;
}

// --since: an ISO-8601 UTC date or date-time, or a time back from now (`90s`, `30m`, `1h`, `2d`, `1w`).
// Returns it normalised for a lexicographic >= against our UTC stamps ("2026-11-27T10:00:00.123456Z"):
// 'T' separator, no trailing Z.
std::optional<std::string> normalise_since(std::string t, std::time_t now) {
    if (t.size() >= 2 && t.size() <= 10 && std::all_of(t.begin(), t.end() - 1, [](char c) { return c >= '0' && c <= '9'; })) {
        std::int64_t unit = 0;
        switch (t.back()) {
            case 's': unit = 1; break;
            case 'm': unit = 60; break;
            case 'h': unit = 3600; break;
            case 'd': unit = 86400; break;
            case 'w': unit = 7 * 86400; break;
            default: break;
        }
        if (unit > 0) return iso_utc(now - std::time_t(std::stoll(t.substr(0, t.size() - 1)) * unit));
    }
    if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) t.pop_back();
    if (t.size() > 10 && t[10] == ' ') t[10] = 'T';
    static const std::string shape = "dddd-dd-ddTdd:dd:dd";
    if (t.size() < 10) return std::nullopt;
    for (std::size_t i = 0; i < t.size(); ++i) {
        char want = i < shape.size() ? shape[i] : (i == shape.size() ? '.' : 'd');
        bool ok = want == 'd' ? (t[i] >= '0' && t[i] <= '9') : t[i] == want;
        if (!ok) return std::nullopt;
    }
    // Only whole fields: date, +hour, +minutes, +seconds, +fraction.
    if (t.size() != 10 && t.size() != 13 && t.size() != 16 && t.size() < 19) return std::nullopt;
    if (t.size() == 20) return std::nullopt;  // "…:ss." without digits
    return t;
}

bool is_denied(const json& e) {
    std::string d = str_field(e, "decision", "");
    return d == "denied_by_hook" || d == "denied_by_kernel";
}

// What the timeline shows of a run's events without --all: what an auditor looks for, not the imports
// and file reads of every start-up.
bool notable(const json& e) {
    if (is_denied(e)) return true;
    std::string k = str_field(e, "kind", ""), name = str_field(e, "event", "");
    // _getframe and type attribute changes are everyday stdlib work (logging, enum), as in RunLog.
    if (k == "tampering") return name != "sys._getframe" && name != "object.__setattr__";
    return k == "subprocess" || k == "socket";
}

// --event KIND: the event's kind (file, socket, subprocess, code, tampering, other, summary), its name
// (`open`, `socket.connect`), or the start of its name up to a dot (`socket`, `os`).
bool event_matches(const json& e, const std::string& kind) {
    std::string name = str_field(e, "event", "");
    return str_field(e, "kind", "") == kind || name == kind || name.rfind(kind + ".", 0) == 0;
}

struct Colours {
    bool on = false;
    const char* red() const { return on ? "\033[31m" : ""; }
    const char* green() const { return on ? "\033[32m" : ""; }
    const char* yellow() const { return on ? "\033[33m" : ""; }
    const char* dim() const { return on ? "\033[2m" : ""; }
    const char* bold() const { return on ? "\033[1m" : ""; }
    const char* off() const { return on ? "\033[0m" : ""; }
};

// "2026-11-27T10:00:01.516683Z" -> "2026-11-27 10:00:01Z" (header) or "10:00:01.516" (event lines).
std::string when(const std::string& ts, bool time_only) {
    if (ts.size() < 19 || ts[10] != 'T') return printable(ts);
    if (time_only) return printable(ts.substr(11, std::min<std::size_t>(12, ts.size() - 11 - (ts.back() == 'Z'))));
    return printable(ts.substr(0, 10) + " " + ts.substr(11, 8) + "Z");
}

struct ShowFilter {
    std::string run_prefix, since, event_kind, script, script_real;
    bool denied = false, all = false, as_json = false;
};

bool script_matches(const json& r, const ShowFilter& f) {
    if (f.script.empty()) return true;
    std::string p = str_field(r, "script_path", "");
    if (p == f.script || (!f.script_real.empty() && p == f.script_real)) return true;
    // A bare or relative name matches the end of the recorded absolute path: `--script vote.py`.
    return f.script[0] != '/' && p.size() > f.script.size() && p.compare(p.size() - f.script.size(), f.script.size(), f.script) == 0 &&
           p[p.size() - f.script.size() - 1] == '/';
}

void json_line(std::ostream& out, const char* type, json j) {
    j.erase("prev");
    j.erase("chain");
    json o = json::object();
    o["type"] = type;
    for (auto& [k, v] : j.items()) o[k] = std::move(v);
    // ensure_ascii: every control byte and non-ASCII character as \uXXXX, so that the lines are safe on
    // a terminal as well as for jq.
    out << o.dump(-1, ' ', true, json::error_handler_t::replace) << "\n";
}

// show's options as a filter; nullopt after a usage error (said on `err`).
std::optional<ShowFilter> show_filter(Parsed& p, std::ostream& err) {
    ShowFilter f;
    f.run_prefix = p.opts.count("--run") ? p.opts["--run"] : "";
    f.event_kind = p.opts.count("--event") ? p.opts["--event"] : "";
    f.denied = p.flags.count("--denied") > 0;
    f.all = p.flags.count("--all") > 0;
    f.as_json = p.flags.count("--json") > 0;
    if (p.opts.count("--script")) {
        f.script = p.opts["--script"];
        if (char* real = ::realpath(f.script.c_str(), nullptr)) {
            f.script_real = real;
            std::free(real);
        }
    }
    if (p.opts.count("--since")) {
        auto s = normalise_since(p.opts["--since"], std::time(nullptr));
        if (!s) {
            err << "hive-py audit show: --since '" << printable(p.opts["--since"])
                << "' is neither a UTC time like 2026-11-27 or 2026-11-27T10:00:00 nor a time back like 30m, 1h, 2d\n";
            return std::nullopt;
        }
        f.since = *s;
    }
    return f;
}

// The runs the filter selects, with their selected events and security events.
struct Selection {
    std::vector<json> runs;
    std::map<std::string, std::vector<json>> events, security;  // by run id
};

Selection select(const std::string& dir, const ShowFilter& f) {
    Selection sel;
    std::set<std::string> ids;
    for_each_record(dir, Stream::execution, [&](json& j) {
        std::string id = str_field(j, "run_id", "");
        if (!f.run_prefix.empty() && id.rfind(f.run_prefix, 0) != 0) return;
        if (!f.since.empty() && str_field(j, "timestamp", "") < f.since) return;
        if (!script_matches(j, f)) return;
        ids.insert(id);
        sel.runs.push_back(std::move(j));
    });
    for_each_record(dir, Stream::events, [&](json& j) {
        std::string id = str_field(j, "run_id", "");
        if (!ids.count(id)) return;
        if (f.denied && !is_denied(j)) return;
        if (!f.event_kind.empty() && !event_matches(j, f.event_kind)) return;
        sel.events[id].push_back(std::move(j));
    });
    for_each_record(dir, Stream::security, [&](json& j) {
        std::string id = str_field(j, "run_id", "");
        if (!ids.count(id)) return;
        if (!f.event_kind.empty()) {  // only the mirrors of matching events
            auto ev = j.find("event");
            if (ev == j.end() || !ev->is_object() || !event_matches(*ev, f.event_kind)) return;
        }
        if (f.denied && str_field(j, "kind", "").find("denied") == std::string::npos) return;
        sel.security[id].push_back(std::move(j));
    });
    // --denied and --event select runs by their events.
    if (f.denied || !f.event_kind.empty()) {
        std::erase_if(sel.runs, [&](const json& r) {
            std::string id = str_field(r, "run_id", "");
            return sel.events[id].empty() && sel.security[id].empty();
        });
    }
    return sel;
}

// One run's header line: when, id, outcome, time, script, counts.
void print_run_header(std::ostream& out, const json& r, const Colours& c) {
    const bool ok = r.value("success", false);
    out << c.bold() << when(str_field(r, "timestamp", ""), false) << "  " << printable(str_field(r, "run_id", ""))
        << c.off() << "  " << (ok ? c.green() : c.red()) << (ok ? "ok" : "FAILED") << c.off()
        << " rc=" << printable(str_field(r, "return_code"));
    std::string ended = str_field(r, "ended", "");
    if (!ended.empty() && ended != "exit") out << " (" << printable(ended) << ")";
    std::string script = str_field(r, "script_path");
    if (str_field(r, "mode", "") == "command") script = "-c " + script;
    if (script.size() > 72) script = script.substr(0, 69) + "...";
    out << "  " << seconds_field(r, "execution_time") << "  " << printable(script);
    out << c.dim() << "  " << int_field(r, "events") << " events" << c.off();
    if (std::int64_t denials = int_field(r, "denials"); denials > 0) out << ", " << c.red() << denials << " denied" << c.off();
    auto al = r.find("alerts");
    if (al != r.end() && al->is_array() && !al->empty())
        out << ", " << c.yellow() << al->size() << (al->size() == 1 ? " alert" : " alerts") << c.off();
    out << "\n";
}

// A run's timeline under its header: the events the filter shows, then the security events that do not
// repeat one of them, then how many were left out.
void print_run_events(std::ostream& out, const std::vector<json>& events, const std::vector<json>& security,
                      const ShowFilter& f, const Colours& c) {
    std::set<std::int64_t> shown;
    std::size_t hidden = 0;
    for (const json& e : events) {
        if (!f.all && f.event_kind.empty() && !notable(e)) {
            ++hidden;
            continue;
        }
        shown.insert(int_field(e, "seq"));
        const bool denied = is_denied(e);
        std::string decision = str_field(e, "decision");
        out << "    " << c.dim() << when(str_field(e, "timestamp", ""), true) << c.off() << "  "
            << pad(printable(str_field(e, "event")), 18) << "  " << (denied ? c.red() : "")
            << pad(decision == "allowed" ? "" : printable(decision), 16) << (denied ? c.off() : "") << "  "
            << printable(args_text(e)) << "\n";
    }
    for (const json& e : security) {
        // A denial's or tampering's security record repeats an event shown above.
        auto ev = e.find("event");
        if (ev != e.end() && ev->is_object() && shown.count(int_field(*ev, "seq"))) continue;
        out << "    " << c.dim() << when(str_field(e, "timestamp", ""), true) << c.off() << "  " << c.yellow()
            << pad(printable(str_field(e, "kind")), 18) << c.off() << "  " << pad(printable(str_field(e, "severity")), 16)
            << "  " << printable(str_field(e, "message", "")) << "\n";
    }
    if (hidden > 0 && !f.denied)
        out << "    " << c.dim() << "(" << hidden << " more events: --all shows them)" << c.off() << "\n";
}

int cmd_show(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, bool colour) {
    auto p = parse_args(args, {"--run", "--since", "--event", "--script"}, {"--denied", "--all", "--json"}, err);
    if (!p) return 2;
    auto f = show_filter(*p, err);
    if (!f) return 2;
    struct stat st;
    int stat_errno = ::stat(p->dir.c_str(), &st) != 0 ? errno : (S_ISDIR(st.st_mode) ? 0 : ENOTDIR);
    if (stat_errno != 0) {
        err << "hive-py audit show: " << Error::from_errno("stat", p->dir, stat_errno).message
            << (p->dir_given ? "" : " (the default log directory: no run has logged there; name LOG_DIR)") << "\n";
        return 2;
    }
    Selection sel = select(p->dir, *f);
    if (sel.runs.empty()) {
        if (!f->as_json)
            out << "no runs" << (args.size() > 1 + (p->dir_given ? 1 : 0) ? " match" : "") << " in "
                << printable(p->dir) << "/" << file_name(Stream::execution) << "\n";
        return 0;
    }
    const Colours c{colour && !f->as_json};
    for (json& r : sel.runs) {
        const std::string id = str_field(r, "run_id", "");
        if (f->as_json) {
            json_line(out, "run", r);
            for (json& e : sel.events[id]) json_line(out, "event", std::move(e));
            for (json& e : sel.security[id]) json_line(out, "security", std::move(e));
            continue;
        }
        print_run_header(out, r, c);
        print_run_events(out, sel.events[id], sel.security[id], *f, c);
    }
    return 0;
}

}  // namespace

Result<std::shared_ptr<const Secret>> read_key_file(const std::string& path) {
    auto k = Secret::read_file(path, std::size_t(1) << 20);
    if (!k && k.error().err == 0) return Error{"HMAC key file " + k.error().message};  // empty, too large
    return k;
}

int audit_command(const std::vector<std::string>& args) {
    return audit_command(args, std::cout, std::cerr, ::isatty(STDOUT_FILENO) == 1);
}

int audit_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, bool colour) {
    if (args.empty()) {
        err << "hive-py audit: name a command: verify or show (hive-py audit --help)\n";
        return 2;
    }
    const std::string& cmd = args[0];
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
        out << kUsage;
        return 0;
    }
    for (const std::string& a : args) {
        if (a == "--help" || a == "-h") {
            out << kUsage;
            return 0;
        }
    }
    if (cmd == "verify") return cmd_verify(args, out, err);
    if (cmd == "show") return cmd_show(args, out, err, colour);
    err << "hive-py audit: unknown command '" << printable(cmd) << "' (verify or show; hive-py audit --help)\n";
    return 2;
}

}  // namespace hive::audit
