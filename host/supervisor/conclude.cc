// Phase 5 of a run: what happened (the outcome from the init's report, the wait status and the clock),
// the final thresholds and alerts, the run record, and what hive-py itself prints and returns.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "audit/log_dir.h"
#include "common/json.h"
#include "common/trace.h"
#include "policy/native_code.h"
#include "supervisor/outcome.h"
#include "supervisor/run_state.h"
#include "supervisor/supervisor.h"

namespace hive {

namespace {

bool write_all(int fd, const std::string& s) {
    const char* p = s.data();
    std::size_t n = s.size();
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= std::size_t(w);
    }
    return true;
}

// Control bytes of a target (the script names it) shown escaped: the line goes to a terminal.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        } else {
            out += char(c);
        }
    }
    return out.size() > 200 ? out.substr(0, 200) + "..." : out;
}

std::vector<std::string> layer_names(std::uint32_t bits, const namespaces::Set& ns, int landlock_abi) {
    std::vector<std::string> v;
    if (bits & child::layer_rlimits) v.push_back("rlimits");
    if (bits & child::layer_cgroup) v.push_back("pids_cgroup");
    if (bits & child::layer_namespaces)
        for (auto& n : ns.names()) v.push_back("namespace:" + n);
    if (bits & child::layer_proc) v.push_back("fresh_proc");
    if (bits & child::layer_private_tmp) v.push_back("private_tmp");
    if (bits & child::layer_no_new_privs) v.push_back("no_new_privs");
    if (bits & child::layer_landlock) v.push_back("landlock:abi" + std::to_string(landlock_abi));
    if (bits & child::layer_seccomp) v.push_back("seccomp");
    return v;
}

const char* mode_name(ScriptSpec::Mode m) {
    switch (m) {
        case ScriptSpec::Mode::file: return "file";
        case ScriptSpec::Mode::command: return "command";
        case ScriptSpec::Mode::module: return "module";
        case ScriptSpec::Mode::stdin_: return "stdin";
    }
    return "?";
}

// The record's `tmp`: whether /tmp was the run's own, its budget and what the run left in it at the end
// (the init's fstatfs after reaping everything). A full budget is also a security event.
json::Object tmp_record(RunSetup& run, const Observed& seen, std::uint32_t layers) {
    const plan::PrivateTmp& t = run.plan.tmp;
    json::Object o;
    if (!t.on) return o.add("private", false).add("why", "security.filesystem.private_tmp is false: /tmp is the host's");
    if (layers == 0) return o.add("private", false).add("why", "the sandbox was not set up");
    if (!(layers & child::layer_private_tmp))
        return o.add("private", false).add("why", "no mount namespace (enforcement: best_effort): /tmp is the host's");
    o.add("private", true).add("disk_mb", std::int64_t(t.size_bytes >> 20)).add("disk_inodes", std::int64_t(t.inodes))
        .add("delete", t.deletable).add("tmpdir", t.tmpdir);
    if (!t.deletable || !t.shm_deletable) o.add("why_blocked", "blocked_operations holds in it: " + t.why_not);
    // A working directory in the host's /tmp that no grant brings along: the script saw it empty.
    const std::string& cwd = run.cwd;
    bool cwd_bound = false;
    for (const auto& b : t.binds) cwd_bound = cwd_bound || path_within(cwd, b.path);
    if ((path_within(cwd, "/tmp") || path_within(cwd, "/dev/shm")) && !cwd_bound)
        o.add("cwd", "made empty in the private /tmp: the host's " + cwd + " is hidden");
    for (const child::Report& r : seen.reports) {
        if (r.kind != child::Report::script_ended || !r.tmp_valid) continue;
        const bool full = r.tmp_used_bytes >= r.tmp_size_bytes || r.tmp_used_inodes >= r.tmp_inodes;
        o.add("used_bytes", std::int64_t(r.tmp_used_bytes)).add("used_inodes", std::int64_t(r.tmp_used_inodes))
            .add("full", full);
        if (full)
            run.log->security("medium", "disk", "the private /tmp reached its budget (execution.disk_mb " +
                                                    std::to_string(t.size_bytes >> 20) + ", disk_inodes " +
                                                    std::to_string(t.inodes) + "): writes past it failed with ENOSPC");
    }
    return o;
}

