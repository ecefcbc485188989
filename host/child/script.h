// What to run, as python3's command line names it.
#pragma once

#include <string>
#include <vector>

namespace hive {

struct ScriptSpec {
    enum class Mode { file, command, module, stdin_ } mode = Mode::file;
    std::string target;              // file path (as given), code, or module name; "-" for stdin
    std::string script_abs;          // file mode: the absolute path of the script
    // File mode: the script's bytes, read once from one fd by check_script and hashed there; the child
    // compiles exactly these (never the file again, which could be swapped in between).
    std::string code;
    std::vector<std::string> args;   // arguments after the script
    std::vector<std::string> orig_argv;  // hive-py's own command line, for sys.orig_argv
    bool implicit_stdin = false;     // stdin mode because nothing was named: sys.argv[0] is '' (python3's)
};

}  // namespace hive
