// What to run, as python3's command line names it.
#pragma once

#include <string>
#include <vector>

namespace hive {

// python3's interpreter flags given before the script (python3 --help), as PyConfig fields take them.
// -E -s -I -P -S -B are accepted and change nothing: hive-py's interpreter is always isolated, without
// site and without writing bytecode.
struct PyFlags {
    int bytes_warning = 0;       // -b, -bb
    int parser_debug = 0;        // -d
    int optimization_level = 0;  // -O, -OO
    bool quiet = false;          // -q
    bool unbuffered = false;     // -u
    int verbose = 0;             // -v, -vv
    bool skip_first_line = false;          // -x
    std::vector<std::string> warnoptions;  // -W arg
    std::vector<std::string> xoptions;     // -X opt
    std::string check_hash_pycs;           // --check-hash-based-pycs always|default|never ("" = default)
};

struct ScriptSpec {
    enum class Mode { file, command, module, stdin_ } mode = Mode::file;
    std::string target;              // file path (as given), code, or module name; "-" for stdin
    std::string script_abs;          // file mode: the absolute path of the script
    // File mode: the script is a directory or a zip file with __main__.py, run as python3 runs it
    // (put first on sys.path, its __main__ module run by runpy).
    enum class Importer { none, directory, zip } importer = Importer::none;
    // File mode: the script's bytes, read once from one fd by check_script and hashed there; the child
    // compiles exactly these (never the file again, which could be swapped in between).
    std::string code;
    std::vector<std::string> args;   // arguments after the script
    // sys.orig_argv as python3 would show it: hive-py's name, the python3 flags as given, the script's part;
    // hive-py's own options (--policy, --log-dir, --json) left out.
    std::vector<std::string> orig_argv;
    PyFlags flags;
    bool implicit_stdin = false;     // stdin mode because nothing was named: sys.argv[0] is '' (python3's)
};

}  // namespace hive
