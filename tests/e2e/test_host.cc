// End-to-end tests of the hive-py executable: what a user sees when running scripts with it, compared
// with Debian's `python3 -I` where the two must agree (issue 2), and hive-py's own exit codes and limits.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "run.h"

using hivetest::Outcome;
using hivetest::RunOptions;
using hivetest::TempDir;

using hivetest::LogDir;

namespace {


const std::string& log_dir() { return hivetest::shared_log_dir(); }
Outcome hv(const std::vector<std::string>& args, const RunOptions& opts = {}) { return hivetest::hive_logged(args, opts); }

RunOptions in_dir(const std::string& cwd, std::string stdin_data = "") {
    RunOptions o;
    o.cwd = cwd;
    o.stdin_data = std::move(stdin_data);
    return o;
}

// The directory of the hive-py the tests run (a copy outside /tmp when the checkout lies there).
std::string bin_dir() { return std::filesystem::path(hivetest::hive_bin()).parent_path().string(); }

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// Lines of stderr that hive-py itself wrote (its own messages start with "hive-py:").
std::vector<std::string> hive_lines(const std::string& err) { return hivetest::grep(err, "hive-py:"); }

// stderr without hive-py's own lines: what the script wrote.
std::string script_err(const std::string& err) {
    std::string r;
    for (auto& l : hivetest::lines(err))
        if (l.rfind("hive-py:", 0) != 0) r += l + "\n";
    return r;
}

std::string describe(const Outcome& o) {
    return "exit=" + std::to_string(o.exit_code) + " signal=" + std::to_string(o.term_signal) +
           " seconds=" + std::to_string(o.seconds) + "\n--- stdout ---\n" + o.out + "\n--- stderr ---\n" + o.err;
}

// A policy with the given `execution:` lines, /tmp writable.
// Where the tests' policy files go (outside /tmp, which their policies let the script write); one
// directory for the whole test binary, removed at exit.
const hivetest::PolicyDir& policy_dir() {
    static hivetest::PolicyDir d;
    return d;
}

std::string policy_with(const std::string& execution_lines) {
    // The tests' directories in the host's /tmp are what allowed_paths grants: no private /tmp.
    return "security:\n  execution:\n" + execution_lines +
           "  filesystem:\n    allowed_paths: [\"/tmp\"]\n    private_tmp: false\n";
}

std::string unique_tag(const std::string& what) {
    static std::atomic<int> n{0};
    return "hivetag_" + what + "_" + std::to_string(getpid()) + "_" + std::to_string(n++);
}

// Any process whose command line holds `tag` (pgrep excludes itself).
std::string processes_with(const std::string& tag) {
    return hivetest::run({"/usr/bin/pgrep", "-af", tag}).out;
}

// Runs the same arguments under hive-py and python3 -I from the same cwd and checks that the user sees
// the same thing. Returns hive-py's outcome, for checks of its own.
Outcome expect_parity(const std::vector<std::string>& args, const RunOptions& opts) {
    Outcome h = hv(args, opts);
    Outcome p = hivetest::python(args, opts);
    INFO("hive-py: " << describe(h));
    INFO("python3 -I: " << describe(p));
    CHECK(h.out == p.out);
    CHECK(hivetest::without_closing_line(h.err) == p.err);  // hive-py's line naming the run's denials aside
    CHECK(h.exit_code == p.exit_code);
    CHECK(h.term_signal == 0);
    return h;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Parity with python3 -I
// ---------------------------------------------------------------------------------------------------

TEST_CASE("sys.argv: everything after the script reaches it, hive-py-looking options included", "[host][parity]") {
    TempDir t;
    t.file("argv.py", "import sys, json\nprint(json.dumps(sys.argv, ensure_ascii=False))\n");
    expect_parity({"argv.py", "-V", "--policy", "x", "--json", "-h", "--", "-c", "a b", "é", "", "--log-dir=/"},
                  in_dir(t.path));
    Outcome h = hv({"argv.py", "-V", "--policy", "x"}, in_dir(t.path));
    CHECK(h.out == "[\"argv.py\", \"-V\", \"--policy\", \"x\"]\n");
}

TEST_CASE("sys.orig_argv: the command line that started it, the script's part as python3's", "[host][parity]") {
    TempDir t;
    t.file("orig.py", "import sys, json\nprint(json.dumps(sys.orig_argv[sys.orig_argv.index('orig.py'):]))\n");
    expect_parity({"orig.py", "a", "--policy", "x"}, in_dir(t.path));
    // python3's starts with python3's own name and flags; hive-py's with its own name and python3's flags
    // it was given (its own options, like --log-dir here, left out: test_flags).
    Outcome h = hv({"-c", "import sys, os; print(os.path.basename(sys.orig_argv[0]), sys.orig_argv[-3::2])", "a"},
                   in_dir(t.path));
    CHECK(h.exit_code == 0);
    CHECK(h.out == "hive-py ['-c', 'a']\n");
}

TEST_CASE("nothing named: the program comes from stdin, sys.argv [''], as under python3 -I, a terminal is refused",
          "[host][parity]") {
    TempDir t;
    expect_parity({}, in_dir(t.path, "import sys\nprint(sys.argv, __name__)\nsys.exit(3)\n"));
    expect_parity({}, in_dir(t.path, "def f():\n    raise ValueError('from stdin')\nf()\n"));
    // On a terminal python3 would start its interactive prompt; hive-py says it has none, and runs nothing.
    const char* on_pty = "import os, subprocess, sys\n"
                         "m, s = os.openpty()\n"
                         "r = subprocess.run(sys.argv[1:], stdin=s, capture_output=True, text=True, timeout=60)\n"
                         "print(r.returncode)\n"
                         "print(r.stdout + r.stderr, end='')\n";
    Outcome r = hivetest::run({"/usr/bin/python3.11", "-I", "-c", on_pty, hivetest::hive_bin(), "--log-dir", log_dir()}, {});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "2\nhive-py: error: no script given, and stdin is a terminal: hive-py has no interactive mode "
                   "(hive-py script.py | -c CODE | -m MODULE | - < FILE); see --help\n");
}

TEST_CASE("unicode output on stdout and stderr", "[host][parity]") {
    TempDir t;
    t.file("uni.py",
           "import sys\n"
           "print('é 中文 🐝 \\u00e9')\n"
           "print('stderr: ñ 日本 🎉', file=sys.stderr)\n"
           "print(sys.stdout.encoding, sys.stderr.encoding, sys.getfilesystemencoding())\n"
           "sys.stdout.buffer.write(b'raw \\xff\\xfe bytes\\n')\n");
    Outcome h = expect_parity({"uni.py"}, in_dir(t.path));
    CHECK(contains(h.out, "é 中文 🐝 é\n"));
}

TEST_CASE("stdin is passed through to the script", "[host][parity]") {
    TempDir t;
    t.file("cat.py",
           "import sys\n"
           "data = sys.stdin.read()\n"
           "print(len(data), data.upper(), end='')\n"
           "print(repr(sys.stdin.read()))\n");
    std::string input = "line one\nzwei: ü 中\n" + std::string(200000, 'x') + "\nlast\n";
    expect_parity({"cat.py"}, in_dir(t.path, input));
    // And a script that never reads stdin does not hang (small input: the harness must not get EPIPE).
    t.file("noread.py", "print('ok')\n");
    expect_parity({"noread.py"}, in_dir(t.path, "unread\n"));
}

TEST_CASE("option -c CODE with arguments", "[host][parity]") {
    TempDir t;
    expect_parity({"-c", "import sys; print(sys.argv); print(__name__)", "a", "-V", "--policy", "p"},
                  in_dir(t.path));
    expect_parity({"-c", "import sys; sys.exit(sys.stdin.read().strip())"}, in_dir(t.path, "bye"));
}

TEST_CASE("option -m json.tool reads stdin", "[host][parity]") {
    TempDir t;
    std::string doc = "{\"b\": [1, 2, {\"c\": \"é\"}], \"a\": null}";
    expect_parity({"-m", "json.tool"}, in_dir(t.path, doc));
    expect_parity({"-m", "json.tool", "--sort-keys"}, in_dir(t.path, doc));
    expect_parity({"-m", "json.tool"}, in_dir(t.path, "{not json"));  // exit 1 with json.tool's message
}

TEST_CASE("option - reads the program from stdin", "[host][parity]") {
    TempDir t;
    expect_parity({"-", "a", "--json"}, in_dir(t.path, "import sys\nprint(sys.argv, __name__)\nsys.exit(4)\n"));
    expect_parity({"-"}, in_dir(t.path, "def f():\n    raise RuntimeError('from stdin')\nf()\n"));
}

TEST_CASE("sys.exit codes", "[host][parity]") {
    TempDir t;
    for (const char* code : {"0", "3", "255", "None", "True", "'msg'", "'unicode é'", "256"}) {
        SECTION(std::string("sys.exit(") + code + ")") {
            t.file("exit.py", std::string("import sys\nprint('before')\nsys.exit(") + code + ")\n");
            expect_parity({"exit.py"}, in_dir(t.path));
        }
    }
    SECTION("the codes themselves") {
        Outcome h = hv({"-c", "import sys; sys.exit('msg')"}, in_dir(t.path));
        CHECK(h.err == "msg\n");
        CHECK(h.exit_code == 1);
        CHECK(hv({"-c", "import sys; sys.exit(3)"}, in_dir(t.path)).exit_code == 3);
        CHECK(hv({"-c", "import sys; sys.exit(255)"}, in_dir(t.path)).exit_code == 255);
    }
}

TEST_CASE("exit() and quit(), the builtins site adds, end the script as under python3 -I", "[host][parity]") {
    for (const char* code : {"exit(3)", "quit(4)", "exit('bye')", "exit()", "print(repr(exit), repr(quit))"})
        expect_parity({"-c", code}, {});
}

TEST_CASE("builtins, sys._stdlib_dir and the frozen stdlib modules' __file__ are python3's", "[host][parity]") {
    TempDir t;
    t.file("names.py",
           "import builtins, sys, os, codecs, io, posixpath\n"
           "print(sorted(dir(builtins)))\n"
           "print(sys._stdlib_dir, [m.__file__ for m in (os, codecs, io, posixpath)])\n"
           "for n in ('exit', 'quit', 'copyright', 'credits', 'license', 'help'):\n"
           "    o = getattr(builtins, n)\n"
           "    print(n, type(o).__module__, type(o).__name__, sorted(vars(o).items()), repr(o)[:40])\n");
    Outcome h = expect_parity({"names.py"}, in_dir(t.path));
    CHECK(contains(h.out, "/usr/lib/python3.11 ['/usr/lib/python3.11/os.py'"));
    CHECK_FALSE(contains(h.out, "pybind11"));
}

TEST_CASE("an uncaught exception prints the same traceback and exits 1", "[host][parity]") {
    TempDir t;
    t.file("tb.py",
           "def inner(x):\n"
           "    return {}[x]\n"
           "\n"
           "def outer():\n"
           "    try:\n"
           "        inner('clé')\n"
           "    except KeyError as e:\n"
           "        raise ValueError('boom é 中') from e\n"
           "\n"
           "print('partial output')\n"
           "outer()\n");
    Outcome h = expect_parity({"tb.py"}, in_dir(t.path));
    CHECK(h.exit_code == 1);
    CHECK(contains(h.err, "Traceback (most recent call last):\n  File \"/"));
    CHECK(contains(h.err, "ValueError: boom é 中\n"));
    // A syntax error too.
    t.file("syn.py", "print('x')\nif True\n    pass\n");
    expect_parity({"syn.py"}, in_dir(t.path));
}

TEST_CASE("KeyboardInterrupt: python dies by SIGINT, hive-py exits 130", "[host][parity]") {
    TempDir t;
    const char* scripts[] = {
        "print('start', flush=True)\nraise KeyboardInterrupt\n",
        "import os, signal, time\nprint('start', flush=True)\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\n",
    };
    for (const char* s : scripts) {
        t.file("ki.py", s);
        Outcome p = hivetest::python({"ki.py"}, in_dir(t.path));
        Outcome h = hv({"ki.py"}, in_dir(t.path));
        INFO("hive-py: " << describe(h));
        INFO("python3 -I: " << describe(p));
        REQUIRE(p.term_signal == SIGINT);
        REQUIRE(p.exit_code == 130);
        CHECK(h.exit_code == 130);
        CHECK(h.out == p.out);
        CHECK(contains(h.err, "KeyboardInterrupt"));
        // The script's own stderr is python's, byte for byte; hive-py may add its own line.
        CHECK(script_err(h.err) == p.err);
        CHECK(h.seconds < 4);
    }
}

TEST_CASE("a #!/usr/bin/env hive-py script runs directly", "[host][parity]") {
    TempDir t;
    std::string script = t.file("shebang.py",
                                "#!/usr/bin/env hive-py\n"
                                "import sys\n"
                                "print(sys.argv, __name__)\n"
                                "print('é', file=sys.stderr)\n"
                                "sys.exit(7)\n",
                                0755);
    // A clean environment whose PATH finds the built hive-py first.
    Outcome direct = hivetest::run({"/usr/bin/env", "-i", "PATH=" + bin_dir() + ":/usr/bin:/bin", "LANG=C.UTF-8",
                                    "HIVE_LOG_DIR=" + log_dir(), script, "a", "--json", "-V"},
                                   in_dir(t.path));
    Outcome via = hv({script, "a", "--json", "-V"}, in_dir(t.path));
    INFO("direct: " << describe(direct));
    INFO("hive-py script: " << describe(via));
    CHECK(direct.out == via.out);
    CHECK(direct.err == via.err);
    CHECK(direct.exit_code == 7);
    CHECK(via.exit_code == 7);
    CHECK(direct.out == "['" + script + "', 'a', '--json', '-V'] __main__\n");
}

TEST_CASE("a sibling named like a stdlib module does not shadow the stdlib", "[host][parity]") {
    TempDir t;
    t.file("json.py", "print('SHADOWED')\n");
    t.file("csv.py", "raise SystemExit('SHADOWED csv')\n");
    t.file("main.py", "import json, csv\nprint(json.__file__, csv.__file__)\nprint(json.dumps({'a': 1}))\n");
    expect_parity({"main.py"}, in_dir(t.path));
}

TEST_CASE("hive-py lets a script import its sibling modules (python3 -I does not)", "[host]") {
    TempDir t;
    t.file("helpers.py", "def greet(n):\n    return f'hello {n}'\n");
    t.file("main.py", "import helpers\nprint(helpers.greet('hive'))\n");
    RunOptions elsewhere;  // run from another directory: the script's own folder is what counts
    Outcome h = hv({t.path + "/main.py"}, elsewhere);
    INFO(describe(h));
    CHECK(h.exit_code == 0);
    CHECK(h.out == "hello hive\n");
}

TEST_CASE("stdout closed by the reader (| head -1): the script sees EPIPE as under python3 -I", "[host][parity]") {
    TempDir t;
    t.file("many.py", "for i in range(200000):\n    print('line', i)\n");
    // bash reports the exit code of the first command of the pipe.
    auto piped = [&](const std::string& cmd) {
        return hivetest::run({"/bin/bash", "-c", cmd + " many.py 2>err.txt | head -1; echo \"rc=${PIPESTATUS[0]}\"; cat err.txt"},
                             in_dir(t.path));
    };
    Outcome h = piped(hivetest::hive_bin() + " --log-dir " + log_dir());
    Outcome p = piped("/usr/bin/python3.11 -I");
    INFO("hive-py: " << describe(h));
    INFO("python3 -I: " << describe(p));
    REQUIRE(contains(p.out, "rc=1\n"));
    CHECK(h.out == p.out);
}

TEST_CASE("a monitoring alert does not change what a successful script prints", "[host][parity]") {
    TempDir t;
    // The run crosses the execution_time alert threshold: the script's own stdout and stderr stay python's,
    // and hive-py's alert line follows them.
    std::string pol = t.file("p.yml",
                             "security:\n"
                             "  monitoring:\n"
                             "    alert_thresholds:\n"
                             "      execution_time: 0.2\n");
    t.file("slow.py", "import sys, time\ntime.sleep(0.6)\nprint('done')\nprint('note', file=sys.stderr)\n");
    Outcome h = hv({"--policy", pol, "slow.py"}, in_dir(t.path));
    Outcome p = hivetest::python({"slow.py"}, in_dir(t.path));
    INFO("hive-py: " << describe(h));
    CHECK(h.exit_code == 0);
    CHECK(h.out == p.out);
    // The alerts issue asks for one stderr line per alert: it comes after everything the script wrote,
    // which stays byte-for-byte python's.
    REQUIRE(h.err.size() >= p.err.size());
    CHECK(h.err.substr(0, p.err.size()) == p.err);
    auto extra = hivetest::lines(h.err.substr(p.err.size()));
    REQUIRE(extra.size() == 1);
    CHECK(contains(extra[0], "hive-py: alert: execution_time: execution time"));
    CHECK(contains(extra[0], "threshold of 0.2 s"));
}

// ---------------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------------

TEST_CASE("os.environ holds only the policy's env_passthrough variables and the run's own HOME, TMPDIR, USER", "[host][env]") {
    TempDir t;
    t.file("env.py", "import os, json\nprint(json.dumps(sorted(os.environ)), os.environ.get('LANG'))\n");
    RunOptions o = in_dir(t.path);
    o.env_extra = {{"SECRET_TOKEN", "x"}, {"TZ", "UTC"}};  // LANG=C.UTF-8 comes from the harness

    Outcome d = hv({"env.py"}, o);
    INFO(describe(d));
    CHECK(d.exit_code == 0);
    // TMPDIR and HOME: the private /tmp (security.filesystem.private_tmp); LOGNAME and USER: the
    // caller's login name, for getpass.getuser() (the sandbox cannot read the user database).
    CHECK(d.out == "[\"HOME\", \"LOGNAME\", \"TMPDIR\", \"USER\"] None\n");

    std::string pol = t.file("pass.yml", "security:\n  execution:\n    env_passthrough: [LANG]\n");
    Outcome l = hv({"--policy", pol, "env.py"}, o);
    INFO(describe(l));
    CHECK(l.exit_code == 0);
    CHECK(l.out == "[\"HOME\", \"LANG\", \"LOGNAME\", \"TMPDIR\", \"USER\"] C.UTF-8\n");
}

// ---------------------------------------------------------------------------------------------------
// --json
// ---------------------------------------------------------------------------------------------------

TEST_CASE("option --json prints one JSON result object", "[host][json]") {
    TempDir t;
    t.file("j.py", "import sys\nprint('hi \"é\"')\nprint('oops', file=sys.stderr)\nsys.exit(3)\n");
    Outcome h = hv({"--json", "j.py"}, in_dir(t.path));
    INFO(describe(h));
    CHECK(h.exit_code == 3);
    REQUIRE(h.out.size() > 2);
    CHECK(h.out.front() == '{');
    CHECK(h.out.substr(h.out.size() - 2) == "}\n");
    CHECK(hivetest::lines(h.out).size() == 1);
    CHECK(contains(h.out, "\"success\":false"));
    CHECK(contains(h.out, "\"stdout\":\"hi \\\"é\\\"\\n\""));
    CHECK(contains(h.out, "\"stderr\":\"oops\\n\""));
    CHECK(contains(h.out, "\"return_code\":3"));
    CHECK(contains(h.out, "\"execution_time\":"));
    CHECK_FALSE(contains(h.out, "\"error\":"));
    CHECK(h.err.empty());

    Outcome ok = hv({"--json", "-c", "print(1)"}, in_dir(t.path));
    CHECK(ok.exit_code == 0);
    CHECK(contains(ok.out, "\"success\":true"));
    CHECK(contains(ok.out, "\"stdout\":\"1\\n\""));
    CHECK(contains(ok.out, "\"return_code\":0"));
}

TEST_CASE("option --json reports a timed-out run with error timeout", "[host][json][limits]") {
    TempDir t;
    std::string pol = policy_dir().file("p.yml", policy_with("    timeout_seconds: 1\n"));
    Outcome h = hv({"--policy", pol, "--json", "-c", "import time; print('started', flush=True); time.sleep(30)"},
                   in_dir(t.path));
    INFO(describe(h));
    CHECK(h.exit_code == 124);
    CHECK(h.seconds < 6);
    CHECK(contains(h.out, "\"error\":\"timeout\""));
    CHECK(contains(h.out, "\"success\":false"));
    CHECK(contains(h.out, "\"stdout\":\"started\\n\""));
    CHECK(contains(h.out, "\"return_code\":124"));
}

// ---------------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------------

TEST_CASE("option --check-policy prints the effective policy, or the fault with exit 2", "[host][policy]") {
    TempDir t;
    std::string good = t.file("good.yml",
                              "security:\n"
                              "  execution:\n"
                              "    cpu_seconds: 9\n"
                              "  filesystem:\n"
                              "    allowed_paths: [\"./data\", \"/tmp/x/../y/\"]\n");
    Outcome g = hv({"--check-policy", good}, in_dir(t.path));
    INFO(describe(g));
    CHECK(g.exit_code == 0);
    CHECK(contains(g.out, t.path + "/data"));
    CHECK(contains(g.out, "/tmp/y"));
    CHECK_FALSE(contains(g.out, "./data"));
    CHECK(contains(g.out, "cpu_seconds: 9"));
    CHECK(contains(g.out, "timeout_seconds: 300"));  // defaults filled in
    CHECK(contains(g.out, "max_processes: 5"));
    // The printed policy loads back to itself.
    std::string again = t.file("again.yml", g.out);
    Outcome g2 = hv({"--check-policy", again}, in_dir(t.path));
    CHECK(g2.exit_code == 0);
    // Identical but for the first line, a comment naming the source file and its hash.
    CHECK(g.out.rfind("# source: " + good, 0) == 0);
    CHECK(g2.out.substr(g2.out.find('\n')) == g.out.substr(g.out.find('\n')));

    std::string bad = t.file("bad.yml",
                             "security:\n"
                             "  execution:\n"
                             "    timeout_seconds: 30\n"
                             "    cpu_secs: 5\n");
    Outcome b = hv({"--check-policy", bad}, in_dir(t.path));
    INFO(describe(b));
    CHECK(b.exit_code == 2);
    CHECK(b.out.empty());
    CHECK(hivetest::lines(b.err).size() == 1);
    CHECK(contains(b.err, bad + ":4:5: security.execution.cpu_secs: unknown key"));

    Outcome m = hv({"--check-policy", t.path + "/missing.yml"}, in_dir(t.path));
    CHECK(m.exit_code == 2);
    CHECK(contains(m.err, "missing.yml"));
}

TEST_CASE("option --policy with a malformed policy: exit 2, one line, nothing runs", "[host][policy]") {
    TempDir t;
    std::string marker = t.path + "/ran";
    t.file("mark.py", "open('" + marker + "', 'w').write('ran')\nprint('ran')\n");
    struct Case { const char* name; const char* yaml; const char* where; };
    const Case cases[] = {
        {"unknown key", "security:\n  execution:\n    timeout: 5\n", ":3:5: security.execution.timeout"},
        {"too small", "security:\n  execution:\n    memory_mb: 16\n", ":3:16: security.execution.memory_mb"},
        {"yaml syntax", "security:\n  network:\n    blocked_ports: [22, 23\n", "YAML syntax error"},
        {"wrong type", "security:\n  execution:\n    cpu_seconds: \"30\"\n", "security.execution.cpu_seconds"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            std::string pol = t.file("bad.yml", c.yaml);
            Outcome h = hv({"--policy", pol, "mark.py"}, in_dir(t.path));
            INFO(describe(h));
            CHECK(h.exit_code == 2);
            CHECK(h.out.empty());
            CHECK(hivetest::lines(h.err).size() == 1);
            CHECK(contains(h.err, pol));
            CHECK(contains(h.err, c.where));
            CHECK_FALSE(hivetest::exists(marker));
        }
    }
    SECTION("control: a valid policy runs the script") {
        std::string pol = policy_dir().file("ok.yml", policy_with("    timeout_seconds: 30\n"));
        Outcome h = hv({"--policy", pol, "mark.py"}, in_dir(t.path));
        INFO(describe(h));
        CHECK(h.exit_code == 0);
        CHECK(hivetest::exists(marker));
    }
}

TEST_CASE("policy discovery: --policy, $HIVE_POLICY, scripts/config upward, built-in", "[host][policy]") {
    TempDir t;
    std::string found = t.file("proj/scripts/config/security_policy.yml",
                               "security:\n  execution:\n    cpu_seconds: 7\n");
    std::string env_pol = t.file("env.yml", "security:\n  execution:\n    cpu_seconds: 8\n");
    std::string arg_pol = t.file("arg.yml", "security:\n  execution:\n    cpu_seconds: 9\n");
    std::filesystem::create_directories(t.path + "/proj/a/b");
    const std::string code = "import resource; print(resource.getrlimit(resource.RLIMIT_CPU)[0])";

    Outcome up = hv({"--json", "-c", code}, in_dir(t.path + "/proj/a/b"));
    INFO(describe(up));
    CHECK(up.exit_code == 0);
    CHECK(contains(up.out, "\"policy_source\":\"" + found + "\""));
    CHECK(contains(up.out, "\"stdout\":\"7\\n\""));

    RunOptions with_env = in_dir(t.path + "/proj/a/b");
    with_env.env_extra["HIVE_POLICY"] = env_pol;
    Outcome e = hv({"--json", "-c", code}, with_env);
    INFO(describe(e));
    CHECK(contains(e.out, "\"policy_source\":\"" + env_pol + "\""));
    CHECK(contains(e.out, "\"stdout\":\"8\\n\""));

    Outcome a = hv({"--policy", arg_pol, "--json", "-c", code}, with_env);
    INFO(describe(a));
    CHECK(contains(a.out, "\"policy_source\":\"" + arg_pol + "\""));
    CHECK(contains(a.out, "\"stdout\":\"9\\n\""));

    Outcome builtin = hv({"--json", "-c", code}, in_dir(t.path));
    INFO(describe(builtin));
    CHECK(contains(builtin.out, "\"policy_source\":\"built-in default\""));
    CHECK(contains(builtin.out, "\"stdout\":\"60\\n\""));

    // A broken policy on the way up is an error, never a fallback to a weaker one.
    t.file("proj/scripts/config/security_policy.yml", "security:\n  execution:\n    cpu_seconds: 0\n");
    Outcome broken = hv({"-c", "print('ran')"}, in_dir(t.path + "/proj/a/b"));
    INFO(describe(broken));
    CHECK(broken.exit_code == 2);
    CHECK(broken.out.empty());
    CHECK(contains(broken.err, found));

    // A $HIVE_POLICY that does not exist is an error too.
    RunOptions gone = in_dir(t.path);
    gone.env_extra["HIVE_POLICY"] = t.path + "/nope.yml";
    Outcome g = hv({"-c", "print('ran')"}, gone);
    CHECK(g.exit_code == 2);
    CHECK(g.out.empty());
}

TEST_CASE("policy discovery: a script finds its own project's policy wherever it is called from", "[host][policy]") {
    TempDir t;
    const std::string project = t.file("proj/scripts/config/security_policy.yml",
                                       "security:\n  execution:\n    cpu_seconds: 7\n");
    const std::string caller = t.file("elsewhere/scripts/config/security_policy.yml",
                                      "security:\n  execution:\n    cpu_seconds: 8\n");
    const std::string code = "import resource; print(resource.getrlimit(resource.RLIMIT_CPU)[0])\n";
    const std::string script = t.file("proj/scripts/tally.py", code);
    // Called by a link from another directory (a ~/bin entry): the script's real directory counts, as
    // for python3's sys.path[0].
    std::filesystem::create_directories(t.path + "/bin");
    std::filesystem::create_symlink(script, t.path + "/bin/tally");

    for (const std::string& how : {script, t.path + "/bin/tally"}) {
        Outcome o = hv({"--json", how}, in_dir(t.path + "/elsewhere"));
        INFO(how << "\n" << describe(o));
        CHECK(o.exit_code == 0);
        CHECK(contains(o.out, "\"policy_source\":\"" + project + "\""));
        CHECK(contains(o.out, "\"stdout\":\"7\\n\""));
    }
    // -c has no script directory: the cwd's policy, as before.
    Outcome c = hv({"--json", "-c", code}, in_dir(t.path + "/elsewhere"));
    INFO(describe(c));
    CHECK(contains(c.out, "\"policy_source\":\"" + caller + "\""));
    // A script outside any project with a policy gets the built-in default, even from a cwd that has one.
    const std::string loose = t.file("loose/x.py", code);
    Outcome l = hv({"--json", loose}, in_dir(t.path + "/elsewhere"));
    INFO(describe(l));
    CHECK(contains(l.out, "\"policy_source\":\"built-in default\""));
}

// ---------------------------------------------------------------------------------------------------
// Usage errors: exit 2, one clear line
// ---------------------------------------------------------------------------------------------------

TEST_CASE("scripts that cannot run and unknown options: exit 2 with one line", "[host][usage]") {
    TempDir t;
    std::filesystem::create_directories(t.path + "/adir");
    t.file("bin.py", std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10) + std::string(100, '\0'));
    t.file("ok.py", "print('ran')\n");
    struct Case { std::vector<std::string> args; std::string mention; };
    const Case cases[] = {
        {{"missing.py"}, "missing.py"},
        {{"adir"}, "adir"},
        {{"bin.py"}, "bin.py"},
        {{"--bogus", "ok.py"}, "--bogus"},
        {{"--policy"}, "--policy"},
        {{"-c"}, "-c"},
        // Nothing named is not a usage error unless stdin is a terminal: see "nothing named: ...".
    };
    for (const auto& c : cases) {
        Outcome h = hv(c.args, in_dir(t.path));
        INFO("args: " << (c.args.empty() ? std::string("(none)") : c.args[0]) << "\n" << describe(h));
        CHECK(h.exit_code == 2);
        CHECK(h.out.empty());
        CHECK(hivetest::lines(h.err).size() == 1);
        CHECK(contains(h.err, c.mention));
        CHECK(h.err.rfind("hive-py: ", 0) == 0);
    }
    // python3 -I agrees on a missing script (exit 2).
    CHECK(hivetest::python({"missing.py"}, in_dir(t.path)).exit_code == 2);
}

