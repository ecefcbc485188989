// The kernel's own record of what it refused the run (security.monitoring.kernel_trail).
//
// The hook's events come from the script's own process: under a policy that allows native code the
// script can hide or forge them (policy/native_code.h), and whatever C code does without a Python audit
// event (OpenSSL reading its config, getpwuid reading /etc/passwd) never shows there at all. The kernel
// logs what it refuses to its audit subsystem: Landlock's denials (AUDIT_LANDLOCK_ACCESS, kernel >= 6.15,
// Landlock ABI 7) and seccomp's kills (AUDIT_SECCOMP). The parent reads them from the kernel's audit
// netlink socket, in the read-only multicast group auditd's readers use, and writes them into the run's
// trail beside the hook's events: the script cannot forge, hide or rewrite them.
//
// Which records are the run's: before the clone the parent gives itself a fresh audit session (it
// writes its login uid, unchanged, to /proc/self/loginuid; the kernel then allocates a new session id),
// which every process of the sandbox inherits and none can change (that needs CAP_AUDIT_CONTROL in the
// host's user namespace). Every record of an event carries the session of the process it is about
// (`ses=`). Auditors can find the run in the host's own audit log by it: the record's
// kernel_trail.audit_session (`ausearch --session N`).
//
// The run's end: the parent sends the kernel a message of its own (AUDIT_TRUSTED_APP, "hive-py run=ID
// op=end") and reads until it comes back; the kernel delivers records in order, so every record of the
// run is in by then.
//
// It needs the kernel's audit on (`auditctl -e 1`; hive-py never changes it) and a root caller
// (CAP_AUDIT_READ to read the group, CAP_AUDIT_CONTROL for the session). Otherwise the record says why
// there is no kernel trail.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "audit/kernel_record.h"
#include "common/unique_fd.h"
#include "policy/policy.h"

namespace hive {

class RunLog;

class KernelTrail {
public:
    // Before the clone. `landlock_abi` says whether this kernel logs Landlock's denials (ABI >= 7).
    // Never fails: a trail that cannot be had is inactive, with the reason in reason().
    static KernelTrail open(::hive::KernelTrailMode mode, const std::string& run_id, int landlock_abi);

    KernelTrail() = default;
    KernelTrail(KernelTrail&&) = default;
    KernelTrail& operator=(KernelTrail&&) = default;

    bool active() const { return sock_.valid(); }
    const std::string& reason() const { return reason_; }  // why inactive
    int fd() const { return sock_.get(); }

    // After the clone: the sandbox's init, whose Landlock domain the run's denials name.
    void set_init(pid_t outer_pid) { init_ = outer_pid; }
    // The socket is readable: take what is there (bounded work per call).
    void on_readable(RunLog& log);
    // Every process of the run has ended: read up to the parent's own end marker (at most `wait_ms`),
    // then write the summary. Idempotent. Where the kernel's audit dropped records, the exact count
    // comes with the end of the init's Landlock domain, which a zombie init still holds: `release`
    // then reaps it first.
    void finish(RunLog& log, const std::function<void()>& release, int wait_ms = 1000);

    // The run record's "kernel_trail" object.
    std::string json() const;

    // For tests and the fuzz harness: a trail with no socket that attributes records to `session` and
    // to the Landlock domain `init` creates, and one record as the socket delivered it.
    static KernelTrail for_records(std::uint32_t session, pid_t init);
    void take(RunLog& log, const audit::kernel::Record& r);

    static constexpr std::size_t kMaxListed = 100;  // kernel denials written one by one; then counted

private:
    struct Pending {
        std::string domain, blockers, target;
    };
    void resolve(RunLog& log, std::uint64_t serial, bool ours, std::int64_t pid, const std::string& syscall);
    void landlock_denial(RunLog& log, const Pending& p, std::int64_t pid, const std::string& syscall);
    void seccomp_record(RunLog& log, const audit::kernel::Record& r);

    UniqueFd sock_;     // the multicast group's reader
    UniqueFd control_;  // unicast, for the end marker
    std::string reason_ = "not started";
    std::string run_id_, marker_;
    std::uint32_t session_ = 0;  // 0: unknown (the records are then attributed by Landlock domain only)
    std::string session_note_;
    bool landlock_logged_ = false;
    pid_t init_ = -1;
    std::set<std::string> domains_;  // the run's Landlock domains (created by the init, or seen in our session)
    std::map<std::uint64_t, std::vector<Pending>> pending_;  // by event serial, until its SYSCALL record
    std::deque<std::uint64_t> pending_order_;
    std::uint64_t landlock_denials_ = 0, seccomp_kills_ = 0, listed_ = 0;
    std::uint64_t domain_denials_ = 0;  // the kernel's own count, from the end of the init's domain
    bool domain_ended_ = false;         // that end was seen
    std::string init_domain_;
    std::uint32_t lost_at_start_ = 0, lost_during_ = 0;  // the kernel's count of records it dropped (AUDIT_GET)
    bool overflowed_ = false, finished_ = false, marker_seen_ = false;
    bool by_hand_ = false;  // for_records()
    std::map<std::string, std::uint64_t> unlisted_;  // beyond kMaxListed: counts by kind
};

}  // namespace hive
