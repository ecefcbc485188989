// One run as it moves through the supervisor's phases (supervisor.cc):
//   prepare (prepare.cc: policy, script, plan, placement, logs, key)
//   -> layers (layers.cc: pipes, ring, network, Landlock, seccomp, cgroup, the hook's configuration)
//   -> launch (launch.cc: clone into the namespaces, the cgroup move, the missing-layer verdict)
//   -> supervise (loop.cc: one event loop owning the relays, the channel, the pidfd, timers, the guard)
//   -> conclude (conclude.cc: the outcome, alerts, the run record, hive-py's result and exit status).
// Each phase fills its own struct; later phases read the earlier ones.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "channel/ring.h"
#include "child/audit_hook.h"
#include "child/child_main.h"
#include "child/report.h"
#include "common/secret.h"
#include "common/sha256.h"
#include "common/unique_fd.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "sandbox/landlock.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp.h"
#include "supervisor/alerts.h"
#include "supervisor/terminal.h"
#include "supervisor/cgroup.h"
#include "supervisor/kernel_trail.h"
#include "supervisor/limits.h"
#include "supervisor/netguard.h"
#include "supervisor/options.h"
#include "supervisor/resources.h"
#include "supervisor/run_log.h"

namespace hive {

using Clock = std::chrono::steady_clock;

// A phase that cannot go on: hive-py's exit code (2: nothing ran and the user can fix it; 125: the sandbox
// could not be set up) and the one line that says why.
struct Stop {
    int exit_code = 125;
    std::string message;
};
using Phase = std::optional<Stop>;  // nullopt: go on

struct RunSetup {
    Clock::time_point started;
    std::string cwd;
    Policy policy;
    std::shared_ptr<const Secret> alert_command;  // moved out of the policy (zeros in every fork)
    ScriptSpec spec;
    std::string script_hash;
    std::string script_name;  // the script's absolute path, the -c code or the module
    plan::Plan plan;          // reads `policy`: RunSetup never moves
    std::string log_dir;
    std::optional<RunLog> log;
    std::optional<Alerter> alerter;
    bool strict = true;

    RunSetup() = default;
    RunSetup(const RunSetup&) = delete;
    RunSetup& operator=(const RunSetup&) = delete;
};

// The pipes between the parent and the sandbox: read ends stay here, write ends go to the init.
struct Pipes {
    UniqueFd report_r, report_w, out_r, out_w, err_r, err_w, life_r, life_w, joined_r, joined_w;
};

struct Layers {
    std::vector<std::string> missing;  // layers the policy wants and this machine lacks
    Pipes pipes;
    std::optional<channel::Ring> ring;
    std::unique_ptr<NetworkSetup> network;  // null: no network at all
    landlock::Prepared landlock;
    UniqueFd script_scope;
    seccomp::Prepared seccomp;
    std::optional<RunCgroup> cgroup;
    KernelTrail kernel;  // the kernel's audit records of the run (opened before the clone)
    LimitHolding limits;  // how memory_mb, cpu_seconds and max_processes are held in this run
    hook::Config hook;
    child::Args child;

    Layers() = default;
    Layers(const Layers&) = delete;
    Layers& operator=(const Layers&) = delete;
};

struct Launched {
    pid_t init = -1;   // pid 1 of the sandbox's namespaces
    UniqueFd pidfd;    // readable when the init has ended
    namespaces::Set namespaces;
    std::optional<TerminalGuard> terminal;  // the caller's terminals as they were before the clone
};

// What the supervisor's loop saw, for the record.
struct Observed {
    Sha256 out_hash, err_hash;
    std::string out_text, err_text;  // --json only, at most OutputRelay::kMaxCaptured bytes each
    bool out_truncated = false, err_truncated = false;
    std::uint64_t out_bytes = 0, err_bytes = 0;
    std::uint64_t undelivered_bytes = 0;  // output the caller did not take before the run's end
    std::vector<child::Report> reports;
    bool timed_out = false;
    LimitEvents limit_events;  // the parent's kill past cpu_seconds, the kernel's OOM kills
    bool init_to_reap = false;  // the run ended on the init's report; the init itself is reaped last
    int wait_status = 0;
    rusage usage{};
    IoCounters io;
    double peak_sample_rss = 0;
    double elapsed = 0;
};

// The phases, in order. Each returns a Stop when the run cannot go on; conclude returns the exit code.
Phase prepare(const Options& opts, RunSetup& run);
Phase prepare_layers(RunSetup& run, Layers& layers);
Phase launch(RunSetup& run, Layers& layers, Launched& launched);
Observed supervise(RunSetup& run, Layers& layers, Launched& launched, bool capture_output);
int conclude(const Options& opts, RunSetup& run, Layers& layers, Launched& launched, Observed& seen);

// The thresholds of monitoring.alert_thresholds, checked on each resource sample and on the final figures.
void check_thresholds(RunSetup& run, double cpu_seconds, double memory_mb, double elapsed_seconds);

}  // namespace hive