TEST_CASE("option -V prints a version, -h the usage with exit codes", "[host][usage]") {
    Outcome v = hv({"-V"});
    CHECK(v.exit_code == 0);
    CHECK(v.out.rfind("hive-py ", 0) == 0);
    CHECK(hivetest::lines(v.out).size() == 1);
    CHECK(hv({"--version"}).out == v.out);

    Outcome h = hv({"-h"});
    CHECK(h.exit_code == 0);
    CHECK(contains(h.out, "usage: hive-py"));
    CHECK(contains(h.out, "Exit codes"));
    for (const char* code : {"124", "125", "128+N", "152"}) CHECK(contains(h.out, code));
    CHECK(hv({"--help"}).out == h.out);
}

// ---------------------------------------------------------------------------------------------------
// Limits and exit codes made by hive-py
// ---------------------------------------------------------------------------------------------------

TEST_CASE("timeout_seconds: exit 124 and the whole process tree is killed", "[host][limits]") {
    TempDir t;
    std::string pol = policy_dir().file("p.yml", policy_with("    timeout_seconds: 2\n"));

    SECTION("a sleeping script") {
        Outcome h = hv({"--policy", pol, "-c", "import time; print('a', flush=True); time.sleep(30)"}, in_dir(t.path));
        INFO(describe(h));
        CHECK(h.exit_code == 124);
        CHECK(h.seconds >= 1.9);
        CHECK(h.seconds < 5);
        CHECK(h.out == "a\n");
        auto mine = hive_lines(h.err);
        REQUIRE(mine.size() == 1);
        CHECK(contains(mine[0], "timeout_seconds"));
    }

    SECTION("children, grandchildren and a setsid() escapee die with it") {
        std::string tag = unique_tag("tree");
        std::string marker = t.path + "/survivor";
        std::string control = t.path + "/control";
        // The children write the marker 2 s after the run's timeout if they survive it.
        t.file("tree.py",
               "import os, sys, time\n"
               "marker = sys.argv[1]\n"
               "def linger(delay):\n"
               "    time.sleep(delay)\n"
               "    with open(marker, 'a') as f: f.write(f'{os.getpid()} survived\\n')\n"
               "    os._exit(0)\n"
               "if os.fork() == 0:\n"
               "    linger(4)\n"
               "if os.fork() == 0:\n"
               "    os.setsid()\n"
               "    if os.fork() == 0:\n"
               "        linger(4)\n"
               "    os._exit(0)\n"
               "if len(sys.argv) > 3:\n"  // control run: no timeout, the children write the marker
               "    linger(0.2)\n"
               "print('forked', flush=True)\n"
               "time.sleep(30)\n");
        // Control: with no timeout the marker mechanism works (the file is visible outside the sandbox).
        Outcome c = hv({"--policy", pol, "tree.py", control, tag, "control"}, in_dir(t.path));
        INFO("control: " << describe(c));
        CHECK(hivetest::exists(control));

        Outcome h = hv({"--policy", pol, "tree.py", marker, tag}, in_dir(t.path));
        INFO(describe(h));
        CHECK(h.exit_code == 124);
        CHECK(h.out == "forked\n");
        CHECK(h.seconds < 5);
        CHECK(processes_with(tag) == "");
        std::this_thread::sleep_for(std::chrono::milliseconds(4500));
        CHECK_FALSE(hivetest::exists(marker));
        CHECK(processes_with(tag) == "");
    }
}

