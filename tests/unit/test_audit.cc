// host/audit: hash-chained append, tamper detection, rotation, concurrent writers, the audit command.
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "audit/audit_log.h"
#include "audit/syslog_export.h"

namespace fs = std::filesystem;
using namespace hive::audit;

namespace {

struct Tmp {
    std::string path;
    Tmp() {
        char t[] = "/tmp/hive_audit_test.XXXXXX";
        REQUIRE(::mkdtemp(t) != nullptr);
        path = t;
    }
    ~Tmp() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

AuditLog open_log(const std::string& dir, std::int64_t max_bytes = 10 << 20, const std::string& key = "") {
    std::shared_ptr<const hive::Secret> secret;
    if (!key.empty()) secret = hive::Secret::copy_of(key).value();
    auto r = AuditLog::open(LogOptions{.dir = dir, .max_bytes = max_bytes, .hmac_key = secret});
    REQUIRE(r.ok());
    return std::move(r).value();
}

// A record as the writers hand it over: a json::Object (its text taken over, as RunLog does with
// the supervisor's records).
hive::json::Object obj(std::string text) {
    auto o = hive::json::Object::adopt(std::move(text));
    REQUIRE(o.has_value());
    return std::move(*o);
}

std::vector<hive::json::Object> objs(const std::vector<std::string>& texts) {
    std::vector<hive::json::Object> v;
    for (const auto& t : texts) v.push_back(obj(t));
    return v;
}

hive::json::Object event(int i) {
    return obj("{\"run_id\":\"r1\",\"seq\":" + std::to_string(i) + ",\"event\":\"open\",\"args\":[\"/tmp/f" +
           std::to_string(i) + "\",\"r\"],\"decision\":\"allowed\"}");
}

void append_events(AuditLog& log, int from, int count, Stream s = Stream::events) {
    std::vector<hive::json::Object> recs;
    for (int i = from; i < from + count; ++i) recs.push_back(event(i));
    auto st = log.append(s, recs);
    INFO((st.ok() ? "" : st.error().message));
    REQUIRE(st.ok());
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream f(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(f, l);) out.push_back(l);
    return out;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
    std::ofstream f(path, std::ios::trunc);
    for (const auto& l : lines) f << l << "\n";
}

// A log of `count` event records in `dir`, its audit_events.log then rewritten by `edit` (the lines,
// without their newlines): the tampering a verifier must find. Returns the file's path.
template <class Edit>
std::string tampered_events(const std::string& dir, int count, Edit edit) {
    auto log = open_log(dir);
    append_events(log, 1, count);
    std::string path = dir + "/audit_events.log";
    auto lines = read_lines(path);
    edit(lines);
    write_lines(path, lines);
    return path;
}

std::string gunzip(const std::string& path) {
    gzFile g = gzopen(path.c_str(), "rb");
    REQUIRE(g != nullptr);
    std::string out;
    char buf[65536];
    int n;
    while ((n = gzread(g, buf, sizeof buf)) > 0) out.append(buf, std::size_t(n));
    gzclose(g);
    return out;
}

// Rewrite a rotated .gz with its decompressed text changed by `edit`.
template <class F>
void rewrite_gz(const std::string& path, F&& edit) {
    std::string text = gunzip(path);
    edit(text);
    gzFile g = gzopen(path.c_str(), "wb");
    REQUIRE(g != nullptr);
    REQUIRE(gzwrite(g, text.data(), unsigned(text.size())) == int(text.size()));
    gzclose(g);
}

VerifyReport check(const std::string& dir, const std::string& key = "") {
    auto r = verify(dir, key);
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    return std::move(r).value();
}

std::string issues_text(const VerifyReport& r) {
    std::string s;
    for (const auto& i : r.issues) s += i.file + ":" + std::to_string(i.line) + ": " + i.what + "\n";
    return s;
}

int run_cmd(const std::vector<std::string>& args, std::string& out) {
    std::ostringstream o, e;
    int rc = audit_command(args, o, e);
    out = o.str() + e.str();
    return rc;
}

}  // namespace

TEST_CASE("open creates the directory with parents, mode 0700") {
    Tmp t;
    std::string dir = t.path + "/a/b/logs";
    auto log = open_log(dir);
    REQUIRE(fs::is_directory(dir));
    CHECK((fs::status(dir).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK(log.dir() == dir);

    auto bad = AuditLog::open(LogOptions{.dir = "/proc/hive-no-such/logs"});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("/proc/hive-no-such") != std::string::npos);
    CHECK(bad.error().err != 0);
}

TEST_CASE("append writes chained lines and verify passes") {
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 3);
    append_events(log, 4, 2);
    REQUIRE(log.append(Stream::execution, obj("{\"run_id\":\"r1\"}")).ok());
    REQUIRE(log.append(Stream::security, obj("{}")).ok());

    auto lines = read_lines(t.path + "/audit_events.log");
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].find(",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"chain\":\"") !=
          std::string::npos);
    // every line is a JSON object ending with prev, chain
    for (std::size_t i = 1; i < lines.size(); ++i) {
        std::string prev_chain = lines[i - 1].substr(lines[i - 1].size() - 66, 64);
        CHECK(lines[i].find("\"prev\":\"" + prev_chain + "\"") != std::string::npos);
    }
    CHECK(read_lines(t.path + "/security_events.log")[0].rfind("{\"prev\":\"", 0) == 0);

    auto r = check(t.path);
    CHECK(r.issues.empty());
    CHECK(r.records == 7);
    REQUIRE(r.streams.size() == 4);
    CHECK(r.streams[1].records == 5);
    CHECK(r.streams[3].files == 0);
}

