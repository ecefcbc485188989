#include "supervisor/hook_config.h"

#include <initializer_list>

namespace hive {

hook::Config make_hook_config(const Policy& policy, const landlock::RunPaths& run_paths,
                              const std::vector<std::string>& resolved_addresses, channel::Header* ring) {
    hook::Config hc;
    hc.ring = ring;
    hc.write_paths = policy.filesystem.allowed_paths;
    hc.read_paths = landlock::system_read_paths();
    for (const std::vector<std::string>* v : std::initializer_list<const std::vector<std::string>*>{
             &policy.filesystem.read_only_paths, &policy.filesystem.allowed_paths, &run_paths.read_only,
             &policy.filesystem.exec_paths})
        hc.read_paths.insert(hc.read_paths.end(), v->begin(), v->end());
    hc.blocked = policy.filesystem.blocked;
    hc.network = !policy.network.allowed_domains.empty();
    hc.blocked_ports = policy.network.blocked_ports;
    for (auto& d : policy.network.allowed_domains) hc.allowed_hosts.insert(d);
    if (hc.network) {
        hc.allowed_hosts.insert(resolved_addresses.begin(), resolved_addresses.end());
        hc.read_paths.push_back("/etc/hosts");  // the generated ones, bound over the real files
        hc.read_paths.push_back("/etc/resolv.conf");
    }
    hc.allow_subprocess = policy.execution.allow_subprocess;
    hc.exec_paths = policy.filesystem.exec_paths;
    for (auto& m : policy.imports.allow) hc.import_allow.insert(m.substr(0, m.find('.')));
    // ctypes and cffi give native code the whole address space: refused unless a policy allows them.
    for (const char* m : {"ctypes", "_ctypes", "cffi", "_cffi_backend"})
        if (!hc.import_allow.count(m)) hc.import_deny.insert(m);
    for (auto& m : policy.imports.deny) hc.import_deny.insert(m.substr(0, m.find('.')));
    for (auto& m : hc.import_deny) {
        hc.denied_files.push_back("/usr/lib/python3.11/" + m);
        hc.denied_files.push_back("/usr/lib/python3.11/" + m + ".py");
        hc.denied_files.push_back("/usr/lib/python3.11/lib-dynload/" + m + ".cpython-311-x86_64-linux-gnu.so");
    }
    return hc;
}

}  // namespace hive