TEST_CASE("cpu_seconds: a busy loop is killed by SIGXCPU, exit 152", "[host][limits]") {
    TempDir t;
    std::string pol = policy_dir().file("p.yml", policy_with("    cpu_seconds: 1\n    timeout_seconds: 20\n"));
    Outcome h = hv({"--policy", pol, "-c", "print('spin', flush=True)\nwhile True: pass"}, in_dir(t.path));
    INFO(describe(h));
    CHECK(h.exit_code == 152);
    CHECK(h.term_signal == 0);
    CHECK(h.seconds < 6);
    CHECK(h.out == "spin\n");
    auto mine = hive_lines(h.err);
    REQUIRE(mine.size() == 1);
    CHECK(contains(mine[0], "cpu_seconds"));
}

TEST_CASE("memory_mb: a 500 MB allocation under 100 MB raises MemoryError", "[host][limits]") {
    TempDir t;
    std::string pol = policy_dir().file("p.yml", policy_with("    memory_mb: 100\n    timeout_seconds: 20\n"));
    t.file("mem.py",
           "try:\n"
           "    b = bytearray(500 * 1024 * 1024)\n"
           "    print('allocated', len(b))\n"
           "except MemoryError:\n"
           "    print('MemoryError caught')\n"
           "b = bytearray(500 * 1024 * 1024)\n");
    Outcome h = hv({"--policy", pol, "mem.py"}, in_dir(t.path));
    INFO(describe(h));
    CHECK(h.out == "MemoryError caught\n");
    CHECK(h.exit_code == 1);
    CHECK(contains(h.err, "MemoryError"));
    // Without the limit, the same allocation is fine (the limit is what refused it).
    Outcome ok = hv({"-c", "b = bytearray(200 * 1024 * 1024); print(len(b))"}, in_dir(t.path));
    CHECK(ok.exit_code == 0);
}