TEST_CASE("records longer than the tail's first read still chain") {
    // The chain value of the last record is found by reading the file's tail backwards in growing
    // pieces; records of 3, 5, 20 and 70 KB make it grow once, twice and more.
    Tmp t;
    auto log = open_log(t.path);
    for (std::size_t kb : {3, 5, 20, 70, 1}) {
        std::string rec = "{\"run_id\":\"r1\",\"pad\":\"" + std::string(kb * 1024, 'x') + "\"}";
        REQUIRE(log.append(Stream::execution, obj(rec)).ok());
    }
    auto lines = read_lines(t.path + "/execution_audit.log");
    REQUIRE(lines.size() == 5);
    for (std::size_t i = 1; i < lines.size(); ++i) {
        std::string prev_chain = lines[i - 1].substr(lines[i - 1].size() - 66, 64);
        CHECK(lines[i].find("\"prev\":\"" + prev_chain + "\"") != std::string::npos);
    }
    auto r = check(t.path);
    CHECK(r.issues.empty());
    CHECK(r.records == 5);
}

TEST_CASE("append refuses a record that would split into two lines, writing nothing") {
    Tmp t;
    auto log = open_log(t.path);
    hive::json::Object split;
    split.add("a", 1).add_raw("b", "{\"c\":1}\n{\"d\":2}");
    CHECK_FALSE(log.append(Stream::events, std::vector<hive::json::Object>{event(1), split}).ok());
    CHECK(read_lines(t.path + "/audit_events.log").empty());
    // Text taken over as an object must at least look like one; nothing is parsed.
    CHECK_FALSE(hive::json::Object::adopt("[1,2]").has_value());
    CHECK_FALSE(hive::json::Object::adopt("not json").has_value());
    CHECK(hive::json::Object::adopt("{}").value().str() == "{}");
}

TEST_CASE("an edited byte is reported at its file and line, once") {
    Tmp t;
    std::string path = tampered_events(t.path, 10, [](std::vector<std::string>& lines) {
        lines[6][lines[6].find("/tmp/f7")] = 'X';  // record 7 (line 7)
    });

    auto r = check(t.path);
    INFO(issues_text(r));
    REQUIRE(r.issues.size() == 1);
    CHECK(r.issues[0].file == path);
    CHECK(r.issues[0].line == 7);
    CHECK(r.issues[0].what == "record edited (chain mismatch)");
}

TEST_CASE("an edited chain field is reported once") {
    Tmp t;
    tampered_events(t.path, 5, [](std::vector<std::string>& lines) {
        char& c = lines[2][lines[2].size() - 3];
        c = c == 'a' ? 'b' : 'a';
    });
    auto r = check(t.path);
    INFO(issues_text(r));
    REQUIRE(r.issues.size() == 1);
    CHECK(r.issues[0].line == 3);
}

TEST_CASE("a deleted middle line is reported where it was") {
    Tmp t;
    tampered_events(t.path, 10, [](std::vector<std::string>& lines) {
        lines.erase(lines.begin() + 4);  // line 5
    });
    auto r = check(t.path);
    INFO(issues_text(r));
    REQUIRE(r.issues.size() == 1);
    CHECK(r.issues[0].line == 5);
    CHECK(r.issues[0].what.find("deleted, inserted or reordered") != std::string::npos);
}

TEST_CASE("deleting the first record is reported") {
    Tmp t;
    tampered_events(t.path, 3, [](std::vector<std::string>& lines) {
        lines.erase(lines.begin());
    });
    auto r = check(t.path);
    REQUIRE(r.issues.size() == 1);
    CHECK(r.issues[0].line == 1);
    CHECK(r.issues[0].what.find("does not start the chain") != std::string::npos);
}

TEST_CASE("two swapped lines are reported") {
    Tmp t;
    tampered_events(t.path, 10, [](std::vector<std::string>& lines) {
        std::swap(lines[3], lines[4]);
    });
    auto r = check(t.path);
    INFO(issues_text(r));
    REQUIRE_FALSE(r.issues.empty());
    CHECK(r.issues[0].line == 4);
    for (const auto& i : r.issues) CHECK((i.line >= 4 && i.line <= 6));
}

TEST_CASE("an inserted forged line is reported") {
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 6);
    std::string path = t.path + "/audit_events.log";
    auto lines = read_lines(path);

    SECTION("a copy of another record") {
        lines.insert(lines.begin() + 3, lines[1]);
        write_lines(path, lines);
        auto r = check(t.path);
        INFO(issues_text(r));
        REQUIRE_FALSE(r.issues.empty());
        CHECK(r.issues[0].line == 4);
    }
    SECTION("a well-formed record with a correctly computed plain chain, linked to its predecessor") {
        // Build the forgery with a scratch log whose last record is line 3's twin: the attacker's best.
        Tmp scratch;
        write_lines(scratch.path + "/audit_events.log", {lines[2]});
        auto forger = open_log(scratch.path);
        REQUIRE(forger.append(Stream::events, obj("{\"run_id\":\"r1\",\"seq\":99,\"event\":\"forged\"}")).ok());
        std::string forged = read_lines(scratch.path + "/audit_events.log")[1];
        lines.insert(lines.begin() + 3, forged);
        write_lines(path, lines);
        auto r = check(t.path);
        INFO(issues_text(r));
        REQUIRE(r.issues.size() == 1);
        CHECK(r.issues[0].line == 5);  // the record after the forgery no longer links
    }
    SECTION("garbage") {
        lines.insert(lines.begin() + 2, "hello");
        write_lines(path, lines);
        auto r = check(t.path);
        REQUIRE(r.issues.size() == 1);
        CHECK(r.issues[0].line == 3);
        CHECK(r.issues[0].what == "not a JSON record");
    }
}

