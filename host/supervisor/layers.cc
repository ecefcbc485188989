// Phase 2 of a run: every layer prepared in the parent from the run's plan, so that the child only
// applies them: the pipes and the event ring, the network allow-list, the Landlock ruleset, the seccomp
// program, the run's cgroup, the hook's configuration and the child's arguments. A failure here is the
// machine's, not the user's: exit 125.
#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/trace.h"
#include "supervisor/hook_config.h"
#include "supervisor/run_state.h"

namespace hive {

namespace {

constexpr std::size_t kRingBytes = 1 << 20;

Stop machine_error(std::string message) { return Stop{125, std::move(message)}; }

Status make_pipe(UniqueFd& r, UniqueFd& w) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe2", "O_CLOEXEC");
    r.reset(p[0]);
    w.reset(p[1]);
    return {};
}

Phase make_channel(Layers& l) {
    Pipes& pp = l.pipes;
    for (auto [r, w] : {std::pair{&pp.report_r, &pp.report_w}, std::pair{&pp.out_r, &pp.out_w},
                        std::pair{&pp.err_r, &pp.err_w}, std::pair{&pp.life_r, &pp.life_w}}) {
        Status st = make_pipe(*r, *w);
        if (!st.ok()) return machine_error(st.error().message);
    }
    auto ring = channel::Ring::create(kRingBytes);
    if (!ring) return machine_error(ring.error().message);
    l.ring.emplace(std::move(*ring));
    return std::nullopt;
}

// Network allow-list (netguard.h): resolved now, a hosts file with only those names, connect() to us.
Phase make_network(RunSetup& run, Layers& l) {
    auto net = setup_network(run.policy);
    if (!net) return machine_error("network: " + net.error().message);
    l.network = std::move(*net);
    if (!l.network) return std::nullopt;
    for (auto& d : l.network->unresolved) {
        std::fprintf(stderr, "hive-py: warning: allowed domain '%s' resolves to no address (wildcards cannot be "
                             "checked): it is unreachable in this run\n", d.c_str());
        run.log->security("medium", "network", "allowed domain " + d + " resolves to no address: unreachable");
    }
    Status st = plan::add_network_files(run.plan, l.network->read_paths, l.network->binds);
    if (!st.ok()) return machine_error("network: " + st.error().message);
    return std::nullopt;
}

Phase make_landlock(RunSetup& run, Layers& l) {
    landlock::Support support = landlock::probe();
    if (support.abi == 0) {
        l.missing.push_back("landlock (" + support.why_not + ")");
        return std::nullopt;
    }
    auto p = landlock::prepare(run.plan, support);
    if (!p) return machine_error("landlock: " + p.error().message);
    l.landlock = std::move(*p);
    auto scope = landlock::prepare_script_scope(support);
    if (!scope) return machine_error("landlock: " + scope.error().message);
    l.script_scope = std::move(*scope);
    return std::nullopt;
}

Phase make_cgroup(RunSetup& run, Layers& l) {
    const auto& e = run.policy.execution;
    RunCgroup::Limits lim;
    lim.max_pids = e.max_processes + 1;  // and the sandbox's init
    lim.memory_bytes = std::uint64_t(e.memory_mb) * 1024 * 1024;
    auto cg = RunCgroup::create(run.log->run_id(), lim);
    if (cg) {
        l.cgroup.emplace(std::move(*cg));
        Status st = make_pipe(l.pipes.joined_r, l.pipes.joined_w);
        if (!st.ok()) return machine_error(st.error().message);
    }
    // Only max_processes for uid 0 cannot be held without a cgroup; memory_mb and cpu_seconds are held by
    // other means (limits.h), which the record names.
    if (run.plan.ids.host_root && !(l.cgroup && l.cgroup->has_pids()))
        l.missing.push_back("pids cgroup (" + (cg ? l.cgroup->missing().front() : cg.error().message) +
                            "): max_processes cannot hold for uid 0 without it");
    l.limits = limit_holding(run.policy, l.cgroup ? &*l.cgroup : nullptr, run.plan.ids.host_root);
    return std::nullopt;
}

// The writable mounts of the sandbox's tree: the plan's writable grants, by identity.
std::vector<namespaces::Plan::Mount> writable_mounts(const plan::Plan& plan) {
    std::vector<namespaces::Plan::Mount> v;
    for (const plan::Grant& g : plan.grants) {
        if (g.access != plan::Access::read_write && g.access != plan::Access::device_rw) continue;
        if (!g.exists) continue;  // a missing allowed path stays missing (as in Landlock)
        if (g.scratch) continue;  // the private /tmp: mounted by the init itself (namespaces.h: Scratch)
        v.push_back({g.path, g.dev, g.ino, g.access == plan::Access::device_rw});
    }
    return v;
}

void make_child_args(RunSetup& run, Layers& l) {
    child::Args& ca = l.child;
    ca.plan.policy = &run.policy;
    ca.plan.landlock = &l.landlock;
    ca.plan.seccomp = &l.seccomp;
    ca.plan.cgroup_joined_fd = l.pipes.joined_r.get();
    ca.plan.connect_notify = l.network ? &l.network->connect_notify : nullptr;
    ca.plan.script_scope_fd = l.script_scope.get();
    ca.plan.ns.outer_uid = run.plan.ids.outer_uid;
    ca.plan.ns.outer_gid = run.plan.ids.outer_gid;
    ca.plan.ns.binds = run.plan.binds;
    ca.plan.ns.writable = writable_mounts(run.plan);
    const plan::PrivateTmp& tmp = run.plan.tmp;
    ca.plan.ns.scratch.on = tmp.on;
    ca.plan.ns.scratch.size_bytes = tmp.size_bytes;
    ca.plan.ns.scratch.inodes = tmp.inodes;
    if (tmp.tmpdir != "/tmp") ca.plan.ns.scratch.tmpdir = tmp.tmpdir;
    for (const auto& b : tmp.binds) ca.plan.ns.scratch.binds.push_back({b.path, b.source, b.dev, b.ino, b.is_dir});
    ca.spec = run.spec;
    ca.hook_cfg = &l.hook;
    ca.report_fd = l.pipes.report_w.get();
    ca.lifeline_fd = l.pipes.life_r.get();  // the write end stays open in this process until it exits
    ca.keep_fds = {l.ring->wake_fd()};
    auto passed = [&](const char* name) {
        for (const auto& n : run.policy.execution.env_passthrough)
            if (n == name) return std::getenv(name) != nullptr;
        return false;
    };
    for (const auto& name : run.policy.execution.env_passthrough)
        if ((name != "TMPDIR" && name != "HOME") || !tmp.on)
            if (const char* v = std::getenv(name.c_str())) ca.env.push_back(name + "=" + v);
    // tempfile and the C library's temporary files go to the private /tmp (the init drops this where no
    // mount namespace could be had); so does the run's home (Path.home(), `~`, ~/.cache): an empty
    // directory of its own, gone with it, never the caller's.
    if (tmp.on) {
        ca.env.push_back("TMPDIR=" + tmp.tmpdir);
        ca.env.push_back("HOME=" + tmp.tmpdir);
    }
    // getpass.getuser() reads these before the user database (which the sandbox cannot read): the
    // caller's login name, as python3 would see it.
    if (!passed("LOGNAME") && !passed("USER")) {
        std::string name;
        if (const char* v = std::getenv("LOGNAME"); v && *v) name = v;
        else if (const char* u = std::getenv("USER"); u && *u) name = u;
        else if (const passwd* pw = ::getpwuid(::getuid())) name = pw->pw_name;
        if (!name.empty() && name.find('\0') == std::string::npos) {
            ca.env.push_back("LOGNAME=" + name);
            ca.env.push_back("USER=" + name);
        }
    }
}

}  // namespace