TEST_CASE("file_size_mb: writing past 1 MB fails with EFBIG", "[host][limits]") {
    TempDir t;
    std::string pol = policy_dir().file("p.yml", policy_with("    file_size_mb: 1\n    timeout_seconds: 20\n"));
    std::string target = t.path + "/" + unique_tag("big");
    Outcome h = hv({"--policy", pol, "-c",
                    "import sys\n"
                    "try:\n"
                    "    with open(sys.argv[1], 'wb') as f: f.write(b'x' * 5 * 1024 * 1024)\n"
                    "except OSError as e:\n"
                    "    print('errno', e.errno)\n"
                    "    sys.exit(1)\n"
                    "print('wrote all')\n",
                    target},
                   in_dir(t.path));
    INFO(describe(h));
    CHECK(h.out == "errno 27\n");
    CHECK(h.exit_code == 1);
    REQUIRE(hivetest::exists(target));
    CHECK(std::filesystem::file_size(target) <= 1024 * 1024);
    CHECK(std::filesystem::file_size(target) > 0);
}

TEST_CASE("max_processes holds per run, also for 20 runs at once", "[host][limits]") {
    TempDir t;
    std::string pol = policy_dir().file("p.yml", policy_with("    max_processes: 3\n    timeout_seconds: 40\n"));
    t.file("forks.py",
           "import os, time\n"
           "ok, errs = 0, set()\n"
           "pids = []\n"
           "for i in range(50):\n"
           "    try:\n"
           "        pid = os.fork()\n"
           "    except OSError as e:\n"
           "        errs.add(e.errno)\n"
           "        continue\n"
           "    if pid == 0:\n"
           "        time.sleep(2)\n"
           "        os._exit(0)\n"
           "    pids.append(pid)\n"
           "    ok += 1\n"
           "for p in pids: os.waitpid(p, 0)\n"
           "print('forked', ok, 'errors', sorted(errs))\n");
    Outcome one = hv({"--policy", pol, "forks.py"}, in_dir(t.path));
    INFO(describe(one));
    REQUIRE(one.exit_code == 0);
    auto words = hivetest::lines(one.out);
    REQUIRE(words.size() == 1);
    int forked = std::atoi(one.out.c_str() + std::string("forked ").size());
    CHECK(forked >= 1);
    CHECK(forked < 3);
    CHECK(contains(one.out, "errors [11]"));  // EAGAIN

    constexpr int kRuns = 20;
    std::vector<Outcome> outs(kRuns);
    std::vector<std::thread> threads;
    for (int i = 0; i < kRuns; ++i)
        threads.emplace_back([&, i] { outs[size_t(i)] = hv({"--policy", pol, "forks.py"}, in_dir(t.path)); });
    for (auto& th : threads) th.join();
    for (int i = 0; i < kRuns; ++i) {
        INFO("run " << i << ": " << describe(outs[size_t(i)]));
        CHECK(outs[size_t(i)].exit_code == 0);
        CHECK(outs[size_t(i)].out == one.out);
    }
}

