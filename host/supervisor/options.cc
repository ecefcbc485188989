#include "supervisor/options.h"

#include <cstring>
#include <string_view>

namespace hive {

const char* usage_text() {
    return R"(usage: hive-py [option] ... (script.py | dir | app.zip | -c CODE | -m MODULE | -) [arg] ...
       hive-py --check-policy FILE | --doctor | audit (verify|show) [LOG_DIR] ...

Runs a Python governance script the way `python3 -I` would, inside a sandbox set by a security policy
(BIP-025): rlimits, namespaces, no_new_privs, Landlock and seccomp, with every file, socket, subprocess
and import event recorded in a hash-chained audit trail.

Options (before the script; everything after it goes to the script):
  --policy FILE        security policy (default: $HIVE_POLICY, then scripts/config/security_policy.yml
                       searched upward from the script's directory, or the working directory for
                       -c/-m/stdin, then the built-in BIP-025 policy)
  --log-dir DIR        audit log directory (default: $HIVE_LOG_DIR, else /var/log/hive-py as root,
                       else ${XDG_STATE_HOME:-~/.local/state}/hive-py); never inside a writable path
  --json               capture the script's output; print one JSON result object instead
  --check-policy FILE  validate a policy and print the effective policy (exit 0 if valid)
  --doctor             show which sandbox layers this machine offers
  -c CODE              run CODE
  -m MODULE            run a stdlib module as a script
  -                    read the program from stdin (also with nothing named and stdin not a terminal)
  -V, --version        print the version
  -h, -?, --help       print this help

python3's flags, with python3's meaning, in any order with the options above (combined as -uB, attached
as -cCODE, -mMOD, -Wdefault, -Xdev); a directory or zip file with __main__.py runs as under python3:
  -b, -bb              warn (error) about str(bytes) and bytes/str comparisons
  -d                   parser debugging (debug builds only)
  -O, -OO              remove asserts and __debug__ code; -OO also docstrings
  -q                   quiet (sys.flags.quiet)
  -u                   unbuffered stdout and stderr
  -v                   trace imports (-vv: more)
  -x                   skip the script's first line
  -W ARG               warning control (action:message:category:module:lineno)
  -X OPT               implementation option (dev, tracemalloc[=N], faulthandler, importtime,
                       int_max_str_digits=N, ...)
  --check-hash-based-pycs always|default|never
  -B -E -I -P -s -S    accepted; always so in hive-py (isolated, no site, no bytecode written)
  -i                   refused: hive-py has no interactive prompt

Exit codes:
  N      the script's own exit code (sys.exit(N); 1 for an uncaught exception)
  2      usage or policy error: nothing ran
  124    the wall-clock limit (timeout_seconds) ended the run
  125    the sandbox could not be set up: nothing ran
  128+N  signal N ended the script (e.g. 152 = SIGXCPU, the CPU limit; 137 = SIGKILL; 159 = SIGSYS, seccomp)
)";
}

