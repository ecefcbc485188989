// The C-level PEP 578 audit hook and the import policy it shares with the meta-path finder.
//
// Registered with PySys_AddAuditHook before the interpreter starts, so no Python code can remove it or
// veto its addition. Its state is plain C++ (no Python objects). It renders every event's arguments
// without running Python code, writes one record per event into the event ring *before* returning (so
// the record exists before the operation proceeds), and refuses, with a clear Python exception, what
// the policy forbids. The kernel layers remain the enforcement: this is the explanation and the record.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "channel/ring.h"
#include "policy/policy.h"

// CPython's object type, declared as Python.h declares it (this header stays free of Python.h).
struct _object;
typedef struct _object PyObject;

namespace hive::hook {

struct Config {
    channel::Header* ring = nullptr;
    std::vector<std::string> write_paths;  // may be written (policy allowed_paths; the private /tmp: below)
    std::vector<std::string> read_paths;   // may be read (system paths, read-only paths, script dir, write paths)
    BlockedOps blocked;
    // The run's private /tmp and /dev/shm: readable and writable but for the host's trees bound into them
    // (`scratch_binds`, which write_paths and read_paths judge). Below `scratch_deletable` (/tmp, /dev/shm,
    // or the scratch TMPDIR) what blocked_operations names (delete, rename/replace, truncate) is allowed:
    // the run's own files, which the kernel lets it remove (Landlock's rule on the tmpfs).
    std::vector<std::string> scratch_paths;
    std::vector<std::string> scratch_binds;
    std::vector<std::string> scratch_deletable;
    // The policy's grants of the host's /tmp or /dev/shm themselves, hidden by the private ones: they
    // apply only if the init could not mount those (scratch_unavailable clears scratch_mounted).
    std::vector<std::string> hidden_write_paths, hidden_read_paths;
    bool scratch_mounted = true;
    bool network = false;           // allowed_domains non-empty
    std::unordered_set<std::string> allowed_hosts;  // the allowed domains and the addresses they resolved to
    std::vector<int> blocked_ports;
    bool allow_subprocess = false;
    std::vector<std::string> exec_paths;  // programs the script may start (when allow_subprocess)
    std::unordered_set<std::string> import_allow;  // top-level names allowed besides the stdlib's
    std::unordered_set<std::string> import_deny;   // top-level names always refused
    std::vector<std::string> denied_files;         // stdlib files/dirs of denied modules (prefixes)
    // The policy allows native code (ctypes, _ctypes, cffi or _cffi_backend in security.imports.allow):
    // then the native-code routes of the stdlib (ctypes' operations, SQLite extensions) stay open.
    // Extension modules are judged by name and file under every policy.
    bool native_code = false;
    // The only directory extension modules load from: the stdlib's lib-dynload, by its real path (no
    // symlinked component), which the sandbox cannot write.
    std::string dynload_dir = "/usr/lib/python3.11/lib-dynload";
    // security.imports.site: the site directories on sys.path (real paths, read-only to the script),
    // whose packages' extension modules load under their own dotted names.
    std::vector<std::string> site_dirs;
};

// The private /tmp could not be made (no mount namespace): /tmp is the host's, as the policy grants it.
// Called in the sandbox's init: it allocates nothing.
void scratch_unavailable(Config& cfg);

// Install the hook and the open_code hook (before Py_Initialize*). `cfg` must outlive the interpreter.
bool install(Config* cfg);

// After the interpreter is up: learn sys.stdlib_module_names (allowed by default).
void learn_stdlib_names();

// After the interpreter starts, before the script: the stdlib types whose path the hook may read (os.DirEntry).
void learn_types();

// The import decision, shared with the meta-path finder. Returns "" when allowed, else the reason.
std::string import_refusal(std::string_view fullname);
// The same, but "" for a name outside the whitelist that no entry of `search_path` (sys.path when null:
// a list of str) provides, so that the import system says ModuleNotFoundError as under python3 and no
// denial is recorded for what does not exist (the stdlib probes such names: copy's `org.python.core`).
// Names on security.imports.deny are refused whatever exists.
std::string import_refusal_if_found(std::string_view fullname, PyObject* search_path);
bool on_search_path(const std::string& top, PyObject* path);

// The decision on loading the extension module `fullname` from `file` (CPython's `import` event with a
// file name, raised by every route to dlopen: the import system, ExtensionFileLoader, _imp.create_dynamic,
// imp.load_dynamic), before the file is opened. Returns "" when allowed, else the reason.
std::string extension_refusal(std::string_view fullname, const std::string& file);

// Counters for the parent's summary.
std::uint64_t startup_events();

}  // namespace hive::hook
