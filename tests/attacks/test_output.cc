// Output as a weapon against the unsandboxed parent (THREAT-MODEL: "the unsandboxed parent survives
// anything"; "limits bound the whole run ... an I/O-independent deadline"): a script that prints forever
// while hive-py's caller does not read must still end at timeout_seconds, and --json must not grow the
// parent with the script's output. Every bomb here is bounded: by timeout_seconds, by the bytes the
// script writes, and by the test's own kill.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "run.h"

using namespace hivetest;

namespace {

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

struct Finished {
    int exit_code = -1;
    double seconds = 0;
    long max_rss_kb = 0;  // hive-py's own peak (wait4 of hive-py itself, not of the sandbox)
    std::string out;      // what was read of stdout (empty when nothing reads it)
};

// hive-py ARGS with stdout a pipe that is read only when `read_stdout` (else nobody reads it until the
// end); killed past `bound` seconds.
Finished run_hive(const std::vector<std::string>& args, bool read_stdout, int bound) {
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 2);
        std::vector<char*> argv;
        std::string bin = hive_bin();
        argv.push_back(bin.data());
        std::vector<std::string> copy = args;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        _exit(127);
    }
    close(p[1]);
    Finished f;
    std::thread reader;
    if (read_stdout) {
        reader = std::thread([&] {
            char buf[65536];
            ssize_t n;
            while ((n = read(p[0], buf, sizeof buf)) > 0) f.out.append(buf, std::size_t(n));
        });
    }
    int status = 0;
    rusage ru{};
    for (;;) {
        pid_t w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid) break;
        if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(bound)) {
            kill(pid, SIGKILL);
            wait4(pid, &status, 0, &ru);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (reader.joinable()) reader.join();
    close(p[0]);
    f.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    f.max_rss_kb = ru.ru_maxrss;
    return f;
}

}  // namespace

TEST_CASE("output: a caller that stops reading does not stop the wall clock", "[attack][limits][output]") {
    LogDir logs;
    PolicyDir pd;
    auto pol = pd.file("p.yml", "security:\n  execution:\n    timeout_seconds: 3\n");
    // Prints forever; the caller reads nothing. Before: hive-py blocked in write(1) and never ended.
    auto f = run_hive({"--policy", pol, "--log-dir", logs.path, "-c", "while True: print('x' * 1000)"}, false, 30);
    INFO("exit " << f.exit_code << " after " << f.seconds << " s");
    CHECK(f.exit_code == 124);
    CHECK(f.seconds < 15);  // 3 s, then at most the 5 s the output gets after the run's end
    CHECK(contains(logs.runs(), "\"ended\":\"timeout\""));
    CHECK(contains(logs.runs(), "\"output_undelivered_bytes\":"));
    CHECK(contains(logs.security(), "bytes of the script's output were not taken by hive-py's caller"));
}

TEST_CASE("output: --json keeps a bounded amount of output, says so, and hashes all of it", "[attack][limits][output]") {
    LogDir logs;
    // MiB of output (bounded by the script itself), one bytes object written over and over: wait4's peak
    // is the larger of hive-py's and its sandbox's, and so the sandbox stays small in both builds (a str
    // written is encoded anew each time, and ASan's quarantine keeps every such copy: 99 MB).
    auto output = [&](int mib) {
        return run_hive({"--json", "--log-dir", logs.path, "-c",
                         "import sys\nchunk = b'y' * (1 << 20)\nfor _ in range(" + std::to_string(mib) +
                             "): sys.stdout.buffer.write(chunk)\n"},
                        true, 60);
    };
    auto f = output(64);
    // The same with exactly the 8 MiB that --json keeps: hive-py holds as much, and the build's own
    // overhead (ASan's shadow, redzones and quarantine, which keeps every block freed in the run) is
    // the same in both runs.
    auto kept = output(8);
    INFO("exit " << f.exit_code << ", hive-py peak " << f.max_rss_kb << " KB; with 8 MiB of output "
                 << kept.max_rss_kb << " KB");
    CHECK(f.exit_code == 0);
    CHECK(contains(f.out, "\"stdout_truncated\":true"));
    CHECK(contains(f.out, "\"stdout_bytes\":67108864"));
    CHECK(f.out.size() < (9u << 20));          // the 8 MiB kept, escaped as JSON (plain 'y': 1 byte each)
    CHECK(contains(logs.runs(), "\"stdout_bytes\":67108864"));
    // hive-py's own memory: not the 64 MiB it relayed. The 56 MiB past what it keeps cost it nothing
    // (at most 8 MiB of noise), in either build; and in the normal build, under 64 MB in all.
    REQUIRE(kept.exit_code == 0);
    CHECK_FALSE(contains(kept.out, "\"stdout_truncated\""));
    CHECK(f.max_rss_kb < kept.max_rss_kb + 8 * 1024);
#ifndef HIVE_SANITIZE
    CHECK(f.max_rss_kb < 64 * 1024);
#endif
}

TEST_CASE("output: a slow reader still gets every byte, in order", "[output]") {
    LogDir logs;
    auto f = run_hive({"--log-dir", logs.path, "-c",
                       "import sys\nfor i in range(200000): sys.stdout.write(f'{i}\\n')\n"},
                      true, 60);
    CHECK(f.exit_code == 0);
    std::string expect;
    for (int i = 0; i < 200000; ++i) expect += std::to_string(i) + "\n";
    CHECK(f.out == expect);
}