std::string run_record(RunSetup& run, Layers& l, Observed& seen, const Outcome& out, const Usage& usage,
                       const std::vector<std::string>& layers, int exit_code) {
    RunLog& rs = *run.log;
    const Policy& policy = run.policy;
    json::Object rec;
    rec.add("run_id", rs.run_id()).add("timestamp", iso_now()).add("script_path", run.script_name)
        .add("mode", mode_name(run.spec.mode)).add("script_hash", run.script_hash).add("args", run.spec.args)
        .add("return_code", out.return_code).add("exit_code", exit_code).add("stdout_hash", seen.out_hash.hex())
        .add("stderr_hash", seen.err_hash.hex()).add("stdout_bytes", std::int64_t(seen.out_bytes))
        .add("stderr_bytes", std::int64_t(seen.err_bytes)).add("execution_time", seen.elapsed)
        .add("success", exit_code == 0).add("ended", out.ended).add_raw("resource_usage", usage.json())
        .add("peak_sampled_rss_mb", seen.peak_sample_rss).add("policy_source", policy.source)
        .add("policy_sha256", policy.sha256).add("layers", layers).add("enforcement", to_string(policy.enforcement))
        .add("user", std::int64_t(geteuid())).add("cwd", run.cwd).add("events", std::int64_t(rs.events()))
        .add("startup_events", std::int64_t(rs.startup_events())).add("denials", std::int64_t(rs.denials()))
        .add("channel_faults", std::int64_t(rs.channel_faults())).add("events_summarised", std::int64_t(rs.summarised()))
        .add("trail", trail_of(policy))
        .add("alerts", run.alerter->raised()).add_raw("network", l.network ? l.network->json : "null")
        .add_raw("kernel_trail", l.kernel.json());
    if (l.network)
        rec.add("connections_allowed", l.network->guard->allowed()).add("connections_denied", l.network->guard->denied());
    rec.add_raw("limits", limits_json(policy, l.limits));
    if (!out.limit.empty()) {
        json::Object hit;
        hit.add("limit", out.limit).add("held_by", out.limit_mechanism);
        if (out.limit_observed >= 0) hit.add("observed", out.limit_observed);
        rec.add_raw("limit_hit", hit.str());
    }
    if (seen.limit_events.oom_kills) rec.add("oom_kills", std::int64_t(seen.limit_events.oom_kills));
    if (seen.undelivered_bytes) rec.add("output_undelivered_bytes", std::int64_t(seen.undelivered_bytes));
    if (!out.error.empty()) rec.add("error", out.error);
    rec.add("sandbox_kills", std::int64_t(out.sandbox_kills));  // the sandbox's processes seccomp killed
    rec.add("tmp", tmp_record(run, seen, out.layers));
#ifdef HIVE_SANITIZE  // -DHIVE_SANITIZE=ON only: say what the sanitizer build relaxes (README "Reliability")
    rec.add("sanitizer_build", "ASan+UBSan build, not for production: RLIMIT_AS is memory_mb above ASan's reservation");
#endif
    return rec.str();
}

