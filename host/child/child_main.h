// The sandbox's two processes. The parent clone()s the first one into new namespaces: it is pid 1 of
// the new pid namespace, applies the sandbox (sandbox::apply_all) and forks the script's process, then
// only reaps. The script must not run as pid 1: pid 1 ignores default-action signals, so the soft
// SIGXCPU of the CPU limit would never end it.
#pragma once

#include <string>
#include <vector>

#include "child/audit_hook.h"
#include "child/script.h"
#include "sandbox/setup.h"

namespace hive::child {

struct Args {
    sandbox::ChildPlan plan;
    ScriptSpec spec;
    hook::Config* hook_cfg = nullptr;
    int report_fd = -1;                // write end of the report pipe
    int lifeline_fd = -1;              // read end of a pipe only the parent writes: EOF = the parent is gone
    std::vector<int> keep_fds;         // besides 0-2 and report_fd: fds the script process keeps (ring wake-up)
    std::vector<std::string> env;      // the script's whole environment, "NAME=value"
};

[[noreturn]] void init_main(const Args& args);

}  // namespace hive::child
