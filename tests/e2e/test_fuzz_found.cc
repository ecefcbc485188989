// What a user saw of the bugs the fuzz harnesses (tests/fuzz/, README "Reliability") found, each fixed
// where it lived; the harnesses' own reproducers replay in ctest as `fuzz_replay: NAME`.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "run.h"

using hivetest::Outcome;
using hivetest::RunOptions;

namespace {

std::string describe(const Outcome& o) {
    return "exit=" + std::to_string(o.exit_code) + "\n--- stdout ---\n" + o.out + "\n--- stderr ---\n" + o.err;
}

RunOptions in_dir(const std::string& cwd, std::string stdin_data = "") {
    RunOptions o;
    o.cwd = cwd;
    o.stdin_data = std::move(stdin_data);
    return o;
}

}  // namespace

// fuzz_options: `hive-py --` gave the script sys.argv ['', '--'] (python3 -I: ['']), and `hive-py -- -`
// looked for a file named '-' where python3 reads the program from stdin.
TEST_CASE("options: '--' ends hive-py's options as it ends python3's", "[fuzz][parity]") {
    hivetest::TempDir t;
    hivetest::LogDir logs;
    const std::string prog = "import sys\nprint(sys.argv)\n";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--"}, {"--", "-"}, {"--", "-", "a", "--"}, {"--", "argv.py", "-c", "x"}}) {
        t.file("argv.py", prog);
        std::vector<std::string> h{"--log-dir", logs.path};
        h.insert(h.end(), args.begin(), args.end());
        Outcome hv = hivetest::hive(h, in_dir(t.path, prog));
        Outcome py = hivetest::python(args, in_dir(t.path, prog));
        INFO("hive-py: " << describe(hv) << "\npython3 -I: " << describe(py));
        CHECK(hv.exit_code == py.exit_code);
        CHECK(hv.out == py.out);
        CHECK(hv.err == py.err);
    }
}

// fuzz_json: bytes that are not UTF-8 but looked like it to the writer (lead bytes 0xf5-0xff, surrogates,
// overlong forms) went into the JSON as they were: `--json`'s output was not JSON to a strict reader.
TEST_CASE("json result (--json): a script's output that is not UTF-8 still gives JSON", "[fuzz][json]") {
    hivetest::TempDir t;
    hivetest::LogDir logs;
    Outcome h = hivetest::hive({"--log-dir", logs.path, "--json", "-c",
                                "import sys; sys.stdout.buffer.write(b'a\\xf8\\x88\\x80\\xed\\xa0\\x80\\xe0\\x80\\xafz')"},
                               in_dir(t.path));
    INFO(describe(h));
    REQUIRE(h.exit_code == 0);
    // Python's json on the text decoded strictly (json.loads on bytes would let surrogates through).
    Outcome check = hivetest::python(
        {"-c", "import sys, json; r = json.loads(sys.stdin.buffer.read().decode('utf-8')); print(ascii(r['stdout']))"},
        in_dir(t.path, h.out));
    INFO(describe(check));
    CHECK(check.exit_code == 0);
    std::string nine;  // one U+FFFD per byte: 3 for 0xf8.., 3 for the surrogate, 3 for the overlong '/'
    for (int i = 0; i < 9; ++i) nine += "\\ufffd";
    CHECK(check.out == "'a" + nine + "z'\n");
}

// Found while writing fuzz_audit: `hive-py audit show` died of a stack overflow (exit 139) on a record
// nested 200,000 deep.
TEST_CASE("audit show: a deeply nested record does not crash the reader", "[fuzz][audit]") {
    hivetest::TempDir dir;
    const std::string deep = std::string(200000, '[') + std::string(200000, ']');
    dir.file("execution_audit.log", "{\"run_id\":" + deep + ",\"timestamp\":\"2026-11-27T10:00:00Z\"}\n");
    Outcome h = hivetest::hive({"audit", "show", dir.path});
    INFO(describe(h).substr(0, 2000));
    CHECK(h.exit_code == 0);
    CHECK(h.term_signal == 0);
}