TEST_CASE("HMAC chains need the key") {
    Tmp t;
    const std::string key = "s3cret-key";
    auto log = open_log(t.path, 10 << 20, key);
    append_events(log, 1, 8);

    CHECK(check(t.path, key).issues.empty());
    auto wrong = check(t.path, "other-key");
    REQUIRE(wrong.issues.size() == 9);  // every record, and the head's signature
    CHECK(wrong.issues[0].what.find("HMAC key wrong") != std::string::npos);
    CHECK(wrong.issues[8].what.find("head unusable: signature does not match") != std::string::npos);
    CHECK(check(t.path, "").issues.size() == 9);

    // The attacker edits record 3 and recomputes a plain SHA-256 chain from there on.
    std::string path = t.path + "/audit_events.log";
    auto lines = read_lines(path);
    Tmp scratch;
    write_lines(scratch.path + "/audit_events.log", {lines[1]});
    auto forger = open_log(scratch.path);  // no key
    std::vector<std::string> rest;
    for (std::size_t i = 2; i < lines.size(); ++i) {
        std::string body = lines[i].substr(0, lines[i].find(",\"prev\":")) + "}";
        if (i == 2) body.replace(body.find("/tmp/f3"), 7, "/tmp/ZZ");
        rest.push_back(body);
    }
    REQUIRE(forger.append(Stream::events, objs(rest)).ok());
    auto forged = read_lines(scratch.path + "/audit_events.log");
    lines.resize(2);
    lines.insert(lines.end(), forged.begin() + 1, forged.end());
    write_lines(path, lines);

    // Without the key only the two untouched HMAC records and the signed head look odd: the forgery
    // itself passes a plain check, which is why keys exist.
    auto plain = check(t.path, "");
    REQUIRE(plain.issues.size() == 3);
    CHECK(plain.issues[1].line == 2);
    auto r = check(t.path, key);
    INFO(issues_text(r));
    REQUIRE_FALSE(r.issues.empty());
    CHECK(r.issues[0].line == 3);
}

TEST_CASE("read_key_file strips one trailing newline") {
    Tmp t;
    write_lines(t.path + "/k", {"abc"});
    auto k = read_key_file(t.path + "/k");
    REQUIRE(k.ok());
    CHECK(k.value()->view() == "abc");
    CHECK_FALSE(read_key_file(t.path + "/missing").ok());
    write_lines(t.path + "/e", {""});
    auto e = read_key_file(t.path + "/e");
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().message == "HMAC key file " + t.path + "/e: empty");
}

