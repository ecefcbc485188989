// The run's plan (host/plan/) as a user meets it: --check-policy shows what the sandbox may read, write
// and execute with the key that grants each; a policy that exposes the HMAC key, the logs, the policy
// file or hive-py itself is refused (exit 2, one line naming the file and the granting key) by a run and
// by --check-policy alike; a path the policy grants is never reached through a symbolic link.
// THREAT-MODEL: "no read/write/exec outside the policy ... paths resolved once without following
// symlinks"; "the logs are tamper-evident ... key outside everything the sandbox can read".
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "run.h"

using namespace hivetest;

namespace {

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

std::string describe(const Outcome& o) {
    return "exit=" + std::to_string(o.exit_code) + "\n--- stdout ---\n" + o.out + "--- stderr ---\n" + o.err;
}

// A directory outside /tmp (which test policies often let the script write), removed at the end.
struct VarDir : TempDir {
    VarDir() : TempDir("/var/tmp/hive-test-plan-XXXXXX") {}
};

RunOptions in_dir(const std::string& cwd) {
    RunOptions o;
    o.cwd = cwd;
    return o;
}

// The run and --check-policy both refuse `policy` with exactly `line` (exit 2, nothing on stdout, no record).
void both_refuse(const std::string& policy, const std::string& cwd, const std::string& line) {
    LogDir logs;
    auto run = hive({"--policy", policy, "--log-dir", logs.path, "-c", "print('ran')"}, in_dir(cwd));
    INFO("run: " << describe(run));
    CHECK(run.exit_code == 2);
    CHECK(run.out.empty());
    CHECK(run.err == "hive-py: error: " + line + "\n");
    CHECK_FALSE(exists(logs.path + "/execution_audit.log"));
    auto checked = hive({"--check-policy", policy, "--log-dir", logs.path}, in_dir(cwd));
    INFO("--check-policy: " << describe(checked));
    CHECK(checked.exit_code == 2);
    CHECK(checked.out.empty());
    CHECK(checked.err == run.err);
}

const char* kKeyTail =
    ", which the script may read: it could read the key and forge the audit chain; keep the key elsewhere";

}  // namespace

TEST_CASE("plan: --check-policy lists what the sandbox may read, write and execute, and which key grants each",
          "[plan][policy]") {
    VarDir d;
    std::filesystem::create_directories(d.path + "/data");
    std::filesystem::create_directories(d.path + "/inputs");
    auto pol = d.file("p.yml",
                      "security:\n"
                      "  execution: {allow_subprocess: true}\n"
                      "  filesystem:\n"
                      "    allowed_paths: [\"./data\"]\n"
                      "    read_only_paths: [\"./inputs\", \"/nonexistent/hive-plan\"]\n"
                      "    exec_paths: [\"/usr/bin/echo\"]\n");
    auto r = hive({"--check-policy", pol}, in_dir(d.path));
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    CHECK(contains(r.out, "#   read  /usr/lib/python3.11   system: the stdlib\n"));
    CHECK(contains(r.out, "#   write /dev/null   system: devices\n"));
    CHECK(contains(r.out, "#   read  " + d.path + "/inputs   security.filesystem.read_only_paths[0]\n"));
    CHECK(contains(r.out, "#   read  /nonexistent/hive-plan   security.filesystem.read_only_paths[1] (does not exist now)\n"));
    CHECK(contains(r.out, "#   write " + d.path + "/data   security.filesystem.allowed_paths[0]\n"));
    CHECK(contains(r.out, "#   exec  /usr/bin/echo   security.filesystem.exec_paths[0]\n"));
    CHECK(contains(r.out, "#   exec  /lib64/ld-linux-x86-64.so.2   system: the ELF interpreter"));
    // The listing is YAML comments: the output still loads back as the same policy.
    auto again = d.file("again.yml", r.out);
    auto r2 = hive({"--check-policy", again}, in_dir(d.path));
    CHECK(r2.exit_code == 0);
    CHECK(r2.out.substr(r2.out.find('\n')) == r.out.substr(r.out.find('\n')));
}