void print_json_result(RunSetup& run, Observed& seen, const Outcome& out, const Usage& usage,
                       const std::vector<std::string>& layers, int exit_code, int return_code) {
    json::Object o;
    o.add("success", exit_code == 0).add("stdout", seen.out_text).add("stderr", seen.err_text)
        .add("return_code", return_code).add("exit_code", exit_code).add("execution_time", seen.elapsed);
    if (!out.error.empty()) o.add("error", out.error);
    // At most OutputRelay::kMaxCaptured bytes of each stream; the record's hashes cover all of it.
    if (seen.out_truncated) o.add("stdout_truncated", true).add("stdout_bytes", std::int64_t(seen.out_bytes));
    if (seen.err_truncated) o.add("stderr_truncated", true).add("stderr_bytes", std::int64_t(seen.err_bytes));
    o.add("run_id", run.log->run_id()).add("policy_source", run.policy.source).add("layers", layers)
        .add("log_dir", run.log_dir).add_raw("resource_usage", usage.json()).add("alerts", run.alerter->raised());
    std::vector<std::string> denials;
    for (const auto& d : run.log->denial_list()) {
        json::Object j;
        j.add("event", d.event).add("target", d.target).add("rule", d.rule)
            .add("decision", channel::to_string(d.decision));
        denials.push_back(j.str());
    }
    std::string list;
    for (const auto& d : denials) list += (list.empty() ? "" : ",") + d;
    o.add_raw("denials", "[" + list + "]").add("denial_count", std::int64_t(run.log->denials()));
    write_all(1, o.str() + "\n");
}

// One line naming the run's denials (a script that catches its PermissionError would otherwise leave
// no sign of them), how many alerts it raised, and how to see them; quiet when nothing was denied.
std::string closing_line(RunSetup& run) {
    RunLog& rs = *run.log;
    const auto& alerts = run.alerter->for_stderr();
    if (rs.denials() == 0) return "";  // alerts have their own lines
    const std::string& id = rs.run_id();
    std::string line = "hive-py: run " + id + ": " + std::to_string(rs.denials()) + " denied";
    const auto& listed = rs.denial_list();
    if (!listed.empty()) {
        line += " (";
        for (std::size_t i = 0; i < listed.size() && i < 3; ++i)
            line += (i ? ", " : "") + listed[i].event + (listed[i].target.empty() ? "" : " " + printable(listed[i].target));
        if (rs.denials() > 3) line += ", ...";
        line += ")";
    }
    line += ", " + std::to_string(alerts.size()) + (alerts.size() == 1 ? " alert" : " alerts");
    const bool default_dir = run.log_dir == normalize_path(default_log_dir(), run.cwd);
    line += "; see: hive-py audit show " + (default_dir ? std::string() : run.log_dir + " ") + "--run " + id;
    return line;
}

// stderr carries hive-py's own words only here, after the script's: one line for a run hive-py ended
// (naming any alerts with it), or one line per alert of a run the script ended itself; then the closing
// line when the run had denials or alerts.
void print_stderr_lines(RunSetup& run, const Outcome& out) {
    const std::string& id = run.log->run_id();
    if (!out.message.empty()) {
        std::string also;
        for (auto& a : run.alerter->for_stderr()) also += (also.empty() ? "; alerts: " : ", ") + a.substr(0, a.find(':'));
        std::fprintf(stderr, "hive-py: %s (run %s, audit log %s%s)\n", out.message.c_str(), id.c_str(),
                     run.log_dir.c_str(), also.c_str());
    } else {
        for (auto& a : run.alerter->for_stderr()) std::fprintf(stderr, "hive-py: alert: %s (run %s)\n", a.c_str(), id.c_str());
    }
    if (const std::string c = closing_line(run); !c.empty()) std::fprintf(stderr, "%s\n", c.c_str());
}

}  // namespace

void print_json_failure(const std::string& message, int exit_code) {
    json::Object o;
    o.add("success", false).add("stdout", "").add("stderr", "").add("return_code", exit_code)
        .add("exit_code", exit_code).add("execution_time", 0.0).add("error", "hive-py: error: " + message);
    write_all(1, o.str() + "\n");
}

