// The kernel's audit netlink socket (NETLINK_AUDIT), as hive-py uses it: a reader of the read-only
// multicast group (AUDIT_NLGRP_READLOG, which needs CAP_AUDIT_READ), and requests on a unicast socket
// (AUDIT_GET for the audit status; a user message of hive-py's own, which needs CAP_AUDIT_WRITE).
// Used by the run's kernel trail (supervisor/kernel_trail.h) and by --doctor.
#pragma once

#include <linux/audit.h>

#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hive::audit::kernel {

// A non-blocking reader of the multicast group. The error says what the caller lacks (CAP_AUDIT_READ,
// a kernel with audit).
Result<UniqueFd> open_reader();
// A blocking request socket, its replies bounded to 200 ms.
Result<UniqueFd> open_control();
// The kernel's audit status: enabled 0 off, 1 on, 2 on and locked; lost, backlog_limit.
Result<audit_status> get_status(int control_fd);
// One message of `type` (e.g. AUDIT_TRUSTED_APP) with `text`, unicast to the kernel.
Status send_message(int control_fd, std::uint16_t type, const std::string& text);

// Whether a run could collect a kernel trail here, and why not: for --doctor.
struct Availability {
    bool available = false;
    std::string detail;
};
Availability availability();

}  // namespace hive::audit::kernel
