#include "supervisor/limits.h"

#include "common/json.h"

namespace hive {

LimitHolding limit_holding(const Policy& policy, const RunCgroup* cg, bool host_root) {
    LimitHolding h;
    const auto& e = policy.execution;
    const std::string every = std::to_string(kCpuCheckPeriod.count()) + " ms";
    if (cg && cg->has_memory()) {
        h.memory_by_cgroup = true;
        h.memory = cg->memory_mechanism() +
                   " for the run's total (every process, memfd, tmpfs and shared memory pages included); RLIMIT_AS "
                   "per process";
    } else {
        // The run's processes: max_processes (RLIMIT_NPROC or pids.max) plus the sandbox's init.
        const long total = long(e.memory_mb) * long(e.max_processes + 1);
        h.memory = "RLIMIT_AS per process (memory_mb each, at most max_processes + 1 processes: " +
                   std::to_string(total) +
                   " MB of address space for the run); memfd, tmpfs and shared memory pages not counted";
    }
    if (cg && cg->has_cpu()) {
        h.cpu_by_cgroup = true;
        h.cpu = cg->cpu_mechanism() + " of the run's whole tree, checked by the parent every " + every +
                "; RLIMIT_CPU per process";
    } else {
        h.cpu = "the tree's CPU summed by the parent every " + every +
                " (/proc/<pid>/stat of the init and its live descendants, with the children each has reaped); "
                "RLIMIT_CPU per process";
    }
    if (cg && cg->has_pids()) {
        h.processes = std::string(cg->v2() ? "cgroup v2" : "cgroup v1") + " pids.max (threads counted); RLIMIT_NPROC";
    } else if (host_root) {
        h.processes_held = false;
        h.processes = "not held: uid 0 ignores RLIMIT_NPROC and no pids cgroup could be had";
    } else {
        h.processes = "RLIMIT_NPROC (the caller's uid in all, threads counted)";
    }
    return h;
}

std::string limits_json(const Policy& policy, const LimitHolding& h) {
    const auto& e = policy.execution;
    auto one = [](std::int64_t value, const std::string& mechanism) {
        json::Object o;
        o.add("value", value).add("held_by", mechanism);
        return o.str();
    };
    json::Object o;
    o.add_raw("memory_mb", one(e.memory_mb, h.memory))
        .add_raw("cpu_seconds", one(e.cpu_seconds, h.cpu))
        .add_raw("max_processes", one(e.max_processes, h.processes));
    return o.str();
}

}  // namespace hive
