// security.monitoring.syslog_socket: every run record and security event reaches a real rsyslogd (started
// here, on its own socket, writing to a file the test reads) as RFC 5424 structured syslog, and a
// missing socket costs a warning and a security event, never the run.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "run.h"

using namespace hivetest;

namespace {

// rsyslogd -n with imuxsock on DIR/log.sock only, every message as
// PRI|APP-NAME|MSGID|STRUCTURED-DATA|MSG into DIR/out.log.
struct Rsyslogd {
    TempDir dir{"/var/tmp/hive-rsyslog-XXXXXX"};
    pid_t pid = -1;
    std::string socket() const { return dir.path + "/log.sock"; }
    std::string out() const { return dir.path + "/out.log"; }

    Rsyslogd() {
        dir.file("rsyslog.conf",
                 "global(workDirectory=\"" + dir.path + "\" maxMessageSize=\"64k\")\n"
                 "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
                 "input(type=\"imuxsock\" Socket=\"" + socket() + "\" UseSpecialParser=\"off\" ParseHostname=\"on\")\n"
                 "template(name=\"fields\" type=\"string\" string=\"%pri%|%app-name%|%msgid%|%structured-data%|%msg%\\n\")\n"
                 "*.* action(type=\"omfile\" file=\"" + out() + "\" template=\"fields\")\n");
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            std::string conf = dir.path + "/rsyslog.conf", pidfile = dir.path + "/rsyslogd.pid";
            execl("/usr/sbin/rsyslogd", "rsyslogd", "-n", "-f", conf.c_str(), "-i", pidfile.c_str(), (char*)nullptr);
            _exit(127);
        }
        for (int i = 0; i < 200 && !exists(socket()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
        INFO("rsyslogd (apt-get install rsyslog) did not create " << socket());
        REQUIRE(exists(socket()));
    }
    ~Rsyslogd() {
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, nullptr, 0);
        }
    }
    // The lines of out.log once `n` have arrived (bounded wait: rsyslog writes asynchronously).
    std::vector<std::string> wait_lines(std::size_t n) const {
        std::vector<std::string> ls;
        for (int i = 0; i < 200; ++i) {
            ls = lines(read_file(out()));
            if (ls.size() >= n) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        return ls;
    }
};

std::vector<std::string> split(const std::string& s, char sep, std::size_t max_fields) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (out.size() + 1 < max_fields) {
        std::size_t p = s.find(sep, start);
        if (p == std::string::npos) break;
        out.push_back(s.substr(start, p - start));
        start = p + 1;
    }
    out.push_back(s.substr(start));
    return out;
}

}  // namespace

TEST_CASE("syslog: run records and security events reach rsyslogd as RFC 5424 with their chain values", "[syslog]") {
    Rsyslogd rs;
    LogDir logs;
    TempDir d;
    auto pol = d.file("p.yml", "security:\n  monitoring:\n    syslog_socket: " + rs.socket() + "\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "try:\n    open('/etc/shadow')\nexcept OSError: pass\nprint('done')"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "done\n");
    CHECK(without_closing_line(r.err).empty());  // only hive-py's line naming the denial

    auto run_line = lines(logs.runs()).at(0);
    auto sec_lines = lines(logs.security());
    REQUIRE(sec_lines.size() == 1);  // the denial
    auto got = rs.wait_lines(2);
    INFO(read_file(rs.out()));
    REQUIRE(got.size() == 2);

    // The denial first (security events are written before the run record), then the run.
    auto sec = split(got[0], '|', 5);
    REQUIRE(sec.size() == 5);
    CHECK(sec[0] == "109");  // facility 13 (log audit) * 8 + notice: a medium security event
    CHECK(sec[1] == "hive-py");
    CHECK(sec[2] == "security");
    CHECK(sec[3].find("[hive@32473 run_id=\"") == 0);
    CHECK(sec[3].find("stream=\"security_events.log\"") != std::string::npos);
    CHECK(sec[3].find("kind=\"denied\"") != std::string::npos);
    CHECK(sec[3].find("chain=\"" + sec_lines[0].substr(sec_lines[0].size() - 66, 64) + "\"") != std::string::npos);
    CHECK(sec[4] == sec_lines[0]);  // the record as the local trail holds it

    auto run = split(got[1], '|', 5);
    REQUIRE(run.size() == 5);
    CHECK(run[0] == "108");  // warning: the run had a denial
    CHECK(run[2] == "run");
    CHECK(run[3].find("stream=\"execution_audit.log\"") != std::string::npos);
    CHECK(run[3].find("denials=\"1\"") != std::string::npos);
    // The remote copy holds the local head's chain value: what cutting the local files cannot change.
    const std::string chain = run_line.substr(run_line.size() - 66, 64);
    CHECK(run[3].find("chain=\"" + chain + "\"") != std::string::npos);
    CHECK(read_file(logs.path + "/.execution_audit.log.head").find("\"chain\":\"" + chain + "\"") != std::string::npos);
    CHECK(run[4] == run_line);

    // A clean run is info (6).
    REQUIRE(hive({"--policy", pol, "--log-dir", logs.path, "-c", "pass"}).exit_code == 0);
    got = rs.wait_lines(3);
    REQUIRE(got.size() == 3);
    CHECK(got[2].rfind("110|hive-py|run|", 0) == 0);
}

TEST_CASE("syslog: a missing socket costs a warning and a security event, never the run", "[syslog]") {
    LogDir logs;
    TempDir d;
    const std::string missing = logs.path + "/no-such.sock";
    auto pol = d.file("p.yml", "security:\n  monitoring:\n    syslog_socket: " + missing + "\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c", "import sys; print('ran'); sys.exit(3)"});
    CHECK(r.exit_code == 3);  // the script's own code
    CHECK(r.out == "ran\n");
    auto warn = grep(r.err, "hive-py: warning: syslog export to " + missing + " failed: connect(" + missing + "): ENOENT");
    CHECK(warn.size() == 1);
    CHECK(lines(r.err).size() == 1);
    CHECK(lines(logs.runs()).size() == 1);
    auto sec = grep(logs.security(), "\"kind\":\"syslog_unreachable\"");
    REQUIRE(sec.size() == 1);
    CHECK(sec[0].find("\"severity\":\"high\"") != std::string::npos);
    CHECK(hive({"audit", "verify", logs.path}).exit_code == 0);
}