TEST_CASE("a key read by read_key_file reads as zeros in a forked child and stays intact in the parent") {
    // What keeps the HMAC key out of the sandbox, whose processes are forks of hive-py.
    Tmp t;
    const std::string key = "k3y-" + std::string(100, 'z') + "-end";
    write_lines(t.path + "/k", {key});
    auto k = read_key_file(t.path + "/k");
    REQUIRE(k.ok());
    const std::string_view v = k.value()->view();
    REQUIRE(v == key);
    pid_t pid = fork();
    if (pid == 0) {
        bool zeros = true;
        for (char c : v) zeros = zeros && c == 0;
        _exit(zeros ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(v == key);
}

TEST_CASE("rotation compresses old files and the chain continues across them") {
    Tmp t;
    auto log = open_log(t.path, 2000);
    for (int i = 0; i < 40; ++i) append_events(log, i * 5, 5);
    std::vector<std::string> gz;
    for (auto& e : fs::directory_iterator(t.path))
        if (e.path().extension() == ".gz") gz.push_back(e.path().filename());
    std::sort(gz.begin(), gz.end());
    REQUIRE(gz.size() >= 3);
    CHECK(fs::exists(t.path + "/audit_events.log.1.gz"));
    CHECK_FALSE(fs::exists(t.path + "/audit_events.log.1"));
    CHECK(fs::file_size(t.path + "/audit_events.log") <= 2000 + 5 * 300);

    auto r = check(t.path);
    INFO(issues_text(r));
    CHECK(r.issues.empty());
    CHECK(r.records == 200);
    CHECK(r.streams[1].files == int(gz.size()) + 1);

    SECTION("an edit inside a rotated file is found") {
        std::string g = t.path + "/audit_events.log.2.gz";
        rewrite_gz(g, [](std::string& s) {
            auto p = s.find("\"open\"", s.find('\n') + 1);  // in line 2
            s[p + 1] = 'O';
        });
        auto r2 = check(t.path);
        INFO(issues_text(r2));
        REQUIRE(r2.issues.size() == 1);
        CHECK(r2.issues[0].file == g);
        CHECK(r2.issues[0].line == 2);
    }
    SECTION("a removed rotated file is found") {
        fs::remove(t.path + "/audit_events.log.2.gz");
        auto r2 = check(t.path);
        REQUIRE(r2.issues.size() == 1);
        CHECK(r2.issues[0].file == t.path + "/audit_events.log.3.gz");
        CHECK(r2.issues[0].line == 1);
    }
    SECTION("a damaged .gz is reported, not fatal") {
        std::string g = t.path + "/audit_events.log.1.gz";
        auto size = fs::file_size(g);
        fs::resize_file(g, size / 2);
        auto r2 = check(t.path);
        REQUIRE_FALSE(r2.issues.empty());
        CHECK(r2.issues[0].file == g);
    }
}

TEST_CASE("background compression: the run does not wait for gzip, verify reads the files either way") {
    Tmp t;
    hive::audit::LogOptions o;
    o.dir = t.path;
    o.max_bytes = 2000;
    o.compress_in_background = true;
    auto opened = AuditLog::open(o);
    REQUIRE(opened.ok());
    AuditLog log = std::move(opened).value();
    for (int i = 0; i < 20; ++i) append_events(log, i * 5, 5);
    // Right away: rotated files exist, plain or compressed, and the chains hold.
    auto now = check(t.path);
    INFO(issues_text(now));
    CHECK(now.issues.empty());
    // Soon: every rotated file is compressed and no plain copy is left (bounded wait).
    auto plain_left = [&] {
        int n = 0;
        for (auto& e : fs::directory_iterator(t.path)) {
            std::string f = e.path().filename();
            if (f.rfind("audit_events.log.", 0) == 0 && e.path().extension() != ".gz") ++n;
        }
        return n;
    };
    for (int i = 0; i < 100 && plain_left() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(plain_left() == 0);
    CHECK(fs::exists(t.path + "/audit_events.log.1.gz"));
    auto later = check(t.path);
    CHECK(later.issues.empty());
    CHECK(later.records == now.records);
}

TEST_CASE("a torn last line does not swallow the next record") {
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 3);
    std::string path = t.path + "/audit_events.log";
    {
        std::ofstream f(path, std::ios::app);
        f << "{\"run_id\":\"r1\",\"se";
    }
    append_events(log, 4, 2);
    auto lines = read_lines(path);
    REQUIRE(lines.size() == 6);
    auto r = check(t.path);
    REQUIRE(r.issues.size() == 1);
    CHECK(r.issues[0].line == 4);
    CHECK(r.issues[0].what == "not a JSON record");
}

TEST_CASE("50 concurrent writers: no torn or interleaved lines") {
    Tmp t;
    constexpr int kProcs = 50, kEach = 20;
    auto parent_log = open_log(t.path, 64 * 1024);  // small: rotations happen under contention too
    append_events(parent_log, 0, 1);               // the parent has used the log before forking
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; ++p) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            auto r = AuditLog::open(LogOptions{.dir = t.path, .max_bytes = 64 * 1024});
            if (!r.ok()) ::_exit(3);
            for (int i = 0; i < kEach; ++i) {
                std::string rec = "{\"writer\":" + std::to_string(p) + ",\"i\":" + std::to_string(i) +
                                  ",\"pad\":\"" + std::string(100 + (p * 37 + i) % 200, 'x') + "\"}";
                if (!r->append(Stream::events, obj(rec)).ok()) ::_exit(4);
            }
            ::_exit(0);
        }
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        int st = 0;
        REQUIRE(::waitpid(pid, &st, 0) == pid);
        CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
    }
    auto r = check(t.path);
    INFO(issues_text(r));
    CHECK(r.issues.empty());
    CHECK(r.records == kProcs * kEach + 1);

    // Every (writer, i) pair exactly once, in order per writer.
    std::string all;
    for (auto& e : fs::directory_iterator(t.path)) {
        std::string f = e.path().filename();
        if (f.rfind("audit_events.log", 0) != 0) continue;
        all += f.size() > 3 && f.substr(f.size() - 3) == ".gz" ? gunzip(e.path()) : [&] {
            std::ifstream in(e.path());
            return std::string(std::istreambuf_iterator<char>(in), {});
        }();
    }
    std::set<std::pair<int, int>> seen;
    std::istringstream in(all);
    int lines = 0;
    for (std::string l; std::getline(in, l);) {
        ++lines;
        int w = -1, i = -1;
        if (std::sscanf(l.c_str(), "{\"writer\":%d,\"i\":%d", &w, &i) == 2) CHECK(seen.insert({w, i}).second);
    }
    CHECK(lines == kProcs * kEach + 1);
    CHECK(seen.size() == std::size_t(kProcs * kEach));
    CHECK(fs::exists(t.path + "/audit_events.log.1.gz"));  // rotations happened while contended
}

TEST_CASE("a rotation interrupted after moving the live file aside is finished later") {
    Tmp t;
    auto log = open_log(t.path, 3000);
    append_events(log, 0, 5);
    // As if the process died between rename(live, .1) and the compression.
    fs::rename(t.path + "/audit_events.log", t.path + "/audit_events.log.1");
    append_events(log, 5, 5);  // continues the chain from the plain .1
    CHECK(check(t.path).issues.empty());
    for (int i = 0; i < 20; ++i) append_events(log, 10 + i * 5, 5);
    CHECK(fs::exists(t.path + "/audit_events.log.1.gz"));
    CHECK_FALSE(fs::exists(t.path + "/audit_events.log.1"));
    auto r = check(t.path);
    INFO(issues_text(r));
    CHECK(r.issues.empty());
    CHECK(r.records == 110);
}

