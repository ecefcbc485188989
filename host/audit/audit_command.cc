// `hive-py audit verify|show`: the user's view of the audit logs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "audit/audit_log.h"
#include "audit/record_format.h"
#include "common/unique_fd.h"

namespace hive::audit {

using namespace detail;
using nlohmann::json;

namespace {

constexpr const char* kUsage = R"(usage: hive-py audit verify [LOG_DIR] [--key-file FILE]
       hive-py audit show   [LOG_DIR] [--run ID] [--since TIME]

  verify   check the hash chain of every log in LOG_DIR (default ./logs), rotated .gz files included.
           --key-file FILE   the HMAC key the logs were written with (policy monitoring.hmac_key_file)
           exit status: 0 every chain intact, 1 a record was edited/deleted/inserted/reordered or
                        the end does not match the head,
                        2 usage error or unreadable directory
           and each stream's end against its head (.NAME.head): records cut off the end, a deleted
           stream file or one replaced by an older copy fail too.
  show     print runs from execution_audit.log with their events and security events.
           --run ID      only runs whose run_id starts with ID
           --since TIME  only runs at or after TIME (UTC, e.g. 2026-11-27 or 2026-11-27T10:00:00)
)";

constexpr std::size_t kMaxIssuesPrinted = 50;

struct Parsed {
    std::string dir = "logs";
    std::map<std::string, std::string> opts;
};

// Positional LOG_DIR plus `--opt VALUE` / `--opt=VALUE` for the options in `allowed`.
std::optional<Parsed> parse_args(const std::vector<std::string>& args, const std::set<std::string>& allowed,
                                 std::ostream& err) {
    Parsed p;
    bool have_dir = false;
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
            if (!allowed.count(name)) {
                err << "hive-py audit " << args[0] << ": unknown option " << name << "\n" << kUsage;
                return std::nullopt;
            }
            if (!inline_value) {
                if (i + 1 >= args.size()) {
                    err << "hive-py audit " << args[0] << ": " << name << " needs a value\n";
                    return std::nullopt;
                }
                value = args[++i];
            }
            p.opts[name] = value;
        } else if (!have_dir) {
            p.dir = a;
            have_dir = true;
        } else {
            err << "hive-py audit " << args[0] << ": unexpected argument '" << a << "'\n" << kUsage;
            return std::nullopt;
        }
    }
    while (p.dir.size() > 1 && p.dir.back() == '/') p.dir.pop_back();
    return p;
}

int cmd_verify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    auto p = parse_args(args, {"--key-file"}, err);
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

std::string str_field(const json& j, const char* key, const char* missing = "-") {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return missing;
    if (it->is_string()) return it->get<std::string>();
    return it->dump();
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
            s += a.is_string() ? a.get<std::string>() : a.dump();
        }
    } else {
        s = it->is_string() ? it->get<std::string>() : it->dump();
    }
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';  // one line per event, whatever the args hold
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
            json j = json::parse(line, nullptr, false);
            if (j.is_object()) f(j);
        }
    }
}

// ISO-8601 date or date-time; returns it normalised for a lexicographic >= against our UTC stamps
// ("2026-11-27T10:00:00Z"): 'T' separator, no trailing Z.
std::optional<std::string> normalise_since(std::string t) {
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

int cmd_show(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    auto p = parse_args(args, {"--run", "--since"}, err);
    if (!p) return 2;
    std::string run_prefix = p->opts.count("--run") ? p->opts["--run"] : "";
    std::string since;
    if (p->opts.count("--since")) {
        auto s = normalise_since(p->opts["--since"]);
        if (!s) {
            err << "hive-py audit show: --since '" << p->opts["--since"]
                << "' is not an ISO-8601 UTC time like 2026-11-27 or 2026-11-27T10:00:00\n";
            return 2;
        }
        since = *s;
    }
    struct stat st;
    int stat_errno = ::stat(p->dir.c_str(), &st) != 0 ? errno : (S_ISDIR(st.st_mode) ? 0 : ENOTDIR);
    if (stat_errno != 0) {
        err << "hive-py audit show: " << Error::from_errno("stat", p->dir, stat_errno).message << "\n";
        return 2;
    }

    std::vector<json> runs;
    std::set<std::string> ids;
    for_each_record(p->dir, Stream::execution, [&](json& j) {
        std::string id = str_field(j, "run_id", "");
        if (!run_prefix.empty() && id.rfind(run_prefix, 0) != 0) return;
        if (!since.empty() && str_field(j, "timestamp", "") < since) return;
        ids.insert(id);
        runs.push_back(std::move(j));
    });
    if (runs.empty()) {
        out << "no runs" << (run_prefix.empty() && since.empty() ? "" : " match") << " in " << p->dir << "/"
            << file_name(Stream::execution) << "\n";
        return 0;
    }
    std::map<std::string, std::vector<json>> events, security;
    for_each_record(p->dir, Stream::events, [&](json& j) {
        std::string id = str_field(j, "run_id", "");
        if (ids.count(id)) events[id].push_back(std::move(j));
    });
    for_each_record(p->dir, Stream::security, [&](json& j) {
        std::string id = str_field(j, "run_id", "");
        if (ids.count(id)) security[id].push_back(std::move(j));
    });

    for (const json& r : runs) {
        std::string id = str_field(r, "run_id");
        auto succ = r.find("success");
        std::string success = succ == r.end() || !succ->is_boolean() ? "success=?" : (*succ ? "success" : "FAILED");
        out << str_field(r, "timestamp") << "  run " << id << "  " << str_field(r, "script_path")
            << "  rc=" << str_field(r, "return_code") << "  " << success << "  " << seconds_field(r, "execution_time")
            << "  ended=" << str_field(r, "ended") << "\n";
        for (const json& e : events[id]) {
            std::string seq = str_field(e, "seq");
            out << "    " << std::string(seq.size() < 5 ? 5 - seq.size() : 0, ' ') << seq << "  "
                << pad(str_field(e, "event"), 24) << "  " << pad(str_field(e, "decision"), 16) << "  " << args_text(e)
                << "\n";
        }
        for (const json& e : security[id]) {
            out << "    security  " << pad(str_field(e, "severity"), 8) << "  " << str_field(e, "kind") << ": "
                << str_field(e, "message", "") << "\n";
        }
    }
    return 0;
}

}  // namespace

Result<std::shared_ptr<const Secret>> read_key_file(const std::string& path) {
    auto k = Secret::read_file(path, std::size_t(1) << 20);
    if (!k && k.error().err == 0) return Error{"HMAC key file " + k.error().message};  // empty, too large
    return k;
}

int audit_command(const std::vector<std::string>& args) { return audit_command(args, std::cout, std::cerr); }

int audit_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    if (args.empty()) {
        err << kUsage;
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
    if (cmd == "show") return cmd_show(args, out, err);
    err << "hive-py audit: unknown command '" << cmd << "'\n" << kUsage;
    return 2;
}

}  // namespace hive::audit
