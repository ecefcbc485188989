// End-to-end tests of python3's command line under hive-py (issue 18): the same flags, attached and
// combined forms, directories and zipapps run under hive-py and under Debian's `python3 -I`, and the
// user sees the same stdout, stderr and exit code.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "run.h"

using hivetest::LogDir;
using hivetest::Outcome;
using hivetest::RunOptions;
using hivetest::TempDir;

namespace {

const std::string& log_dir() { return hivetest::shared_log_dir(); }
Outcome hv(const std::vector<std::string>& args, const RunOptions& opts = {}) { return hivetest::hive_logged(args, opts); }

RunOptions in_dir(const std::string& cwd) {
    RunOptions o;
    o.cwd = cwd;
    return o;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string describe(const Outcome& o) {
    return "exit=" + std::to_string(o.exit_code) + " signal=" + std::to_string(o.term_signal) +
           "\n--- stdout ---\n" + o.out + "\n--- stderr ---\n" + o.err;
}

Outcome expect_parity(const std::vector<std::string>& args, const RunOptions& opts) {
    Outcome h = hv(args, opts);
    Outcome p = hivetest::python(args, opts);
    INFO("args: " << args.front());
    INFO("hive-py: " << describe(h));
    INFO("python3 -I: " << describe(p));
    CHECK(h.out == p.out);
    CHECK(h.err == p.err);
    CHECK(h.exit_code == p.exit_code);
    CHECK(h.term_signal == 0);
    return h;
}

}  // namespace

TEST_CASE("optimisation: -O and -OO: asserts and __debug__ gone, then docstrings too", "[flags][parity]") {
    TempDir t;
    t.file("opt.py", "import sys\ndef f():\n    'doc'\nassert False, 'kept'\n"
                     "print(__debug__, sys.flags.optimize, f.__doc__)\n");
    expect_parity({"-O", "opt.py"}, in_dir(t.path));
    Outcome oo = expect_parity({"-OO", "opt.py"}, in_dir(t.path));
    CHECK(oo.out == "False 2 None\n");
    // Without the flag the assert fails, as under python3.
    Outcome plain = expect_parity({"opt.py"}, in_dir(t.path));
    CHECK(plain.exit_code == 1);
    CHECK(contains(plain.err, "AssertionError: kept"));
}

TEST_CASE("flags -u -B -q -b -bb -d and the no-ops -E -s -I -P: sys.flags and the streams as python3 sets them", "[flags][parity]") {
    TempDir t;
    // sys.dont_write_bytecode is True under hive-py with or without -B (README): shown with -B only.
    expect_parity({"-B", "-c", "import sys; print(sys.dont_write_bytecode, sys.flags.dont_write_bytecode)"},
                  in_dir(t.path));
    const std::string show = "import sys; print(sys.stdout.write_through, "
                             "sys.stdout.line_buffering, sys.flags.quiet, sys.flags.bytes_warning, sys.flags.debug, "
                             "sys.flags.isolated, sys.flags.ignore_environment, sys.flags.no_user_site)";
    for (const std::vector<std::string>& flags :
         {std::vector<std::string>{"-u"}, {"-B"}, {"-q"}, {"-b"}, {"-bb"}, {"-d"}, {"-E", "-s", "-I", "-P"}, {"-uEq"}}) {
        std::vector<std::string> args = flags;
        args.insert(args.end(), {"-c", show});
        expect_parity(args, in_dir(t.path));
    }
    CHECK(hv({"-u", "-c", show}, in_dir(t.path)).out == "True False 0 0 0 1 1 1\n");
}

TEST_CASE("warnings and options: -W and -X: warnings filters, dev mode, tracemalloc, faulthandler", "[flags][parity]") {
    TempDir t;
    t.file("warn.py", "import warnings, sys\nwarnings.warn('careful', UserWarning)\nprint('after', sys.warnoptions)\n");
    Outcome e = expect_parity({"-W", "error", "warn.py"}, in_dir(t.path));
    CHECK(e.exit_code == 1);
    CHECK(contains(e.err, "UserWarning: careful"));
    expect_parity({"-Werror", "warn.py"}, in_dir(t.path));
    expect_parity({"-W", "ignore", "warn.py"}, in_dir(t.path));
    const std::string show = "import sys, faulthandler, tracemalloc; print(sys.flags.dev_mode, sys._xoptions, "
                             "sys.warnoptions, faulthandler.is_enabled(), tracemalloc.is_tracing())";
    Outcome dev = expect_parity({"-X", "dev", "-c", show}, in_dir(t.path));
    CHECK(dev.out == "True {'dev': True} ['default'] True False\n");
    expect_parity({"-Xdev", "-Wdefault", "-c", show}, in_dir(t.path));
    expect_parity({"-X", "tracemalloc=3", "-X", "faulthandler", "-Xsomething=else", "-c", show}, in_dir(t.path));
    expect_parity({"-X", "int_max_str_digits=5000", "-c", "import sys; print(sys.flags.int_max_str_digits)"},
                  in_dir(t.path));
}

TEST_CASE("attached and combined forms: -cCODE, -mMOD, -uBc CODE, --check-hash-based-pycs", "[flags][parity]") {
    TempDir t;
    // In ./data, which the default policy grants: the rest of a working directory in the host's /tmp is
    // hidden by the run's private /tmp.
    std::filesystem::create_directories(t.path + "/data");
    t.file("data/data.json", "{\"b\": [1, 2], \"a\": null}\n");
    expect_parity({"-cimport sys; print(sys.argv)", "x"}, in_dir(t.path));
    expect_parity({"-uBc", "import sys; print(sys.argv, sys.flags.dont_write_bytecode)", "y"}, in_dir(t.path));
    expect_parity({"-mjson.tool", "--sort-keys", "data/data.json"}, in_dir(t.path));
    expect_parity({"-Om", "json.tool", "data/data.json"}, in_dir(t.path));
    expect_parity({"--check-hash-based-pycs", "never", "-c", "print('ok')"}, in_dir(t.path));
}

TEST_CASE("flag -x skips the first line, line numbers kept", "[flags][parity]") {
    TempDir t;
    t.file("dos.py", "not python at all\nimport sys\nraise ValueError(sys.argv)\n");
    Outcome h = expect_parity({"-x", "dos.py", "a"}, in_dir(t.path));
    CHECK(h.exit_code == 1);
    CHECK(contains(h.err, "line 3"));
}

TEST_CASE("a directory and a zipapp with __main__.py run as under python3", "[flags][parity]") {
    TempDir t;
    std::filesystem::create_directories(t.path + "/app");
    t.file("app/__main__.py", "import sys, helper\nprint(__name__, __spec__.name, sys.argv, sys.path[0].endswith(sys.argv[0]),"
                              " helper.X)\nraise SystemExit(helper.X)\n");
    t.file("app/helper.py", "X = 7\n");
    expect_parity({"app", "a1"}, in_dir(t.path));
    Outcome d = expect_parity({"app/", "a1"}, in_dir(t.path));
    CHECK(d.exit_code == 7);
    CHECK(d.out == "__main__ __main__ ['app/', 'a1'] True 7\n");
    Outcome z = hivetest::run({"/usr/bin/python3.11", "-I", "-m", "zipapp", t.path + "/app", "-o", t.path + "/app.pyz"});
    REQUIRE(z.exit_code == 0);
    Outcome zh = expect_parity({"app.pyz", "z"}, in_dir(t.path));
    CHECK(zh.exit_code == 7);
    CHECK(zh.out == "__main__ __main__ ['app.pyz', 'z'] True 7\n");
    // Named by an absolute path from elsewhere: the run's plan lets the sandbox read it.
    expect_parity({t.path + "/app.pyz"}, in_dir("/"));
    expect_parity({t.path + "/app"}, in_dir("/"));
}

TEST_CASE("sys.orig_argv: python3's flags as given, hive-py's own options left out", "[flags][parity]") {
    TempDir t;
    t.file("o.py", "import sys, json\nprint(json.dumps(sys.orig_argv[1:]))\n");
    Outcome p = hivetest::python({"-uOWdefault", "-X", "dev", "o.py", "--policy", "a"}, in_dir(t.path));
    REQUIRE(p.exit_code == 0);
    // hive-py's own options mixed in (hv() puts --log-dir first) are not shown.
    Outcome h = hv({"-uOWdefault", "--log-dir=" + log_dir(), "-X", "dev", "o.py", "--policy", "a"}, in_dir(t.path));
    CHECK(h.exit_code == 0);
    // python3's list starts ["-I", ...] (hivetest::python runs python3 -I); hive-py's has no -I.
    CHECK(h.out == "[\"-uOWdefault\", \"-X\", \"dev\", \"o.py\", \"--policy\", \"a\"]\n");
    CHECK(p.out == "[\"-I\", \"-uOWdefault\", \"-X\", \"dev\", \"o.py\", \"--policy\", \"a\"]\n");
}

TEST_CASE("flags that cannot apply and unknown ones: exit 2, one line naming the flag", "[flags][usage]") {
    TempDir t;
    t.file("ok.py", "print('ran')\n");
    std::filesystem::create_directories(t.path + "/nomain");
    struct Case { std::vector<std::string> args; std::string line; };
    const Case cases[] = {
        {{"-i", "ok.py"}, "hive-py: error: option -i (inspect interactively after the script) cannot apply: hive-py has no "
                          "interactive prompt"},
        {{"-ui", "ok.py"}, "option -i"},
        {{"-z", "ok.py"}, "hive-py: error: unknown option '-z' (hive-py's options stand before the script; see --help)"},
        {{"-uz", "ok.py"}, "unknown option '-z'"},
        {{"-W"}, "argument expected for the -W option"},
        {{"-X"}, "argument expected for the -X option"},
        {{"--check-hash-based-pycs", "sometimes", "ok.py"}, "must be one of 'default', 'always', or 'never'"},
        {{"--help-env"}, "--help-env"},
        {{"nomain"}, "can't find '__main__' module in 'nomain'"},
    };
    for (const auto& c : cases) {
        Outcome h = hv(c.args, in_dir(t.path));
        INFO("args: " << c.args[0] << "\n" << describe(h));
        CHECK(h.exit_code == 2);
        CHECK(h.out.empty());
        CHECK(hivetest::lines(h.err).size() == 1);
        CHECK(contains(h.err, c.line));
    }
}

TEST_CASE("a directory's run is hashed by its __main__.py, a zip's by the zip file", "[flags][audit]") {
    TempDir t;
    std::filesystem::create_directories(t.path + "/app");
    t.file("app/__main__.py", "print('main')\n");
    REQUIRE(hivetest::run({"/usr/bin/python3.11", "-I", "-m", "zipapp", t.path + "/app", "-o", t.path + "/app.pyz"})
                .exit_code == 0);
    auto sha = [&](const std::string& file) {
        return hivetest::run({"/usr/bin/python3.11", "-I", "-c",
                              "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
                              file})
            .out.substr(0, 64);
    };
    for (const auto& [script, hashed] : {std::pair<std::string, std::string>{"app", "app/__main__.py"},
                                         {"app.pyz", "app.pyz"}}) {
        LogDir logs;
        Outcome h = hivetest::hive({"--log-dir", logs.path, script}, in_dir(t.path));
        INFO(script << ": " << describe(h));
        CHECK(h.exit_code == 0);
        CHECK(h.out == "main\n");
        CHECK(contains(logs.runs(), "\"script_hash\":\"" + sha(t.path + "/" + hashed) + "\""));
    }
}