TEST_CASE("audit verify: exit codes and output") {
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 12, Stream::execution);
    std::string out;
    CHECK(run_cmd({"verify", t.path}, out) == 0);
    CHECK(out.find("execution_audit.log: 12 records, chain intact") != std::string::npos);

    std::string path = t.path + "/execution_audit.log";
    auto lines = read_lines(path);
    lines[4][lines[4].find("open")] = 'O';
    write_lines(path, lines);
    CHECK(run_cmd({"verify", t.path}, out) == 1);
    CHECK(out.find(path + ":5: record edited (chain mismatch)") != std::string::npos);

    CHECK(run_cmd({"verify", t.path, "--bogus"}, out) == 2);
    CHECK(run_cmd({"verify", t.path + "/nope"}, out) == 2);
    CHECK(run_cmd({"verify", t.path, "--key-file", t.path + "/no-key"}, out) == 2);
    CHECK(run_cmd({"frobnicate"}, out) == 2);
    CHECK(run_cmd({"--help"}, out) == 0);
    CHECK(out.find("usage: hive-py audit verify") != std::string::npos);
}

TEST_CASE("audit verify --key-file") {
    Tmp t;
    std::string logs = t.path + "/logs";
    write_lines(t.path + "/key", {"k3y"});
    auto key = read_key_file(t.path + "/key");
    REQUIRE(key.ok());
    auto log = open_log(logs, 10 << 20, std::string(key.value()->view()));
    append_events(log, 1, 3);
    std::string out;
    CHECK(run_cmd({"verify", logs, "--key-file", t.path + "/key"}, out) == 0);
    CHECK(run_cmd({"verify", logs}, out) == 1);
    CHECK(out.find("pass --key-file") != std::string::npos);
}

