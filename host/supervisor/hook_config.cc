#include "supervisor/hook_config.h"

#include "policy/native_code.h"

#include <limits.h>
#include <stdlib.h>

namespace hive {

hook::Config make_hook_config(const plan::Plan& plan, const std::vector<std::string>& resolved_addresses,
                              channel::Header* ring) {
    const Policy& policy = *plan.policy;
    hook::Config hc;
    hc.ring = ring;
    // The same paths as Landlock's rules, from the same plan: the hook refuses what the kernel would.
    for (const plan::Grant& g : plan.grants) {
        if (g.scratch) continue;  // the private /tmp and /dev/shm: below
        // The host's /tmp (or /dev/shm) itself is hidden by the private one, unless the init cannot mount it.
        const bool hidden = plan.tmp.on && (g.path == "/tmp" || g.path == "/dev/shm");
        if (g.access == plan::Access::read_write || g.access == plan::Access::device_rw)
            (hidden ? hc.hidden_write_paths : hc.write_paths).push_back(g.path);
        (hidden ? hc.hidden_read_paths : hc.read_paths).push_back(g.path);
    }
    for (const plan::Grant& g : plan.grants)
        if (g.access == plan::Access::exec && g.origin == plan::Origin::policy) hc.exec_paths.push_back(g.path);
    hc.blocked = policy.filesystem.blocked;
    // The private /tmp and /dev/shm, and the host's trees bound into them (judged by their own grants).
    for (const plan::Grant& g : plan.grants)
        if (g.scratch) hc.scratch_paths.push_back(g.path);
    for (const auto& b : plan.tmp.binds) hc.scratch_binds.push_back(b.path);
    if (plan.tmp.on) {
        hc.scratch_deletable.push_back(plan.tmp.tmpdir);  // /tmp, or the scratch directory below it
        if (plan.tmp.shm_deletable) hc.scratch_deletable.push_back("/dev/shm");
    }
    hc.network = !policy.network.allowed_domains.empty();
    hc.blocked_ports = policy.network.blocked_ports;
    for (auto& d : policy.network.allowed_domains) hc.allowed_hosts.insert(d);
    if (hc.network) {
        hc.allowed_hosts.insert(resolved_addresses.begin(), resolved_addresses.end());
        for (const auto& bind : plan.binds) hc.read_paths.push_back(bind.second);  // generated, bound over /etc's
    }
    hc.allow_subprocess = policy.execution.allow_subprocess;
    for (auto& m : policy.imports.allow) hc.import_allow.insert(m.substr(0, m.find('.')));
    // ctypes and cffi give native code the whole address space: refused unless a policy allows them.
    hc.native_code = allows_native_code(policy);
    for (std::string_view m : kNativeCodeModules)
        if (!hc.import_allow.count(std::string(m))) hc.import_deny.insert(std::string(m));
    hc.site_dirs = plan.site_dirs;
    // By its real path: the hook accepts an extension module only under exactly this name.
    if (char real[PATH_MAX]; realpath(hc.dynload_dir.c_str(), real)) hc.dynload_dir = real;
    for (auto& m : policy.imports.deny) hc.import_deny.insert(m.substr(0, m.find('.')));
    for (auto& m : hc.import_deny) {
        hc.denied_files.push_back("/usr/lib/python3.11/" + m);
        hc.denied_files.push_back("/usr/lib/python3.11/" + m + ".py");
        hc.denied_files.push_back("/usr/lib/python3.11/lib-dynload/" + m + ".cpython-311-x86_64-linux-gnu.so");
    }
    return hc;
}

}  // namespace hive
