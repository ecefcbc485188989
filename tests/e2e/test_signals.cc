// Signals sent to hive-py itself reach the script; a hive-py that is killed takes its sandbox with it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "run.h"

using namespace hivetest;

namespace {

// hive-py started in the background, its stdout on a pipe.
struct Background {
    pid_t pid = -1;
    int out = -1;
    std::string seen;
    explicit Background(const std::vector<std::string>& args) {
        int p[2];
        REQUIRE(pipe2(p, O_CLOEXEC) == 0);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            dup2(p[1], 1);
            std::vector<std::string> argv{hive_bin()};
            argv.insert(argv.end(), args.begin(), args.end());
            std::vector<char*> c;
            for (auto& a : argv) c.push_back(a.data());
            c.push_back(nullptr);
            execv(c[0], c.data());
            _exit(127);
        }
        close(p[1]);
        out = p[0];
    }
    // Read stdout until `what` appears (bounded).
    bool wait_for(const std::string& what, int seconds = 20) {
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
        while (seen.find(what) == std::string::npos && std::chrono::steady_clock::now() < until) {
            pollfd f{out, POLLIN, 0};
            if (poll(&f, 1, 100) == 1) {
                char b[4096];
                ssize_t n = read(out, b, sizeof b);
                if (n <= 0) break;
                seen.append(b, std::size_t(n));
            }
        }
        return seen.find(what) != std::string::npos;
    }
    int finish() {
        wait_for("\x01", 20);  // drain until EOF (never matches)
        int st = 0;
        waitpid(pid, &st, 0);
        close(out);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
};

std::string processes_with(const std::string& tag) {
    return run({"/usr/bin/pgrep", "-f", tag}).out;
}

}  // namespace

TEST_CASE("signals: SIGTERM sent to hive-py reaches the script", "[signals]") {
    LogDir logs;
    Background b({"--log-dir", logs.path, "-c",
                  "import os, signal, sys, time\n"
                  // os.write, not print: the signal may land while the main code is still inside print().
                  "def on_term(n, f):\n    os.write(1, b'got TERM\\n'); sys.exit(3)\n"
                  "signal.signal(signal.SIGTERM, on_term)\n"
                  "print('ready', flush=True)\n"
                  "time.sleep(30)\n"});
    REQUIRE(b.wait_for("ready\n"));
    kill(b.pid, SIGTERM);
    CHECK(b.finish() == 3);
    CHECK(b.seen == "ready\ngot TERM\n");
}

TEST_CASE("signals: SIGINT sent to hive-py is a KeyboardInterrupt in the script", "[signals]") {
    LogDir logs;
    Background b({"--log-dir", logs.path, "-c", "import time\nprint('ready', flush=True)\ntime.sleep(30)\n"});
    REQUIRE(b.wait_for("ready\n"));
    kill(b.pid, SIGINT);
    CHECK(b.finish() == 130);
    CHECK(grep(logs.runs(), "\"ended\":\"signal\"").size() == 1);
}

TEST_CASE("signals: a hive-py killed with SIGKILL takes the whole sandbox with it", "[signals]") {
    LogDir logs;
    const std::string tag = "hive-sigkill-" + std::to_string(getpid());
    Background b({"--log-dir", logs.path, "-c",
                  "import os, time\n"
                  "if os.fork() == 0:\n    time.sleep(60)\n    os._exit(0)\n"
                  "print('ready', flush=True)\n"
                  "time.sleep(60)  # " + tag + "\n"});
    REQUIRE(b.wait_for("ready\n"));
    REQUIRE(!processes_with(tag).empty());
    kill(b.pid, SIGKILL);
    b.finish();
    // The kernel delivers the parent-death signal to the sandbox's init; its namespace goes with it.
    std::string left;
    for (int i = 0; i < 40 && !(left = processes_with(tag)).empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(left.empty());
}

namespace {

// The cgroup directory of `pid` in the pids hierarchy, or "" where there is none (cgroup v1 pids
// controller or a cgroup v2 tree; the same lookup hive-py makes).
std::string pids_cgroup_dir_of(pid_t pid) {
    std::ifstream mounts("/proc/self/mounts");
    std::string dev, mnt, type, opts, rest, v1, v2;
    while (mounts >> dev >> mnt >> type >> opts) {
        std::getline(mounts, rest);
        if (type == "cgroup" && ("," + opts + ",").find(",pids,") != std::string::npos) v1 = mnt;
        if (type == "cgroup2" && v2.empty()) v2 = mnt;
    }
    std::ifstream cg("/proc/" + std::to_string(pid) + "/cgroup");
    std::string line;
    while (std::getline(cg, line)) {
        auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        if (!v1.empty() && ("," + ctrls + ",").find(",pids,") != std::string::npos) return v1 + path;
        if (v1.empty() && ctrls.empty() && !v2.empty()) return v2 + path;
    }
    return "";
}

}  // namespace

TEST_CASE("signals: the pids cgroup a SIGKILLed hive-py leaves is cleared by a later run, and no live one",
          "[signals][cgroup]") {
    if (geteuid() != 0) {
        WARN("SKIPPED: the per-run pids cgroup is made for root runs only");
        return;
    }
    LogDir logs;
    Background b({"--log-dir", logs.path, "-c", "import time\nprint('ready', flush=True)\ntime.sleep(60)\n"});
    REQUIRE(b.wait_for("ready\n"));
    // The sandbox's init is hive-py's child; its cgroup is the run's.
    std::string init_pid = run({"/usr/bin/pgrep", "-P", std::to_string(b.pid)}).out;
    REQUIRE(!init_pid.empty());
    const std::string run_cg = pids_cgroup_dir_of(pid_t(std::atoi(init_pid.c_str())));
    INFO("run cgroup: " << run_cg);
    if (run_cg.empty() || run_cg.find("/hive-py-") == std::string::npos) {
        kill(b.pid, SIGKILL);
        b.finish();
        WARN("SKIPPED: no per-run pids cgroup on this machine");
        return;
    }
    kill(b.pid, SIGKILL);
    b.finish();
    // The sandbox dies with hive-py, but nobody was left to remove the cgroup.
    for (int i = 0; i < 40 && !hivetest::read_file(run_cg + "/cgroup.procs").empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(hivetest::read_file(run_cg + "/cgroup.procs").empty());
    REQUIRE(std::filesystem::is_directory(run_cg));

    // Left for over a minute (its time set back), it goes with the next run; a cgroup made a moment ago
    // (a run starting beside this one) stays.
    timespec old[2];
    clock_gettime(CLOCK_REALTIME, &old[0]);
    old[0].tv_sec -= 120;
    old[1] = old[0];
    REQUIRE(utimensat(AT_FDCWD, run_cg.c_str(), old, 0) == 0);
    const std::string base = run_cg.substr(0, run_cg.rfind('/'));
    char fresh_name[40];
    std::snprintf(fresh_name, sizeof fresh_name, "hive-py-%016llx", 0xfeed0000ULL + unsigned(getpid()));
    const std::string fresh = base + "/" + fresh_name;
    REQUIRE(mkdir(fresh.c_str(), 0755) == 0);

    Outcome h = hive({"--log-dir", logs.path, "-c", "print('next run')"});
    CHECK(h.exit_code == 0);
    CHECK(h.out == "next run\n");
    CHECK_FALSE(std::filesystem::exists(run_cg));
    CHECK(std::filesystem::is_directory(fresh));
    rmdir(fresh.c_str());
}