TEST_CASE("audit show prints each run and its notable events") {
    Tmp t;
    auto log = open_log(t.path);
    REQUIRE(log.append(Stream::execution,
                       objs({
                           R"({"run_id":"aaaa1111","timestamp":"2026-11-26T09:00:00.000001Z","script_path":"/srv/old.py","return_code":0,"success":true,"execution_time":0.5,"ended":"exit","events":2,"denials":0,"alerts":[]})",
                           R"({"run_id":"bbbb2222","timestamp":"2026-11-27T10:00:01.500000Z","script_path":"/srv/scripts/vote.py","return_code":1,"success":false,"execution_time":1.25,"ended":"signal","events":4,"denials":2,"alerts":["run_failed"]})"}))
                .ok());
    REQUIRE(log.append(Stream::events,
                       objs({
                           R"({"run_id":"bbbb2222","seq":1,"timestamp":"2026-11-27T10:00:00.123456Z","pid":7,"event":"open","kind":"file","args":["/etc/passwd","r"],"decision":"denied_by_hook"})",
                           R"({"run_id":"aaaa1111","seq":1,"timestamp":"2026-11-26T09:00:00Z","event":"import","kind":"other","args":["json"],"decision":"allowed"})",
                           R"({"run_id":"aaaa1111","seq":2,"timestamp":"2026-11-26T09:00:00Z","event":"open","kind":"file","args":["/srv/data.csv"],"decision":"allowed"})",
                           R"({"run_id":"bbbb2222","seq":2,"timestamp":"2026-11-27T10:00:00.2Z","event":"socket.connect","kind":"socket","args":["10.0.0.1:443"],"decision":"denied_by_kernel"})",
                           R"({"run_id":"bbbb2222","seq":3,"timestamp":"2026-11-27T10:00:00.3Z","event":"import","kind":"other","args":["csv"],"decision":"allowed"})",
                           R"({"run_id":"bbbb2222","seq":4,"timestamp":"2026-11-27T10:00:00.4Z","event":"os.\u001b]0;PWNED\u0007x","kind":"other","args":["\u001b[2J","\u009b31m","\u202egnp.exe"],"decision":"allowed"})"}))
                .ok());
    REQUIRE(log.append(Stream::security,
                       objs({R"({"run_id":"bbbb2222","timestamp":"2026-11-27T10:00:00.5Z","severity":"medium","kind":"denied","message":"open denied by the audit hook","event":{"run_id":"bbbb2222","seq":1,"event":"open","decision":"denied_by_hook"}})",
                             R"({"run_id":"bbbb2222","timestamp":"2026-11-27T10:00:01Z","severity":"high","kind":"kernel_kill","message":"SIGSYS on connect"})"}))
                .ok());

    std::string out;
    REQUIRE(run_cmd({"show", t.path}, out) == 0);
    INFO(out);
    CHECK(out.find("2026-11-26 09:00:00Z  aaaa1111  ok rc=0  0.500s  /srv/old.py  2 events\n") != std::string::npos);
    CHECK(out.find("2026-11-27 10:00:01Z  bbbb2222  FAILED rc=1 (signal)  1.250s  /srv/scripts/vote.py  4 events, "
                   "2 denied, 1 alert\n") != std::string::npos);
    CHECK(out.find("    10:00:00.123  open                denied_by_hook    /etc/passwd, r\n") != std::string::npos);
    CHECK(out.find("    10:00:00.2  socket.connect      denied_by_kernel  10.0.0.1:443\n") != std::string::npos);
    CHECK(out.find("    10:00:01  kernel_kill         high              SIGSYS on connect\n") != std::string::npos);
    CHECK(out.find("open denied by the audit hook") == std::string::npos);  // the denial's mirror: shown once
    CHECK(out.find("(2 more events: --all shows them)") != std::string::npos);
    CHECK(out.find("/srv/data.csv") == std::string::npos);  // an allowed read: not notable
    CHECK(out.find('\033') == std::string::npos);           // no colour when not asked for

    // --all: every event, with the script's control bytes shown escaped, never raw.
    REQUIRE(run_cmd({"show", t.path, "--all"}, out) == 0);
    CHECK(out.find("/srv/data.csv") != std::string::npos);
    CHECK(out.find("os.\\x1b]0;PWNED\\x07x") != std::string::npos);
    CHECK(out.find("\\x1b[2J, \\u009b31m, \\u202egnp.exe") != std::string::npos);
    for (char ch : out) {
        unsigned char u = static_cast<unsigned char>(ch);
        CHECK((u >= 0x20 || u == '\n'));
    }
    CHECK(out.find("\xc2\x9b") == std::string::npos);
    CHECK(out.find("\xe2\x80\xae") == std::string::npos);

    REQUIRE(run_cmd({"show", t.path, "--run", "bbbb"}, out) == 0);
    CHECK(out.find("aaaa1111") == std::string::npos);
    CHECK(out.find("/etc/passwd") != std::string::npos);

    REQUIRE(run_cmd({"show", t.path, "--denied"}, out) == 0);
    CHECK(out.find("aaaa1111") == std::string::npos);
    CHECK(out.find("/etc/passwd") != std::string::npos);
    CHECK(out.find("kernel_kill") == std::string::npos);
    CHECK(out.find("more events") == std::string::npos);

    REQUIRE(run_cmd({"show", t.path, "--event", "import"}, out) == 0);
    CHECK(out.find("    09:00:00  import                                json\n") != std::string::npos);
    CHECK(out.find("csv") != std::string::npos);
    CHECK(out.find("/etc/passwd") == std::string::npos);
    REQUIRE(run_cmd({"show", t.path, "--event", "socket"}, out) == 0);
    CHECK(out.find("aaaa1111") == std::string::npos);
    CHECK(out.find("socket.connect") != std::string::npos);
    REQUIRE(run_cmd({"show", t.path, "--event", "subprocess"}, out) == 0);
    CHECK(out.find("no runs match") != std::string::npos);

    REQUIRE(run_cmd({"show", t.path, "--script", "vote.py"}, out) == 0);
    CHECK(out.find("aaaa1111") == std::string::npos);
    CHECK(out.find("bbbb2222") != std::string::npos);
    REQUIRE(run_cmd({"show", t.path, "--script", "/srv/old.py"}, out) == 0);
    CHECK(out.find("bbbb2222") == std::string::npos);
    CHECK(out.find("aaaa1111") != std::string::npos);
    REQUIRE(run_cmd({"show", t.path, "--script", "ote.py"}, out) == 0);
    CHECK(out.find("no runs match") != std::string::npos);

    REQUIRE(run_cmd({"show", t.path, "--since", "2026-11-27"}, out) == 0);
    CHECK(out.find("aaaa1111") == std::string::npos);
    CHECK(out.find("bbbb2222") != std::string::npos);
    REQUIRE(run_cmd({"show", t.path, "--since", "2026-11-27T10:00:01"}, out) == 0);
    CHECK(out.find("bbbb2222") != std::string::npos);
    REQUIRE(run_cmd({"show", t.path, "--since", "2026-11-27T10:00:02Z"}, out) == 0);
    CHECK(out.find("no runs match") != std::string::npos);
    REQUIRE(run_cmd({"show", t.path, "--since", "2d"}, out) == 0);  // these runs are older than that
    CHECK(out.find("no runs match") != std::string::npos);
    REQUIRE(run_cmd({"show", t.path, "--since", "100000d"}, out) == 0);
    CHECK(out.find("bbbb2222") != std::string::npos);

    // --json: one object per line, the records as stored minus the chain fields, with their type.
    REQUIRE(run_cmd({"show", t.path, "--run", "bbbb", "--json"}, out) == 0);
    auto ls = [&] {
        std::vector<std::string> v;
        std::istringstream in(out);
        for (std::string l; std::getline(in, l);) v.push_back(l);
        return v;
    }();
    REQUIRE(ls.size() == 1 + 4 + 2);
    CHECK(ls[0].rfind(R"({"type":"run","run_id":"bbbb2222","timestamp":)", 0) == 0);
    CHECK(ls[1].rfind(R"({"type":"event","run_id":"bbbb2222","seq":1,)", 0) == 0);
    CHECK(ls[5].rfind(R"({"type":"security",)", 0) == 0);
    CHECK(out.find("\"prev\"") == std::string::npos);
    CHECK(out.find(R"("event":"os.\u001b]0;PWNED\u0007x")") != std::string::npos);
    CHECK(out.find(R"("\u009b31m","\u202egnp.exe")") != std::string::npos);
    REQUIRE(run_cmd({"show", t.path, "--json", "--run", "zzzz"}, out) == 0);
    CHECK(out.empty());

    // Colour, when asked for (stdout a terminal).
    std::ostringstream o, e;
    REQUIRE(audit_command({"show", t.path}, o, e, true) == 0);
    CHECK(o.str().find("\033[31mFAILED\033[0m") != std::string::npos);

    // Usage errors: one line, exit 2.
    for (std::vector<std::string> bad : {std::vector<std::string>{"show", t.path, "--since", "yesterday"},
                                         {"show", t.path, "--bogus"},
                                         {"show", t.path, "--run"},
                                         {"show", t.path, "--denied=yes"},
                                         {"show", t.path, "extra"},
                                         {"show", t.path + "/nope"},
                                         {"frobnicate"},
                                         {}}) {
        std::ostringstream bo, be;
        CHECK(audit_command(bad, bo, be) == 2);
        CHECK(bo.str().empty());
        const std::string said = be.str();
        INFO(said);
        CHECK(std::count(said.begin(), said.end(), '\n') == 1);
    }
}

// --- the head: the end of each chain is anchored ---------------------------------------------------

