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
    hc.write_paths = plan.paths({plan::Access::read_write, plan::Access::device_rw});
    hc.read_paths = plan.paths({plan::Access::read, plan::Access::read_write, plan::Access::exec,
                                plan::Access::device_rw});
    for (const plan::Grant& g : plan.grants)
        if (g.access == plan::Access::exec && g.origin == plan::Origin::policy) hc.exec_paths.push_back(g.path);
    hc.blocked = policy.filesystem.blocked;
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
