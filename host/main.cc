// hive-py: run a Python governance script under a security policy. See --help.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "audit/audit_log.h"
#include "plan/plan.h"
#include "policy/native_code.h"
#include "policy/policy.h"
#include "sandbox/identity.h"
#include "sandbox/doctor.h"
#include "sandbox/namespaces.h"
#include "supervisor/options.h"
#include "supervisor/preflight.h"
#include "supervisor/supervisor.h"
#include "common/trace.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace {

int fail(const std::string& message) {
    std::fprintf(stderr, "hive-py: error: %s\n", message.c_str());
    return 2;
}

hive::plan::Invocation invocation(const char* cwd) {
    hive::plan::Invocation inv;
    inv.cwd = cwd;
    inv.uid = geteuid();
    inv.gid = getegid();
    return inv;
}

// --check-policy FILE: the effective policy, then what the sandbox may read, write and execute under it.
// A policy every run would refuse (a key the sandbox could read, logs or the policy it could write) is
// refused here too, with the run's own line.
int check_policy(const hive::Options& o, const char* cwd) {
    auto p = hive::load_policy_file(o.check_policy, cwd);
    if (!p) return fail(p.error().message);
    auto plan = hive::plan::make(*p, invocation(cwd));
    if (!plan) return fail(plan.error().message);
    auto placed = hive::plan::check_placement(*plan, hive::protected_files(*p, hive::log_dir_for(o.log_dir, cwd)));
    if (!placed.ok()) return fail(placed.error().message);
    std::fputs(hive::to_yaml(*p).c_str(), stdout);
    std::fputs(hive::plan::describe(*plan).c_str(), stdout);
    // The private /tmp needs a mount namespace: without one a best_effort run gets the host's /tmp.
    if (plan->tmp.on && !hive::namespaces::probe().mount)
        std::fputs("#   (this machine offers no mount namespace: /tmp would be the host's, and only a best_effort "
                   "policy runs at all)\n", stdout);
    // What the policy hands a root caller's script, and what the trail is worth under it: warnings on
    // stderr, the policy still valid.
    if (plan->ids.host_root)
        for (const auto& w : hive::identity::root_exposure_warnings(*p))
            std::fprintf(stderr, "hive-py: warning: %s\n", w.c_str());
    if (hive::allows_native_code(*p)) std::fprintf(stderr, "hive-py: warning: %s\n", hive::kTrailAdvisoryNote);
    return 0;
}

// A standard stream closed by the caller (`hive-py s.py <&-`) is /dev/null for the run, as the first fds
// hive-py opens would otherwise take its number and the script's output would go into a pipe of ours.
bool open_standard_streams() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        const int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (n != fd) return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    HIVE_MARK("p.main");
    if (!open_standard_streams()) return 125;
    auto parsed = hive::parse_options(argc, argv);
    if (!parsed) {
        std::fprintf(stderr, "hive-py: error: %s\n", parsed.error().message.c_str());
        if (hive::json_requested(argc, argv)) hive::print_json_failure(parsed.error().message, 2);
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
    if (!o.check_policy.empty()) return check_policy(o, cwd);
    if (o.doctor) {
        auto p = hive::discover_policy(o.policy_path, cwd);
        if (!p) return fail(p.error().message);
        auto plan = hive::plan::make(*p, invocation(cwd));
        if (!plan) return fail(plan.error().message);
        return hive::sandbox::doctor(std::cout, *plan, o.json);
    }
    hive::Options run = o;
    if (!o.has_script) {
        // As `python3 -I` with nothing named: the program comes from stdin. On a terminal python3 would
        // start its interactive prompt, which hive-py does not offer.
        if (isatty(0)) {
            const char* m = "no script given, and stdin is a terminal: hive-py has no interactive mode (hive-py "
                            "script.py | -c CODE | -m MODULE | - < FILE); see --help";
            std::fprintf(stderr, "hive-py: error: %s\n", m);
            if (o.json) hive::print_json_failure(m, 2);
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
