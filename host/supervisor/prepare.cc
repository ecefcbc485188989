// Phase 1 of a run: everything that is the user's to fix, checked before anything is set up (exit 2):
// the policy, the script, the run's plan, what the plan must not expose, the audit logs and their key.
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/trace.h"
#include "supervisor/preflight.h"
#include "supervisor/run_state.h"

namespace hive {

namespace {

Stop user_error(std::string message) { return Stop{2, std::move(message)}; }

// 16 hex digits from getrandom(). It names the run in every record and the run's cgroup: a failure is an
// error, never a fixed id.
Result<std::string> new_run_id() {
    unsigned char b[8];
    ssize_t n;
    while ((n = getrandom(b, sizeof b, 0)) < 0 && errno == EINTR) {
    }
    if (n != ssize_t(sizeof b)) return n < 0 ? errno_error("getrandom", "8 bytes") : Error{"getrandom(8 bytes): short read"};
    char s[17];
    for (int i = 0; i < 8; ++i) std::snprintf(s + 2 * i, 3, "%02x", b[i]);
    return std::string(s);
}

// The alert command may carry a credential: it moves into a Secret (zeros in every fork), and the policy's
// copy, which the sandbox inherits, is wiped. Only the Alerter runs it.
Phase take_alert_command(RunSetup& run) {
    std::string& ac = run.policy.monitoring.alert_command;
    if (ac.empty()) return std::nullopt;
    auto s = Secret::copy_of(ac);
    if (!s) return Stop{125, "monitoring.alert_command: " + s.error().message};
    run.alert_command = std::move(*s);
    explicit_bzero(ac.data(), ac.size());
    ac.clear();
    return std::nullopt;
}

Phase make_plan(RunSetup& run) {
    plan::Invocation inv;
    inv.cwd = run.cwd;
    inv.script_path = run.spec.mode == ScriptSpec::Mode::file ? run.spec.script_abs : "";
    inv.uid = geteuid();
    inv.gid = getegid();
    auto p = plan::make(run.policy, inv);
    if (!p) return user_error(p.error().message);
    run.plan = std::move(*p);
    return std::nullopt;
}

// Where the policy is searched for: the real directory of a script file (as python3 puts it first on
// sys.path), or of a directory run as __main__ its own; "" (the cwd) for -c, -m and stdin, or when the
// script's path does not resolve (check_script then says why).
std::string policy_search_dir(const ScriptSpec& spec, const std::string& cwd) {
    if (spec.mode != ScriptSpec::Mode::file) return "";
    char real[PATH_MAX];
    if (!::realpath(normalize_path(spec.target, cwd).c_str(), real)) return "";
    struct stat st {};
    if (::stat(real, &st) == 0 && S_ISDIR(st.st_mode)) return real;
    std::string r = real;
    const auto slash = r.rfind('/');
    return slash == 0 ? "/" : r.substr(0, slash);
}

}  // namespace

Phase prepare(const Options& opts, RunSetup& run) {
    run.started = Clock::now();
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return user_error(errno_error("getcwd", "the working directory").message);
    run.cwd = cwd;
    HIVE_MARK("p.run_script");
    auto pol = discover_policy(opts.policy_path, run.cwd, policy_search_dir(opts.script, run.cwd));
    if (!pol) return user_error(pol.error().message);
    run.policy = std::move(*pol);
    run.strict = run.policy.enforcement == Enforcement::strict;
    if (auto stop = take_alert_command(run)) return stop;
    HIVE_MARK("p.policy");
    run.spec = opts.script;
    auto hash = check_script(run.spec, run.cwd);
    if (!hash) return user_error(hash.error().message);
    run.script_hash = std::move(*hash);
    run.script_name = run.spec.mode == ScriptSpec::Mode::file ? run.spec.script_abs : run.spec.target;
    if (auto stop = make_plan(run)) return stop;

    run.log_dir = log_dir_for(opts.log_dir, run.cwd);
    run.plan.log_dir = run.log_dir;
    if (Status placed = plan::check_placement(run.plan, protected_files(run.policy, run.log_dir)); !placed.ok())
        return user_error(placed.error().message);
    auto lo = log_options(run.log_dir, run.policy);
    if (!lo) return user_error(lo.error().message);
    lo->compress_in_background = true;
    HIVE_MARK("p.script");
    auto opened = audit::AuditLog::open(*lo);
    if (!opened) return user_error("cannot open the audit log: " + opened.error().message);
    auto id = new_run_id();
    if (!id) return Stop{125, "cannot make a run id: " + id.error().message};

    run.log.emplace(std::move(*id), run.policy, std::move(*opened));
    RunLog* log = &*run.log;
    run.alerter.emplace(log->run_id(), run.script_name, run.alert_command,
                        [log](const std::string& sev, const std::string& kind, const std::string& msg,
                              const std::string& js) { log->security(sev, kind, msg, "alert", js); },
                        AlertStore(run.log_dir, run.policy.monitoring.alert_window_seconds));
    return std::nullopt;
}

}  // namespace hive