TEST_CASE("plan: an HMAC key any grant lets the script read is refused, naming the granting key", "[plan][logs]") {
    VarDir d;
    VarDir keys;
    const std::string key = keys.file("hmac.key", "s3cret-key", 0600);
    SECTION("exec_paths (the sandbox may read what it may execute)") {
        // The policy: --check-policy said it was valid, and a strict run printed the key.
        auto pol = d.file("p.yml", "security:\n  execution: {allow_subprocess: true}\n  filesystem: {exec_paths: [\"" +
                                       keys.path + "\"]}\n  monitoring: {hmac_key_file: \"" + key + "\"}\n");
        both_refuse(pol, d.path,
                    "security.monitoring.hmac_key_file " + key + " lies inside " + keys.path +
                        " (security.filesystem.exec_paths[0])" + kKeyTail);
    }
    SECTION("allowed_paths") {
        auto pol = d.file("p.yml", "security:\n  filesystem: {allowed_paths: [\"/var/tmp/nothing-here\", \"" +
                                       keys.path + "\"]}\n  monitoring: {hmac_key_file: \"" + key + "\"}\n");
        both_refuse(pol, d.path,
                    "security.monitoring.hmac_key_file " + key + " lies inside " + keys.path +
                        " (security.filesystem.allowed_paths[1])" + kKeyTail);
    }
    SECTION("read_only_paths") {
        auto pol = d.file("p.yml", "security:\n  filesystem: {read_only_paths: [\"" + keys.path +
                                       "\"]}\n  monitoring: {hmac_key_file: \"" + key + "\"}\n");
        both_refuse(pol, d.path,
                    "security.monitoring.hmac_key_file " + key + " lies inside " + keys.path +
                        " (security.filesystem.read_only_paths[0])" + kKeyTail);
    }
    SECTION("a relative ./data, resolved against the working directory") {
        std::filesystem::create_directories(d.path + "/data");
        const std::string k2 = d.file("data/hmac.key", "s3cret-key", 0600);
        auto pol = d.file("p.yml", "security:\n  filesystem: {allowed_paths: [\"./data\"]}\n  monitoring: "
                                   "{hmac_key_file: \"./data/hmac.key\"}\n");
        both_refuse(pol, d.path,
                    "security.monitoring.hmac_key_file " + k2 + " lies inside " + d.path +
                        "/data (security.filesystem.allowed_paths[0])" + kKeyTail);
    }
    SECTION("a key named through a symbolic link into a granted path") {
        REQUIRE(symlink(keys.path.c_str(), (d.path + "/keylink").c_str()) == 0);
        auto pol = d.file("p.yml", "security:\n  filesystem: {read_only_paths: [\"" + keys.path +
                                       "\"]}\n  monitoring: {hmac_key_file: \"" + d.path + "/keylink/hmac.key\"}\n");
        both_refuse(pol, d.path,
                    "security.monitoring.hmac_key_file " + d.path + "/keylink/hmac.key lies inside " + keys.path +
                        " (security.filesystem.read_only_paths[0])" + kKeyTail);
    }
    SECTION("control: the same key outside every grant is accepted") {
        LogDir logs;
        auto pol = d.file("p.yml", "security:\n  monitoring: {hmac_key_file: \"" + key + "\"}\n");
        auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c", "print('ran')"}, in_dir(d.path));
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(r.out == "ran\n");
        CHECK(hive({"--check-policy", pol}, in_dir(d.path)).exit_code == 0);
    }
}

TEST_CASE("plan: the policy file and hive-py itself must not be writable by the script", "[plan][policy]") {
    VarDir d;
    SECTION("a policy inside a path it lets the script write") {
        auto pol = d.file("p.yml", "security:\n  filesystem: {allowed_paths: [\"" + d.path + "\"]}\n");
        both_refuse(pol, d.path,
                    "policy file " + pol + " lies inside the writable path " + d.path +
                        " (security.filesystem.allowed_paths[0]): the script could rewrite the policy of the next "
                        "run; keep the policy elsewhere");
    }
    SECTION("hive-py's own executable inside a writable path") {
        const std::string bin_dir = std::filesystem::path(hive_bin()).parent_path().string();
        const std::string real_bin = std::filesystem::canonical(hive_bin()).string();
        auto pol = d.file("p.yml", "security:\n  filesystem: {allowed_paths: [\"" + bin_dir + "\"]}\n");
        both_refuse(pol, d.path,
                    "hive-py's own executable " + real_bin + " lies inside the writable path " + bin_dir +
                        " (security.filesystem.allowed_paths[0]): the script could replace hive-py for the next run; "
                        "install it elsewhere");
    }
}