namespace {

std::string issue_with(const VerifyReport& r, const std::string& what) {
    for (const auto& i : r.issues)
        if (i.what.find(what) != std::string::npos) return i.file + ":" + std::to_string(i.line);
    return "";
}

}  // namespace

TEST_CASE("head: every append rewrites the stream's head, one fixed-size signed line") {
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 3);
    append_events(log, 4, 2);
    std::string head = read_lines(t.path + "/.audit_events.log.head").at(0);
    auto lines = read_lines(t.path + "/audit_events.log");
    CHECK(head.rfind("{\"stream\":\"audit_events.log\",\"records\":5,\"chain\":\"" + lines[4].substr(lines[4].size() - 66, 64) +
                         "\",\"rebuilt_at\":0,\"sig\":\"",
                     0) == 0);
    CHECK(fs::file_size(t.path + "/.audit_events.log.head") == 320);
    CHECK(check(t.path).issues.empty());
    CHECK(check(t.path).notes.empty());
}

TEST_CASE("head: records cut off the end are found, and stay found after later appends") {
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 10, Stream::execution);
    std::string path = t.path + "/execution_audit.log";
    auto lines = read_lines(path);
    SECTION("the last record") {
        lines.pop_back();
        write_lines(path, lines);
        auto r = check(t.path);
        INFO(issues_text(r));
        REQUIRE(r.issues.size() == 1);
        CHECK(r.issues[0].file == path);
        CHECK(r.issues[0].line == 10);
        CHECK(r.issues[0].what.find("the newest records were cut off: the head counts 10 records") == 0);
        std::string out;
        CHECK(run_cmd({"verify", t.path}, out) == 1);
        CHECK(out.find("execution_audit.log: 9 records, 1 problem") != std::string::npos);
        CHECK(out.find(path + ":10: the newest records were cut off") != std::string::npos);
        // The next run continues from the head: the gap is still visible where it is.
        append_events(log, 11, 2, Stream::execution);
        r = check(t.path);
        INFO(issues_text(r));
        CHECK(issue_with(r, "record deleted, inserted or reordered") == path + ":10");
    }
    SECTION("the last three, the file's newline left intact") {
        lines.resize(7);
        write_lines(path, lines);
        CHECK(issue_with(check(t.path), "the newest records were cut off") == path + ":8");
    }
    SECTION("the file emptied") {
        write_lines(path, {});
        CHECK(issue_with(check(t.path), "the head counts 10 records") == path + ":1");
    }
}

TEST_CASE("head: a deleted stream file, or one replaced by an older copy, is found") {
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 4, Stream::execution);
    std::string path = t.path + "/execution_audit.log";
    std::string older = t.path + "/older-copy";
    fs::copy_file(path, older);
    append_events(log, 5, 3, Stream::execution);
    CHECK(check(t.path).issues.empty());
    SECTION("deleted") {
        fs::remove(path);
        auto r = check(t.path);
        INFO(issues_text(r));
        CHECK(issue_with(r, "stream file deleted: the head counts 7 records and no file is left") == path + ":0");
        std::string out;
        CHECK(run_cmd({"verify", t.path}, out) == 1);
        CHECK(out.find(path + ": stream file deleted") != std::string::npos);
    }
    SECTION("replaced by an older copy") {
        fs::copy_file(older, path, fs::copy_options::overwrite_existing);
        auto r = check(t.path);
        INFO(issues_text(r));
        REQUIRE(r.issues.size() == 1);
        CHECK(r.issues[0].what.find("head counts 7 records") != std::string::npos);
    }
    SECTION("replaced by another stream's file of the same length") {
        Tmp other;
        auto log2 = open_log(other.path);
        append_events(log2, 100, 7, Stream::execution);
        fs::copy_file(other.path + "/execution_audit.log", path, fs::copy_options::overwrite_existing);
        auto r = check(t.path);
        INFO(issues_text(r));
        CHECK(issue_with(r, "the last record is not the one the head anchors") == path + ":7");
    }
}

TEST_CASE("head: records appended behind hive-py's back are found") {
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 3);
    std::string path = t.path + "/audit_events.log";
    // A forger's correctly chained record (plain SHA-256, no key), the head left as it was.
    fs::copy_file(t.path + "/.audit_events.log.head", t.path + "/saved-head");
    append_events(log, 4, 1);
    fs::copy_file(t.path + "/saved-head", t.path + "/.audit_events.log.head", fs::copy_options::overwrite_existing);
    auto r = check(t.path);
    INFO(issues_text(r));
    REQUIRE(r.issues.size() == 1);
    CHECK(r.issues[0].line == 4);
    CHECK(r.issues[0].what.find("1 record(s) after the last one the head anchors") == 0);
}

TEST_CASE("head: records a writer added without updating the head are taken in by the next append") {
    // As a writer that died between its records and its head leaves them, or a hive-py that kept no
    // heads: verify names them until the next append counts them in, with no break in the chain.
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 3);
    const std::string head = t.path + "/.audit_events.log.head";
    fs::copy_file(head, t.path + "/saved-head");
    append_events(log, 4, 2);
    fs::copy_file(t.path + "/saved-head", head, fs::copy_options::overwrite_existing);
    CHECK(issue_with(check(t.path), "2 record(s) after the last one the head anchors") != "");
    append_events(log, 6, 1);
    auto r = check(t.path);
    INFO(issues_text(r));
    CHECK(r.issues.empty());
    CHECK(read_lines(head).at(0).find("\"records\":6,") != std::string::npos);
}