TEST_CASE("syslog: a receiver that goes away mid-run is a warning, the run's record is kept", "[syslog]") {
    LogDir logs;
    TempDir d;
    auto rs = std::make_unique<Rsyslogd>();
    const std::string sock = rs->socket();
    TempDir policy_dir("/var/tmp/hive-policy-XXXXXX");  // outside the writable path
    auto pol = policy_dir.file("p.yml", "security:\n  filesystem:\n    allowed_paths: [\"" + d.path +
                                            "\"]\n  monitoring:\n    syslog_socket: " + sock + "\n");
    // The script stops the receiver (through a file the test watches) before its denial is exported.
    const std::string flag = d.path + "/stop";
    std::thread stopper([&] {
        for (int i = 0; i < 400 && !exists(flag); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        rs.reset();  // rsyslogd gone; its socket file stays, refusing
    });
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "import time\nopen('" + flag + "', 'w').close()\ntime.sleep(1.5)\n"
                   "try:\n    open('/etc/shadow')\nexcept OSError: pass\n"});
    stopper.join();
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(grep(r.err, "hive-py: warning: syslog export to " + sock + " failed: send(" + sock + "):").size() == 1);
    CHECK(lines(logs.runs()).size() == 1);
    CHECK(grep(logs.security(), "\"kind\":\"syslog_unreachable\"").size() == 1);
    CHECK(grep(logs.security(), "\"kind\":\"denied\"").size() == 1);
}

TEST_CASE("syslog: an alert goes out with the alert severity", "[syslog]") {
    Rsyslogd rs;
    LogDir logs;
    TempDir d;
    auto pol = d.file("p.yml", "security:\n  monitoring:\n    alert_thresholds: {execution_time: 0.001}\n"
                               "    syslog_socket: " + rs.socket() + "\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c", "pass"});
    CHECK(r.exit_code == 0);
    CHECK(grep(r.err, "hive-py: alert: execution_time").size() == 1);
    auto got = rs.wait_lines(2);
    INFO(read_file(rs.out()));
    REQUIRE(got.size() == 2);
    CHECK(got[0].rfind("105|hive-py|alert|", 0) == 0);  // facility 13 * 8 + alert (1)
    CHECK(got[0].find("kind=\"alert\"") != std::string::npos);
    CHECK(got[1].rfind("108|hive-py|run|", 0) == 0);    // a run with an alert: warning
}

TEST_CASE("journald: a socket named .../journal/socket gets journald's native protocol", "[syslog][journald]") {
    // No journald runs here: the test is the receiver, on a socket of its own named as journald's is, and
    // reads the datagrams as journald would parse them (KEY=value lines; binary form for a newline).
    TempDir dir{"/var/tmp/hive-journal-XXXXXX"};
    REQUIRE(mkdir((dir.path + "/journal").c_str(), 0755) == 0);
    const std::string sock = dir.path + "/journal/socket";
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    LogDir logs;
    PolicyDir pd;
    auto pol = pd.file("p.yml", "security:\n  monitoring:\n    syslog_socket: " + sock + "\n");
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c", "print('ran')"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::vector<std::map<std::string, std::string>> msgs;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        std::map<std::string, std::string> fields;
        for (const auto& line : lines(std::string(buf, std::size_t(n)))) {
            auto eq = line.find('=');
            if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
        }
        msgs.push_back(fields);
    }
    close(fd);
    REQUIRE(!msgs.empty());
    const auto& run = msgs.back();  // the run record comes last
    CHECK(run.at("SYSLOG_IDENTIFIER") == "hive-py");
    CHECK(run.at("SYSLOG_FACILITY") == "13");
    CHECK(run.at("HIVE_MSGID") == "run");
    const std::string local = lines(logs.runs()).at(0);
    CHECK(run.at("MESSAGE") == local);  // the record as written, its chain value included
    CHECK(local.find("\"chain\":\"" + run.at("HIVE_CHAIN") + "\"") != std::string::npos);
    CHECK(local.find("\"run_id\":\"" + run.at("HIVE_RUN_ID") + "\"") != std::string::npos);
    CHECK(run.count("PRIORITY") == 1);
}