TEST_CASE("plan: a granted path reached through a symbolic link is refused, nothing is written where it points",
          "[plan][attack]") {
    // An earlier run (or anyone who could write the working directory) planted ./data -> elsewhere; the
    // next run from that directory would have written there (Landlock and the bind mount follow links).
    VarDir work;
    VarDir elsewhere;
    REQUIRE(symlink(elsewhere.path.c_str(), (work.path + "/data").c_str()) == 0);
    PolicyDir pd;
    auto pol = pd.file("p.yml", "security:\n  filesystem: {allowed_paths: [\"./data\"]}\n");
    const std::string line = "security.filesystem.allowed_paths[0]: " + work.path +
                             "/data is reached through the symbolic link " + work.path + "/data -> " +
                             elsewhere.path + ": hive-py follows no link in the paths a policy grants (an earlier run "
                             "may have planted it); grant the real path (" + elsewhere.path + ") or remove the link";
    both_refuse(pol, work.path, line);
    auto r = hive({"--policy", pol, "-c", "open('data/planted', 'w').write('x')"}, in_dir(work.path));
    CHECK(r.exit_code == 2);
    CHECK_FALSE(exists(elsewhere.path + "/planted"));

    SECTION("a link in a parent component counts too, and a dangling one") {
        VarDir w2;
        REQUIRE(symlink(elsewhere.path.c_str(), (w2.path + "/up").c_str()) == 0);
        auto p2 = pd.file("p2.yml", "security:\n  filesystem: {read_only_paths: [\"" + w2.path + "/up/sub\"]}\n");
        auto r2 = hive({"--check-policy", p2});
        CHECK(r2.exit_code == 2);
        CHECK(contains(r2.err, "security.filesystem.read_only_paths[0]: " + w2.path +
                                   "/up/sub is reached through the symbolic link " + w2.path + "/up -> "));
        REQUIRE(symlink("/nonexistent/target", (w2.path + "/dangling").c_str()) == 0);
        auto p3 = pd.file("p3.yml", "security:\n  filesystem: {allowed_paths: [\"" + w2.path + "/dangling\"]}\n");
        auto r3 = hive({"--check-policy", p3});
        CHECK(r3.exit_code == 2);
        CHECK(contains(r3.err, "/dangling -> /nonexistent/target"));
    }
    SECTION("control: the real path works") {
        auto p4 = pd.file("p4.yml", "security:\n  filesystem: {allowed_paths: [\"" + elsewhere.path + "\"]}\n");
        auto ok = hive({"--policy", p4, "-c", "open('" + elsewhere.path + "/ok', 'w').write('x')"}, in_dir(work.path));
        INFO(describe(ok));
        CHECK(ok.exit_code == 0);
        CHECK(exists(elsewhere.path + "/ok"));
    }
}

TEST_CASE("plan: --check-policy warns a root caller of system paths and secrets, and says when the trail is advisory",
          "[plan][policy]") {
    if (geteuid() != 0) {
        WARN("SKIPPED: the root caller's warnings need root");
        return;
    }
    PolicyDir pd;
    auto etc = pd.file("etc.yml", "security:\n  filesystem: {allowed_paths: [\"/etc\"]}\n");
    auto r = hive({"--check-policy", etc});
    INFO(describe(r));
    CHECK(r.exit_code == 0);  // valid, with warnings
    CHECK(contains(r.err, "hive-py: warning: run by root: security.filesystem.allowed_paths: /etc: a system directory"));
    CHECK(contains(r.err, "/etc/shadow"));
    auto ro = pd.file("ro.yml", "security:\n  filesystem: {read_only_paths: [\"/\"]}\n");
    auto r2 = hive({"--check-policy", ro});
    CHECK(r2.exit_code == 0);
    CHECK(contains(r2.err, "hive-py: warning: run by root: security.filesystem.read_only_paths: /"));
    // A policy with native code: the trail is advisory, and the run record says so too.
    auto native = pd.file("n.yml", "security:\n  imports: {allow: [ctypes]}\n");
    auto r3 = hive({"--check-policy", native});
    CHECK(r3.exit_code == 0);
    CHECK(contains(r3.err, "the event trail is advisory"));
    LogDir logs;
    REQUIRE(hive({"--policy", native, "--log-dir", logs.path, "-c", "pass"}).exit_code == 0);
    CHECK(contains(logs.runs(), "\"trail\":\"advisory\""));
    // And a plain policy says nothing.
    auto plain = pd.file("plain.yml", "security:\n  execution: {timeout_seconds: 10}\n");
    auto r4 = hive({"--check-policy", plain});
    CHECK(r4.exit_code == 0);
    CHECK(r4.err.empty());
}
