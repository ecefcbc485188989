// Signals sent to hive-py itself reach the script; a hive-py that is killed takes its sandbox with it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
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
