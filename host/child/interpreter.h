// The embedded CPython of the script's process: an isolated configuration (no PYTHON* variables, no
// user site, no `site`, Debian's stdlib only), the audit hook registered before start-up, the import
// finder installed before the script's first line, then the script run as `python3 -I` runs it.
#pragma once

#include "child/audit_hook.h"
#include "child/script.h"

namespace hive::interpreter {

// Never returns: runs the script and ends the process with Python's exit code (or dies by the signal
// that ended it, as python3 does for an unhandled KeyboardInterrupt). Failures before the script runs
// are written to `report_fd` and end the process with 125.
// `cgroup_fd` (-1: none): the parent's word that this process is in the run's pids cgroup, read after the
// interpreter has started and before the script's first line; a failure ends the run as a set-up failure.
[[noreturn]] void run(const ScriptSpec& spec, hook::Config& hook_cfg, int report_fd, int cgroup_fd = -1);

// First thing in the script's process, before anything else writes memory: breaks copy-on-write for the
// executable's data segment and the inherited heap in one call each (see interpreter.cc).
void prefault();

}  // namespace hive::interpreter