Phase prepare_layers(RunSetup& run, Layers& l) {
    HIVE_MARK("p.logs");
    if (auto stop = make_channel(l)) return stop;
    if (auto stop = make_network(run, l)) return stop;
    HIVE_MARK("p.net");
    if (auto stop = make_landlock(run, l)) return stop;
    HIVE_MARK("p.landlock");
    // Subscribed before the clone, so that no record of the run comes before the reader.
    l.kernel = KernelTrail::open(run.policy.monitoring.kernel_trail, run.log->run_id(), l.landlock.abi);
    if (!l.kernel.active() && run.policy.monitoring.kernel_trail == KernelTrailMode::required)
        return machine_error("security.monitoring.kernel_trail is required, but the kernel's own audit records "
                             "cannot be read here: " + l.kernel.reason());
    // Only the ring's wake-up fd stays in the script's process; the report pipe is closed there before
    // the script's first line (only the sandbox's init, which runs no script code, keeps it).
    // With a private /tmp the run deletes and renames its own files there: blocked `delete` is then held by
    // Landlock alone (no tree of the host has REMOVE_* or REFER), not by seccomp's refusal of every unlink.
    const bool delete_by_landlock = run.plan.tmp.on && l.landlock.ruleset.valid();
    auto sc = seccomp::prepare(run.plan, {l.ring->wake_fd()}, delete_by_landlock);
    if (!sc) return machine_error("seccomp: " + sc.error().message);
    l.seccomp = std::move(*sc);
    HIVE_MARK("p.seccomp");
    if (auto stop = make_cgroup(run, l)) return stop;
    HIVE_MARK("p.cgroup");
    l.hook = make_hook_config(run.plan, l.network ? l.network->addresses : std::vector<std::string>{},
                              l.ring->header());
    make_child_args(run, l);
    return std::nullopt;
}

}  // namespace hive