namespace {

// Parses argv into `o` up to the script; returns the first error. Options before an error are kept in
// `o`, so that json_requested() knows whether --json came first.
Error unknown_option(const std::string& a) {
    return Error{"unknown option '" + a + "' (hive-py's options stand before the script; see --help)"};
}

// A long option at argv[i] ("--policy FILE", "--log-dir=DIR", ...): hive-py's own, and python3's
// --check-hash-based-pycs. `i` moves past a separate value.
Status long_option(int argc, char** argv, int& i, Options& o) {
    const std::string a = argv[i];
    const auto eq = a.find('=');
    const std::string key = eq == std::string::npos ? a : a.substr(0, eq);
    auto value = [&]() -> Result<std::string> {
        if (eq != std::string::npos) return a.substr(eq + 1);
        if (i + 1 >= argc) return Error{"option " + key + " needs a value"};
        return std::string(argv[++i]);
    };
    if (key == "--policy" || key == "--log-dir" || key == "--check-policy") {
        auto v = value();
        if (!v) return v.error();
        (key == "--policy" ? o.policy_path : key == "--log-dir" ? o.log_dir : o.check_policy) = *v;
    } else if (key == "--check-hash-based-pycs") {
        const int first = i;
        auto v = value();
        if (!v) return v.error();
        if (*v != "always" && *v != "default" && *v != "never")
            return Error{"--check-hash-based-pycs must be one of 'default', 'always', or 'never'"};
        o.script.flags.check_hash_pycs = *v;
        for (int k = first; k <= i; ++k) o.script.orig_argv.emplace_back(argv[k]);
    } else if (a == "--json") {
        o.json = true;
    } else if (a == "--doctor") {
        o.doctor = true;
    } else if (a == "--version") {
        o.version = true;
    } else if (a == "--help") {
        o.help = true;
    } else if (a == "--help-env" || a == "--help-xoptions" || a == "--help-all") {
        return Error{"option " + a + " is python3's own help, not hive-py's: run /usr/bin/python3.11 " + a};
    } else {
        return unknown_option(a);
    }
    return {};
}

// Short options at argv[i], combined as python3's getopt combines them (-uB, -OO, -cCODE, -Wdefault,
// -Xdev). `i` moves past a separate value; `done` when -c or -m named what runs.
Status short_options(int argc, char** argv, int& i, Options& o, bool& done) {
    const std::string a = argv[i];
    PyFlags& f = o.script.flags;
    const int first = i;
    for (std::size_t k = 1; k < a.size(); ++k) {
        const char c = a[k];
        if (c == 'c' || c == 'm' || c == 'W' || c == 'X') {
            std::string v;
            if (k + 1 < a.size()) v = a.substr(k + 1);
            else if (i + 1 < argc) v = argv[++i];
            else return Error{std::string("argument expected for the -") + c + " option"};
            if (c == 'W') f.warnoptions.push_back(v);
            else if (c == 'X') f.xoptions.push_back(v);
            else {
                o.has_script = true;
                o.script.mode = c == 'c' ? ScriptSpec::Mode::command : ScriptSpec::Mode::module;
                o.script.target = v;
                done = true;
            }
            break;
        }
        switch (c) {
            case 'b': ++f.bytes_warning; break;
            case 'd': ++f.parser_debug; break;
            case 'O': ++f.optimization_level; break;
            case 'q': f.quiet = true; break;
            case 'u': f.unbuffered = true; break;
            case 'v': ++f.verbose; break;
            case 'x': f.skip_first_line = true; break;
            // Always so in hive-py: isolated (-I, with -E and -s), safe_path (-P), no site (-S), no
            // bytecode written (-B).
            case 'B': case 'E': case 'I': case 'P': case 's': case 'S': break;
            case 'h': case '?': o.help = true; break;
            case 'V': o.version = true; break;
            case 'i':
                return Error{"option -i (inspect interactively after the script) cannot apply: hive-py has no "
                             "interactive prompt"};
            default:
                return unknown_option(k == 1 && a.size() == 2 ? a : std::string("-") + c);
        }
    }
    for (int k = first; k <= i; ++k) o.script.orig_argv.emplace_back(argv[k]);
    return {};
}

// What runs named by argv[i] ("--" then a name, "-", or a file): true when it was one of those.
bool script_named(int argc, char** argv, int& i, Options& o) {
    const std::string a = argv[i];
    std::vector<std::string>& orig = o.script.orig_argv;
    if (a == "--") {
        // As python3: the word after "--" names the script even when it starts with '-' ("-" is
        // still stdin), and a "--" with nothing after it is not an argument of the script.
        orig.push_back(a);
        if (i + 1 < argc) {
            o.has_script = true;
            o.script.target = argv[++i];
            if (o.script.target == "-") o.script.mode = ScriptSpec::Mode::stdin_;
            orig.push_back(o.script.target);
        }
        return true;
    }
    if (a == "-") {
        o.has_script = true;
        o.script.mode = ScriptSpec::Mode::stdin_;
        o.script.target.assign(1, '-');  // (not = "-": GCC 12 warns falsely, -Wrestrict)
        orig.push_back(a);
        return true;
    }
    if (a.empty() || a[0] != '-') {
        o.has_script = true;
        o.script.mode = ScriptSpec::Mode::file;
        o.script.target = a;
        orig.push_back(a);
        return true;
    }
    return false;
}

Status parse(int argc, char** argv, Options& o) {
    if (argc >= 2 && std::strcmp(argv[1], "audit") == 0) {
        o.audit = true;
        for (int i = 2; i < argc; ++i) o.audit_args.emplace_back(argv[i]);
        return {};
    }
    if (argc >= 1) o.script.orig_argv.emplace_back(argv[0]);
    int i = 1;
    for (bool done = false; i < argc && !done; ++i) {
        const std::string a = argv[i];
        if (a.rfind("--", 0) == 0 && a.size() > 2) {
            HIVE_TRY(long_option(argc, argv, i, o));
        } else if (script_named(argc, argv, i, o)) {
            ++i;
            break;
        } else {
            HIVE_TRY(short_options(argc, argv, i, o, done));
        }
    }
    for (; i < argc; ++i) {
        o.script.args.emplace_back(argv[i]);
        o.script.orig_argv.emplace_back(argv[i]);
    }
    return {};
}

}  // namespace

bool json_requested(int argc, char** argv) {
    Options o;
    (void)parse(argc, argv, o);
    return o.json;
}

Result<Options> parse_options(int argc, char** argv) {
    Options o;
    if (Status st = parse(argc, argv, o); !st) return st.error();
    return o;
}

}  // namespace hive
