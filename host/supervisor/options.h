// hive-py's command line: its own options stand before the script, like python's; nothing after the
// script (or after -c CODE / -m MODULE / -) is ever read as a hive-py option.
#pragma once

#include <string>
#include <vector>

#include "child/script.h"
#include "common/result.h"

namespace hive {

struct Options {
    std::string policy_path;   // --policy FILE
    std::string log_dir;       // --log-dir DIR
    bool json = false;         // --json
    bool version = false;      // -V / --version
    bool help = false;         // -h / --help
    bool doctor = false;       // --doctor
    std::string check_policy;  // --check-policy FILE
    bool audit = false;        // `hive-py audit ...`
    std::vector<std::string> audit_args;
    bool has_script = false;
    ScriptSpec script;
};

Result<Options> parse_options(int argc, char** argv);
// Whether hive-py's own options (those before the script) ask for --json: read even when the command
// line does not parse, so that a usage error is a JSON object too.
bool json_requested(int argc, char** argv);
const char* usage_text();

}  // namespace hive
