// identity: what a root caller lends the script. The sandbox's uid 1000 is the caller's own uid outside
// (namespaces.cc), so run by root the script owns, outside, whatever root owns in the paths the policy
// opens to it (it has no capability: root's power reaches it through ownership, not through
// CAP_DAC_OVERRIDE). seccomp refuses it setuid/setgid bits under every policy; what a policy opens is
// the caller's choice, which --check-policy warns about here.
#pragma once

#include <string>
#include <vector>

#include "policy/policy.h"

namespace hive::identity {

// For a root caller: one line per path of the policy that opens a system directory (/etc, /usr, /bin,
// /sbin, /lib*, /boot, /root, /var/lib, /var/spool, /run, /proc, /sys, /dev, or "/" itself) to writes,
// or a secret (/etc/shadow, /etc/gshadow, /etc/sudoers, /etc/ssh, /etc/ssl/private, /root and its
// .ssh) to reads or writes, by being it, lying inside it or containing it; and one per writable
// world-writable shared directory (/tmp, /var/tmp, /dev/shm), where what the script leaves is owned by
// root. Empty when nothing is exposed. Lexical: the policy's paths are already absolute and normalised.
std::vector<std::string> root_exposure_warnings(const Policy& policy);

}  // namespace hive::identity
