#include "supervisor/options.h"

#include <cstring>
#include <string_view>

namespace hive {

const char* usage_text() {
    return R"(usage: hive-py [option] ... (script.py | -c CODE | -m MODULE | -) [arg] ...
       hive-py --check-policy FILE | --doctor | audit (verify|show) [LOG_DIR] ...

Runs a Python governance script the way `python3 -I` would, inside a sandbox set by a security policy
(BIP-025): rlimits, namespaces, no_new_privs, Landlock and seccomp, with every file, socket, subprocess
and import event recorded in a hash-chained audit trail.

Options (before the script; everything after it goes to the script):
  --policy FILE        security policy (default: $HIVE_POLICY, then scripts/config/security_policy.yml
                       searched upward from the working directory, then the built-in BIP-025 policy)
  --log-dir DIR        audit log directory (default: $HIVE_LOG_DIR, else /var/log/hive-py as root,
                       else ${XDG_STATE_HOME:-~/.local/state}/hive-py); never inside a writable path
  --json               capture the script's output; print one JSON result object instead
  --check-policy FILE  validate a policy and print the effective policy (exit 0 if valid)
  --doctor             show which sandbox layers this machine offers
  -c CODE              run CODE
  -m MODULE            run a stdlib module as a script
  -                    read the program from stdin (also with nothing named and stdin not a terminal)
  -V, --version        print the version
  -h, --help           print this help

Exit codes:
  N      the script's own exit code (sys.exit(N); 1 for an uncaught exception)
  2      usage or policy error: nothing ran
  124    the wall-clock limit (timeout_seconds) ended the run
  125    the sandbox could not be set up: nothing ran
  128+N  signal N ended the script (e.g. 152 = SIGXCPU, the CPU limit; 137 = SIGKILL; 159 = SIGSYS, seccomp)
)";
}

bool json_requested(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "audit") == 0) return false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--json") return true;
        if (a == "-c" || a == "-m" || a == "-" || a == "--" || a.empty() || a[0] != '-') return false;
        if ((a == "--policy" || a == "--log-dir" || a == "--check-policy") && i + 1 < argc) ++i;
    }
    return false;
}

Result<Options> parse_options(int argc, char** argv) {
    Options o;
    auto need_value = [&](int& i, const char* opt) -> Result<std::string> {
        if (i + 1 >= argc) return Error{std::string("option ") + opt + " needs a value"};
        return std::string(argv[++i]);
    };
    if (argc >= 2 && std::strcmp(argv[1], "audit") == 0) {
        o.audit = true;
        for (int i = 2; i < argc; ++i) o.audit_args.emplace_back(argv[i]);
        return o;
    }
    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        auto eq = a.find('=');
        std::string key = a.rfind("--", 0) == 0 && eq != std::string::npos ? a.substr(0, eq) : a;
        auto value = [&](const char* name) -> Result<std::string> {
            if (key != a) return a.substr(eq + 1);
            return need_value(i, name);
        };
        if (key == "--policy") {
            auto v = value("--policy");
            if (!v) return v.error();
            o.policy_path = *v;
        } else if (key == "--log-dir") {
            auto v = value("--log-dir");
            if (!v) return v.error();
            o.log_dir = *v;
        } else if (key == "--check-policy") {
            auto v = value("--check-policy");
            if (!v) return v.error();
            o.check_policy = *v;
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--doctor") {
            o.doctor = true;
        } else if (a == "-V" || a == "--version") {
            o.version = true;
        } else if (a == "-h" || a == "--help") {
            o.help = true;
        } else if (a == "-c" || a == "-m") {
            auto v = need_value(i, a.c_str());
            if (!v) return Error{std::string("argument expected for the ") + a + " option"};
            o.has_script = true;
            o.script.mode = a == "-c" ? ScriptSpec::Mode::command : ScriptSpec::Mode::module;
            o.script.target = *v;
            ++i;
            break;
        } else if (a == "-") {
            o.has_script = true;
            o.script.mode = ScriptSpec::Mode::stdin_;
            o.script.target = "-";
            ++i;
            break;
        } else if (a == "--") {
            // As python3: the word after "--" names the script even when it starts with '-' ("-" is
            // still stdin), and a "--" with nothing after it is not an argument of the script.
            if (++i < argc) {
                o.has_script = true;
                o.script.target = argv[i];
                if (o.script.target == "-") o.script.mode = ScriptSpec::Mode::stdin_;
                ++i;
            }
            break;
        } else if (!a.empty() && a[0] == '-') {
            return Error{"unknown option '" + a + "' (hive-py's options stand before the script; see --help)"};
        } else {
            o.has_script = true;
            o.script.mode = ScriptSpec::Mode::file;
            o.script.target = a;
            ++i;
            break;
        }
    }
    for (; i < argc; ++i) o.script.args.emplace_back(argv[i]);
    o.script.orig_argv.assign(argv, argv + argc);
    return o;
}

}  // namespace hive