void check_thresholds(RunSetup& run, double cpu_s, double mem_mb, double elapsed_s) {
    const Policy& policy = run.policy;
    const auto& th = policy.monitoring.alert_thresholds;
    const double cpu_pct = 100.0 * cpu_s / policy.execution.cpu_seconds;
    const double mem_pct = 100.0 * mem_mb / policy.execution.memory_mb;
    char m[160];
    if (cpu_pct >= th.cpu_usage) {
        std::snprintf(m, sizeof m, "CPU time %.2f s is %.0f%% of cpu_seconds (threshold %g%%)", cpu_s, cpu_pct, th.cpu_usage);
        run.alerter->raise("cpu_usage", m, cpu_pct, th.cpu_usage);
    }
    if (mem_pct >= th.memory_usage) {
        std::snprintf(m, sizeof m, "memory %.1f MB is %.0f%% of memory_mb (threshold %g%%)", mem_mb, mem_pct, th.memory_usage);
        run.alerter->raise("memory_usage", m, mem_pct, th.memory_usage);
    }
    if (elapsed_s >= th.execution_time) {
        std::snprintf(m, sizeof m, "execution time %.3f s reached the threshold of %g s", elapsed_s, th.execution_time);
        run.alerter->raise("execution_time", m, elapsed_s, th.execution_time);
    }
}

int conclude(const Options& opts, RunSetup& run, Layers& l, Launched& launched, Observed& seen) {
    if (l.cgroup) seen.limit_events.oom_kills = l.cgroup->oom_kills();
    const Outcome out = judge(seen.reports, seen.timed_out, seen.wait_status, seen.usage, run.policy, *run.log,
                              seen.limit_events, l.limits);
    const std::vector<std::string> layers = layer_names(out.layers, launched.namespaces, l.landlock.abi);
    int exit_code = out.exit_code, return_code = out.return_code;
    Usage usage = usage_from(seen.usage, seen.io, seen.elapsed);
    if (l.cgroup) {
        const bool v2 = l.cgroup->v2();
        usage.take_cgroup(l.cgroup->peak_memory_mb(),
                          v2 ? "cgroup v2 memory.peak"
                             : "cgroup v1 memory.max_usage_in_bytes",
                          l.cgroup->cpu_seconds(),
                          v2 ? "the run's cgroup v2 cpu.stat usage_usec" : "the run's cgroup v1 cpuacct.usage");
    }
    if (seen.limit_events.cpu_seen > usage.tree_cpu_seconds) {
        // A tree killed before its init reaped it: its rusage lost the killed processes' CPU.
        usage.tree_cpu_seconds = seen.limit_events.cpu_seen;
        usage.cpu_source = "the parent's last check of the tree's CPU (" + l.limits.cpu.substr(0, l.limits.cpu.find(';')) + ")";
    }
    check_thresholds(run, usage.tree_cpu_seconds, usage.peak_memory_mb, seen.elapsed);
    if (exit_code != 0)
        run.alerter->raise("run_failed", "the run failed: exit " + std::to_string(exit_code) + " (" + out.ended + ")",
                           exit_code, 0, /*to_stderr=*/false);
    run.alerter->finish(5.0);

    if (seen.undelivered_bytes)
        run.log->security("medium", "output", std::to_string(seen.undelivered_bytes) +
                                                  " bytes of the script's output were not taken by hive-py's caller "
                                                  "before the run ended: dropped (their hashes are in the record)");
    run.log->finish(run_record(run, l, seen, out, usage, layers, exit_code));
    HIVE_MARK("p.records");
    const std::vector<std::string> log_errors = run.log->errors();
    for (auto& e : log_errors) std::fprintf(stderr, "hive-py: error: audit log: %s\n", e.c_str());
    // A run whose record could not be kept did not succeed, whatever the script did.
    if (!log_errors.empty() && exit_code == 0) exit_code = return_code = 125;

    if (opts.json) print_json_result(run, seen, out, usage, layers, exit_code, return_code);
    print_stderr_lines(run, out);
    if (seen.init_to_reap)
        while (waitpid(launched.init, nullptr, 0) < 0 && errno == EINTR) {
        }
    HIVE_MARK("p.reaped");
    return exit_code;
}

}  // namespace hive