TEST_CASE("head: it survives rotation, and a cut after rotation is found") {
    Tmp t;
    auto log = open_log(t.path, 2000);
    for (int i = 0; i < 10; ++i) append_events(log, i * 5, 5);
    REQUIRE(fs::exists(t.path + "/audit_events.log.1.gz"));
    auto r = check(t.path);
    INFO(issues_text(r));
    CHECK(r.issues.empty());
    CHECK(read_lines(t.path + "/.audit_events.log.head").at(0).find("\"records\":50,") != std::string::npos);
    fs::remove(t.path + "/audit_events.log");  // the live file: the newest records
    r = check(t.path);
    CHECK(issue_with(r, "the newest records were cut off: the head counts 50 records") != "");
}

TEST_CASE("head: a missing or damaged head fails verify, the next append rebuilds it, and verify says so") {
    Tmp t;
    auto log = open_log(t.path);
    append_events(log, 1, 4);
    const std::string head = t.path + "/.audit_events.log.head";
    SECTION("missing") {
        fs::remove(head);
        auto r = check(t.path);
        CHECK(issue_with(r, "no head: the end of the chain is not anchored") == head + ":0");
    }
    SECTION("edited") {
        auto text = read_lines(head).at(0);
        text.replace(text.find("\"records\":4"), 11, "\"records\":3");
        write_lines(head, {text});
        CHECK(issue_with(check(t.path), "head unusable: signature does not match") == head + ":0");
    }
    fs::remove(head);
    append_events(log, 5, 1);
    auto r = check(t.path);
    INFO(issues_text(r));
    CHECK(r.issues.empty());
    REQUIRE(r.notes.size() == 1);
    CHECK(r.notes[0] == head + ": the head was rebuilt from the files at record 5 (it was missing or unusable then): "
                               "records cut off before that point would not show");
    std::string out;
    CHECK(run_cmd({"verify", t.path}, out) == 0);
    CHECK(out.find("note: " + head + ": the head was rebuilt") != std::string::npos);
}

TEST_CASE("head: with an HMAC key, a head recomputed without the key is refused") {
    Tmp t;
    const std::string key = "s3cret-key";
    auto log = open_log(t.path, 10 << 20, key);
    append_events(log, 1, 5);
    CHECK(check(t.path, key).issues.empty());
    // The attacker cuts the last record and writes a plain-SHA-256 head for what is left.
    std::string path = t.path + "/audit_events.log";
    auto lines = read_lines(path);
    lines.pop_back();
    write_lines(path, lines);
    Tmp scratch;
    write_lines(scratch.path + "/audit_events.log", lines);
    fs::remove(t.path + "/.audit_events.log.head");
    {
        auto forger = open_log(scratch.path);
        append_events(forger, 99, 1);  // makes the forger's head: rebuilt, unsigned
    }
    auto forged_head = read_lines(scratch.path + "/.audit_events.log.head").at(0);
    write_lines(t.path + "/.audit_events.log.head", {forged_head});
    auto r = check(t.path, key);
    INFO(issues_text(r));
    CHECK(issue_with(r, "head unusable: signature does not match (head edited or forged, or the HMAC key is wrong)") != "");
}

TEST_CASE("syslog export: RFC 5424 text, with the structured data's values escaped") {
    SyslogExport::Message m;
    m.severity = 4;
    m.msgid = "run";
    m.timestamp = "2026-12-04T18:30:00.123456Z";
    m.params = {{"run_id", "ab\"c]d\\e"}, {"chain", std::string(64, 'f')}};
    m.record = R"({"run_id":"x"})";
    CHECK(SyslogExport::format(m, "my host", 42) ==
          "<108>1 2026-12-04T18:30:00.123456Z my_host hive-py 42 run [hive@32473 run_id=\"ab\\\"c\\]d\\\\e\" chain=\"" +
              std::string(64, 'f') + "\"] {\"run_id\":\"x\"}");
    m.msgid = "";
    m.severity = 99;
    CHECK(SyslogExport::format(m, "", 1).rfind("<111>1 2026-12-04T18:30:00.123456Z - hive-py 1 - [hive@32473 ", 0) == 0);
    // A socket that is not there: not connected, nothing sent, one reason kept.
    SyslogExport gone("/nonexistent-hive-dir/log.sock");
    CHECK_FALSE(gone.connected());
    CHECK_FALSE(gone.send(m));
    REQUIRE(gone.failures().size() == 1);
    CHECK(gone.failures()[0].find("connect(/nonexistent-hive-dir/log.sock): ENOENT") == 0);
}

TEST_CASE("journald: the native datagram has one KEY=value line a field, a newline in a value in binary form") {
    SyslogExport::Message m;
    m.severity = 4;
    m.msgid = "security";
    m.timestamp = "2026-12-04T18:30:00.123456Z";
    m.params = {{"run_id", "abc"}, {"script", "two\nlines"}};
    m.record = "{\"k\":1}";
    const std::string d = SyslogExport::format_journal(m);
    CHECK(d.rfind("MESSAGE={\"k\":1}\nPRIORITY=4\nSYSLOG_FACILITY=13\nSYSLOG_IDENTIFIER=hive-py\nHIVE_MSGID=security\n", 0) == 0);
    CHECK(d.find("HIVE_RUN_ID=abc\n") != std::string::npos);
    const std::string bin = std::string("HIVE_SCRIPT\n") + std::string("\x09\0\0\0\0\0\0\0", 8) + "two\nlines\n";
    CHECK(d.find(bin) != std::string::npos);
    CHECK(SyslogExport::is_journal_socket("/run/systemd/journal/socket"));
    CHECK_FALSE(SyslogExport::is_journal_socket("/dev/log"));
}
