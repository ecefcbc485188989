// The one fixed-size record the sandbox's init sends the parent over a close-on-exec pipe: either the
// set-up step that failed, or how the script's process ended. Fixed size and < PIPE_BUF, so one write()
// delivers it whole.
#pragma once

#include <limits.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstring>

namespace hive::child {

struct Report {
    static constexpr std::uint32_t kMagic = 0x48495645;  // "HIVE"
    // applied: the layers are in place (sent before the script's process is forked), so that a run the
    // parent ends (timeout, kill) still records what protected it.
    enum Kind : std::uint32_t { setup_failed = 1, script_ended = 2, listener = 3, applied = 4 };
    std::uint32_t magic = kMagic;
    std::uint32_t kind = 0;
    std::int32_t wait_status = 0;  // script_ended: the script process's wait status
    std::int32_t err = 0;          // setup_failed: errno; listener: the listener's fd number in the init
    std::uint32_t layers = 0;      // bit set of Layer applied
    char step[28] = {};
    char message[400] = {};
    // script_ended: the usage of every process the init reaped (getrusage(RUSAGE_CHILDREN)), so that the
    // parent can write the run's record while the init and its namespaces are still being torn down.
    rusage usage{};
    // script_ended: the init's /proc/self/io read after it reaped everything (its own I/O and every
    // reaped process's): rchar, wchar, read_bytes, write_bytes. io_valid is 0 when it could not be read.
    std::uint64_t io[4] = {};
    std::uint32_t io_valid = 0;
    // script_ended: the processes of the sandbox (the script's own included) that died by a signal before
    // the init swept the rest with SIGKILL, and how many of them by SIGSYS (seccomp's kill): a forked
    // child's death is otherwise seen by nobody. first_*: the first such death, a SIGSYS one if any
    // (pid as the sandbox's pid namespace numbers it).
    std::uint32_t signaled = 0;
    std::uint32_t sigsys = 0;
    std::int32_t first_signal = 0;
    std::int32_t first_pid = 0;
    // script_ended: the private /tmp and /dev/shm (one tmpfs) after everything was reaped, by fstatfs:
    // its size, bytes and inodes in use; tmp_valid 0 when there was none.
    std::uint32_t tmp_valid = 0;
    std::uint64_t tmp_size_bytes = 0, tmp_used_bytes = 0, tmp_inodes = 0, tmp_used_inodes = 0;

    void set_text(const char* s, const char* m) {
        std::strncpy(step, s, sizeof step - 1);
        std::strncpy(message, m, sizeof message - 1);
    }
};
static_assert(sizeof(Report) <= PIPE_BUF, "a report must fit one atomic pipe write");

enum Layer : std::uint32_t {
    layer_cgroup = 1, layer_rlimits = 2, layer_namespaces = 4, layer_no_new_privs = 8, layer_landlock = 16,
    layer_seccomp = 32, layer_proc = 64, layer_private_tmp = 128,
};

}  // namespace hive::child