// ---------------------------------------------------------------------------------------------------
// The example governance scripts
// ---------------------------------------------------------------------------------------------------

TEST_CASE("scripts/examples run under hive-py exactly as under python3 -I", "[host][examples]") {
    RunOptions o;
    o.cwd = hivetest::source_dir();
    for (const char* s : {"scripts/examples/tally_votes.py", "scripts/examples/consensus_report.py"}) {
        Outcome h = hv({s}, o);
        Outcome p = hivetest::python({s}, o);
        INFO(s << "\nhive-py: " << describe(h) << "\npython3 -I: " << describe(p));
        CHECK(h.out == p.out);
        CHECK(h.err == p.err);
        CHECK(h.exit_code == p.exit_code);
        CHECK_FALSE(h.out.empty());
    }
    Outcome tally = hv({"scripts/examples/tally_votes.py"}, o);
    CHECK(tally.exit_code == 0);
    CHECK(contains(tally.out, "\"all_reached_quorum\": true"));
    // Run from elsewhere: the data is found next to the script.
    TempDir t;
    Outcome away = hv({hivetest::source_dir() + "/scripts/examples/tally_votes.py"}, in_dir(t.path));
    INFO(describe(away));
    CHECK(away.out == tally.out);
}

TEST_CASE("the script holds no fd of hive-py's but stdio and the event channel's wake-up fd", "[host][fds]") {
    TempDir t;
    // An fd the caller leaves open (not close-on-exec) must not reach the script either.
    Outcome h = hivetest::run({"/bin/sh", "-c", "exec 7</etc/hostname; exec \"$@\"", "sh", hivetest::hive_bin(),
                               "--log-dir", log_dir(), "-c",
                               "import os\nfds = []\nfor fd in range(1024):\n    try:\n        os.fstat(fd); fds.append(fd)\n"
                               "    except OSError: pass\nprint(len(fds), fds[:3], 7 in fds)"});
    INFO(describe(h));
    CHECK(h.exit_code == 0);
    CHECK(h.out == "4 [0, 1, 2] False\n");
}
