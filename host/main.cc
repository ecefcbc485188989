// hive-py: run a Python governance script under a security policy. See --help.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "audit/audit_log.h"
#include "policy/policy.h"
#include "sandbox/doctor.h"
#include "supervisor/options.h"
#include "supervisor/preflight.h"
#include "supervisor/supervisor.h"
#include "common/trace.h"

#include <unistd.h>

int main(int argc, char** argv) {
    HIVE_MARK("p.main");
    auto parsed = hive::parse_options(argc, argv);
    if (!parsed) {
        std::fprintf(stderr, "hive-py: error: %s\n", parsed.error().message.c_str());
        return 2;
    }
    const hive::Options& o = *parsed;
    if (o.help) {
        std::fputs(hive::usage_text(), stdout);
        return 0;
    }
    if (o.version) {
        std::printf("hive-py %s (embedding Python 3.11)\n", HIVE_VERSION);
        return 0;
    }
    if (o.audit) return hive::audit::audit_command(o.audit_args);
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    if (!o.check_policy.empty()) {
        auto p = hive::load_policy_file(o.check_policy, cwd);
        if (!p) {
            std::fprintf(stderr, "hive-py: error: %s\n", p.error().message.c_str());
            return 2;
        }
        // A key the sandbox could read is refused by every run: say so now. (The script's directory, the
        // other path a run may read, is checked by the run.)
        if (!p->monitoring.hmac_key_file.empty()) {
            auto placed = hive::check_key_file_placement(p->monitoring.hmac_key_file, hive::sandbox_readable(*p, ""));
            if (!placed.ok()) {
                std::fprintf(stderr, "hive-py: error: %s\n", placed.error().message.c_str());
                return 2;
            }
        }
        std::fputs(hive::to_yaml(*p).c_str(), stdout);
        return 0;
    }
    if (o.doctor) {
        auto p = hive::discover_policy(o.policy_path, cwd);
        if (!p) {
            std::fprintf(stderr, "hive-py: error: %s\n", p.error().message.c_str());
            return 2;
        }
        return hive::sandbox::doctor(std::cout, *p);
    }
    hive::Options run = o;
    if (!o.has_script) {
        // As `python3 -I` with nothing named: the program comes from stdin. On a terminal python3 would
        // start its interactive prompt, which hive-py does not offer.
        if (isatty(0)) {
            std::fprintf(stderr, "hive-py: error: no script given, and stdin is a terminal: hive-py has no interactive "
                                 "mode (hive-py script.py | -c CODE | -m MODULE | - < FILE); see --help\n");
            return 2;
        }
        run.script.mode = hive::ScriptSpec::Mode::stdin_;
        run.script.target.assign(1, '-');  // (not = "-": GCC 12 warns falsely, -Wrestrict)
        run.script.implicit_stdin = true;
    }
    int code = hive::run_script(run);
    // Everything of the run is written (the audit records with write(2), the result on stdout): skip the
    // atexit work of the libraries (OpenSSL's cleanup and the like), a millisecond at every run's end.
    std::fflush(nullptr);
    HIVE_MARK("p.exit");
    std::_Exit(code);
}
