// The sanitizer build's runtime options (-DHIVE_SANITIZE=ON only; linked into every executable of that
// build). Compiled in rather than read from ASAN_OPTIONS because hive-py's tests, like its users, run
// it with a clean environment, and the sandbox's processes are forks that inherit what the runtime read
// at the parent's start. ASAN_OPTIONS/UBSAN_OPTIONS in the environment still override these.
//
// - allocator_may_return_null: an allocation the memory limit refuses returns NULL (Python's MemoryError,
//   as in the normal build) instead of ASan ending the process with a report.
// - handle_segv/sigbus/sigfpe/sigill/abort=0: the script's own crashes (ctypes, os.abort) end it with
//   the signal, as in the normal build (tests check 128+N), not with ASan's report and exit code.
// - detect_leaks=0: LeakSanitizer's exit-time check runs in every process that calls exit(), the
//   script's process included, and there it needs /proc/<pid>/task (Landlock closes /proc) and ptrace
//   (seccomp kills it): it failed with "LeakSanitizer has encountered a fatal error" and exit code 1,
//   instead of the script's. `ASAN_OPTIONS=detect_leaks=1` turns it on for a test program by hand.
#ifdef HIVE_SANITIZE
extern "C" const char* __asan_default_options() {
    return "allocator_may_return_null=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:"
           "handle_abort=0:detect_leaks=0:print_summary=1";
}
extern "C" const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }
#endif
