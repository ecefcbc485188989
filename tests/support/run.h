// Run a program the way a user would and capture what they would see.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace hivetest {

struct Outcome {
    int exit_code = -1;     // exit status, or 128+N when signal N ended it (as a shell reports)
    int term_signal = 0;    // N when a signal ended the process, else 0
    std::string out;
    std::string err;
    double seconds = 0;
    long max_rss_kb = 0;    // wait4's ru_maxrss: the larger of the program's own peak RSS and that of the
                            // processes it waited for (hive-py: its sandbox's, the record's peak_memory_mb)
};

struct RunOptions {
    std::string stdin_data;
    std::string cwd;                               // "" = the test's cwd
    std::map<std::string, std::string> env_extra;  // added to a clean environment
    bool inherit_env = false;                      // pass the test's own environment through
    int timeout_seconds = 60;                      // the test kills the run past this (a bound, not a check)
};

Outcome run(const std::vector<std::string>& argv, const RunOptions& opts = {});

// False (with a WARN saying why) when hive-py refused to run because this machine cannot set up the
// sandbox (exit 125, "cannot be set up on this machine"): a test that needs the sandbox then skips.
bool sandbox_set_up(const Outcome& o);

// One log directory per test binary (outside every writable path), and `hive-py --log-dir it ARGS...`.
const std::string& shared_log_dir();
Outcome hive_logged(const std::vector<std::string>& args, const RunOptions& opts = {});

// What Debian's python3 needs in its environment to import this build's module (hive_sandbox): nothing
// in the normal build; in the sanitizer build (HIVE_SANITIZE) ASan's runtime and libstdc++ preloaded
// (tests/CMakeLists.txt says why) and LeakSanitizer off (it fails the interpreter's exit on CPython's
// own never-freed allocations, 6 KB of them, allocated in /usr/bin/python3.11).
std::map<std::string, std::string> module_env();

// `hive-py ARGS...` with the built binary.
Outcome hive(const std::vector<std::string>& args, const RunOptions& opts = {});
// Debian's `python3 -I ARGS...`.
Outcome python(const std::vector<std::string>& args, const RunOptions& opts = {});

std::string hive_bin();     // the built hive-py (or its copy outside /tmp: see run.cc)
std::string build_dir();    // the build directory itself (the module, cmake --install, cpack)
std::string tests_dir();    // the source tests/ folder
std::string source_dir();   // the repository root
// policy/tests/REL (e.g. "attack/ctypes_default.yml"), or a copy of it outside /tmp when the checkout
// lies there: hive-py refuses a policy file inside a path the policy lets the script write.
std::string policy_fixture(const std::string& rel);

// A fresh temporary directory, removed (recursively) when the object goes out of scope.
struct TempDir {
    TempDir();
    explicit TempDir(const std::string& mkdtemp_template);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string path;
    std::string file(const std::string& name, const std::string& contents, int mode = 0644) const;
};

// An audit log directory for --log-dir: under /var/tmp, outside every path a test policy lets the
// script write (the default policy allows /tmp; hive-py refuses a log dir inside a writable path).
struct LogDir : TempDir {
    LogDir();
    std::string read(const std::string& name) const;  // a file of the log directory ("" if missing)
    std::string runs() const;                          // execution_audit.log
    std::string events() const;                        // audit_events.log
    std::string security() const;                      // security_events.log
};

// A directory for policy files under /var/tmp: hive-py refuses a policy file inside a path the policy
// lets the script write (it could rewrite the policy of the next run), and test policies allow /tmp.
struct PolicyDir : TempDir {
    PolicyDir();
};

// `err` without hive-py's closing line about the run's denials ("hive-py: run ID: N denied ...; see:
// ..."), for comparing what the script itself wrote with what python3 -I writes.
std::string without_closing_line(const std::string& err);

std::string read_file(const std::string& path);
bool exists(const std::string& path);
std::vector<std::string> lines(const std::string& text);
// Lines of `text` that contain `needle`.
std::vector<std::string> grep(const std::string& text, const std::string& needle);

}  // namespace hivetest
