#include "supervisor/run_log.h"

#include <time.h>

#include <cstdio>
#include <cstdlib>

#include "common/json.h"

namespace hive {

std::string iso_time(std::uint64_t ns) {
    // UTC by arithmetic (days to civil date, H. Hinnant's algorithm), not gmtime_r: glibc's gmtime_r
    // reads and parses /etc/localtime on its first call, for a time zone it then does not use.
    const std::uint64_t secs = ns / 1000000000ull;
    const std::int64_t z = std::int64_t(secs / 86400) + 719468;
    const std::uint64_t sod = secs % 86400;
    const std::int64_t era = z / 146097;
    const std::int64_t doe = z - era * 146097;                                   // [0, 146096]
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             // [0, 365]
    const std::int64_t mp = (5 * doy + 2) / 153;                                 // [0, 11], from March
    const int day = int(doy - (153 * mp + 2) / 5 + 1);
    const int month = int(mp < 10 ? mp + 3 : mp - 9);
    const std::int64_t year = yoe + era * 400 + (month <= 2);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d.%06luZ", static_cast<long long>(year), month, day,
                  int(sod / 3600), int(sod / 60 % 60), int(sod % 60),
                  static_cast<unsigned long>(ns % 1000000000ull / 1000));
    return buf;
}

std::string iso_now() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return iso_time(std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec));
}

namespace {

LogLevel level_of_severity(const std::string& s) {
    return s == "low" ? LogLevel::info
         : s == "medium" ? LogLevel::warning
         : s == "high" ? LogLevel::error
                       : LogLevel::critical;
}

constexpr std::size_t kMaxDenialsListed = 100;

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// The policy key behind a denied event, from its name and arguments (see RunLog::Denial).
std::string rule_of(const std::string& ev, const std::vector<std::string>& args, channel::Decision d) {
    if (d == channel::Decision::denied_by_kernel)
        return starts_with(ev, "socket") || starts_with(ev, "network") ? "security.network.allowed_domains"
                                                                      : "the kernel (Landlock or seccomp)";
    if (ev == "import" || ev == "hive.import") return "security.imports";
    if (starts_with(ev, "socket")) return "security.network.allowed_domains";
    if (starts_with(ev, "subprocess") || starts_with(ev, "os.exec") || starts_with(ev, "os.posix_spawn") ||
        ev == "os.system" || ev == "os.spawn" || ev == "os.fork" || ev == "os.startfile")
        return "security.execution.allow_subprocess";
    if (ev == "os.remove" || ev == "os.rmdir" || ev == "shutil.rmtree" || ev == "os.chmod" || ev == "os.chown" ||
        ev == "os.truncate" || ev == "os.rename")
        return "security.filesystem.blocked_operations or allowed_paths";
    if (ev == "open" && args.size() >= 2) {
        const std::string& mode = args[1];
        bool writes = mode.find_first_of("wax+") != std::string::npos;
        return writes ? "security.filesystem.allowed_paths" : "security.filesystem (readable paths)";
    }
    return "security.filesystem";
}

// RFC 5424 severities: alerts are alerts; security events by their own severity.
int syslog_severity(const std::string& severity, const std::string& kind) {
    if (kind == "alert") return 1;
    return severity == "low" ? 6 : severity == "medium" ? 5 : severity == "high" ? 4 : 2;
}

}  // namespace

RunLog::RunLog(std::string run_id, const Policy& policy, audit::AuditLog log)
    : run_id_(std::move(run_id)), log_(std::move(log)), threshold_(policy.monitoring.log_level),
      max_events_(policy.monitoring.max_logged_events), max_bytes_(policy.monitoring.max_logged_bytes) {
    if (!policy.monitoring.syslog_socket.empty()) {
        syslog_ = std::make_unique<audit::SyslogExport>(policy.monitoring.syslog_socket);
        report_syslog_failures();
    }
}

void RunLog::keep(audit::Stream s, LogLevel level, json::Object&& record) {
    // LogLevel is ordered debug < info < warning < error < critical.
    if (s != audit::Stream::execution && level < threshold_) return;
    pending_records_[int(s)].push_back(std::move(record));
}

void RunLog::write(audit::Stream s) {
    auto& p = pending_records_[int(s)];
    if (p.empty()) return;
    const bool exported = syslog_ && syslog_->connected() &&
                          (s == audit::Stream::security || s == audit::Stream::execution);
    std::vector<std::string> lines;
    Status st = log_.append(s, p, exported ? &lines : nullptr);
    if (!st.ok()) errors_.push_back(st.error().message);
    if (exported && st.ok()) export_written(s, lines);
    p.clear();
    if (s == audit::Stream::security) pending_security_meta_.clear();
}

void RunLog::export_written(audit::Stream s, const std::vector<std::string>& lines) {
    const std::string now = iso_now();
    for (std::size_t i = 0; i < lines.size(); ++i) {
        audit::SyslogExport::Message m;
        m.timestamp = now;
        m.record = lines[i];
        // The chain value is the line's last field: `..."chain":"<64 hex>"}`.
        const std::string chain = lines[i].size() > 66 ? lines[i].substr(lines[i].size() - 66, 64) : "";
        m.params = {{"run_id", run_id_}, {"stream", audit::file_name(s)}, {"chain", chain}};
        if (s == audit::Stream::execution) {
            m.msgid = "run";
            m.severity = denials_ > 0 || alerted_ ? 4 : 6;
            m.params.emplace_back("events", std::to_string(events_));
            m.params.emplace_back("denials", std::to_string(denials_));
        } else {
            const SecurityMeta meta = i < pending_security_meta_.size() ? pending_security_meta_[i] : SecurityMeta{};
            m.msgid = meta.kind == "alert" ? "alert" : "security";
            m.severity = syslog_severity(meta.severity, meta.kind);
            m.params.emplace_back("severity", meta.severity);
            m.params.emplace_back("kind", meta.kind);
        }
        syslog_->send(m);
    }
}

// New syslog failures become one security event of the run (kept locally; the export may be down).
void RunLog::report_syslog_failures() {
    if (!syslog_) return;
    std::vector<std::string> f = syslog_->failures();
    if (f.size() <= syslog_failures_reported_) return;
    std::string what;
    for (std::size_t i = syslog_failures_reported_; i < f.size(); ++i) what += (what.empty() ? "" : "; ") + f[i];
    syslog_failures_reported_ = f.size();
    security_event("high", "syslog_unreachable",
                   "syslog export to " + syslog_->path() + " failed: " + what +
                       " (the local audit trail is complete; the central copy is not)",
                   "", nullptr);
}

std::optional<json::Object> RunLog::adopt(const std::string& text, const char* what) {
    auto o = json::Object::adopt(std::string(text));
    if (!o) errors_.push_back(std::string("a ") + what + " that is not a JSON object was not recorded");
    return o;
}

// Only the first faults are written out: a script with native code can make one per record, and the
// log must not grow with them. All are counted (channel_faults in the run record).
constexpr std::uint64_t kMaxChannelFaultLines = 100;

void RunLog::channel_fault(const std::string& text) {
    if (++channel_faults_ <= kMaxChannelFaultLines) security("high", "channel_fault", text);
    else if (channel_faults_ == kMaxChannelFaultLines + 1)
        security("high", "channel_fault", "further channel faults are counted in the run record, not logged");
}

void RunLog::take(channel::Drained&& d) {
    for (auto& f : d.faults) channel_fault(f);
    for (std::size_t i = 0; i < d.faults_dropped; ++i) channel_fault("(a further fault of the same drain)");
    for (auto& rec : d.records) {
        channel::Event ev;
        std::string why;
        if (!channel::decode(rec, ev, why)) {
            channel_fault("malformed event record: " + why);
            continue;
        }
        if (std::string seq_fault = seq_check_.check(ev.pid, ev.pid_seq); !seq_fault.empty()) channel_fault(seq_fault);
        if (ev.kind == channel::Kind::summary && ev.name == "hive.startup" && !ev.args.empty())
            startup_events_ = std::strtoull(ev.args[0].c_str(), nullptr, 10);
        json::Object o;
        o.add("run_id", run_id_).add("seq", std::int64_t(next_seq())).add("timestamp", iso_time(ev.time_ns))
            .add("pid", std::int64_t(ev.pid)).add("event", ev.name).add("kind", channel::to_string(ev.kind))
            .add("args", ev.args).add("decision", channel::to_string(ev.decision));
        if (ev.decision == channel::Decision::denied_by_hook)
            add_denial(Denial{ev.name, ev.args.empty() ? "" : ev.args[0], rule_of(ev.name, ev.args, ev.decision),
                              ev.decision});
        if (!within_budget(o, ev.name, ev.decision)) {
            count(ev.decision);
            continue;
        }
        if (ev.decision == channel::Decision::denied_by_hook) {
            security_event("medium", "denied", ev.name + " denied by the audit hook", "event", &o);
        } else if (ev.kind == channel::Kind::tampering && ev.name != "sys._getframe" &&
                   ev.name != "object.__setattr__") {
            // _getframe and type attribute changes are everyday stdlib work (logging, namedtuple, enum):
            // they stay in the event stream only.
            security_event("medium", "tampering", ev.name + " called by the script", "event", &o);
        }
        keep_event(std::move(o), ev.decision);
    }
}

void RunLog::count(channel::Decision decision) {
    ++events_;
    if (decision == channel::Decision::denied_by_hook || decision == channel::Decision::denied_by_kernel) ++denials_;
}

// Within monitoring.max_logged_events and max_logged_bytes: written one by one. Past them: counted by
// name (at most kMaxSummaryNames names; a script can make up names), written as one record at the end.
// A denial past the budget still gets one of kDenialReserve more lines: the records an auditor reads
// first should be the last to go.
constexpr std::uint64_t kDenialReserve = 1000;

bool RunLog::within_budget(const json::Object& o, const std::string& name, channel::Decision decision) {
    const std::uint64_t size = o.open_text().size() + 1;
    if (std::int64_t(logged_events_) < max_events_ && std::int64_t(logged_bytes_ + size) <= max_bytes_) {
        ++logged_events_;
        logged_bytes_ += size;
        return true;
    }
    const bool denied = decision == channel::Decision::denied_by_hook || decision == channel::Decision::denied_by_kernel;
    if (denied && denials_past_budget_ < kDenialReserve) {
        ++denials_past_budget_;
        return true;
    }
    if (++summarised_ == 1)
        security_event("medium", "log_budget",
                       "the run's log budget is spent (" + std::to_string(logged_events_) + " events, " +
                           std::to_string(logged_bytes_) + " bytes; monitoring.max_logged_events " +
                           std::to_string(max_events_) + ", max_logged_bytes " + std::to_string(max_bytes_) +
                           "): further events are counted by name and summarised at the run's end",
                       "", nullptr);
    constexpr std::size_t kMaxSummaryNames = 1000;
    if (auto it = summary_.find(name); it != summary_.end()) ++it->second;
    else if (summary_.size() < kMaxSummaryNames) summary_.emplace(name, 1);
    else ++summary_["(other names)"];
    return false;
}

void RunLog::write_budget_summary() {
    if (summarised_ == 0) return;
    json::Object counts;
    for (const auto& [name, n] : summary_) counts.add(name, std::int64_t(n));
    security_event("medium", "log_budget",
                   std::to_string(summarised_) + " events past the run's log budget were counted, not written one by "
                   "one (their counts by name in \"summary\"; the run record's events and denials include them)",
                   "summary", &counts);
    summarised_written_ = true;
}

void RunLog::keep_event(json::Object&& o, channel::Decision decision) {
    count(decision);
    const bool denied = decision == channel::Decision::denied_by_hook || decision == channel::Decision::denied_by_kernel;
    keep(audit::Stream::events, denied ? LogLevel::error : LogLevel::info, std::move(o));
    ++pending_;
}

void RunLog::event(json::Object&& o, channel::Decision decision) {
    if (!within_budget(o, "(the parent's events)", decision)) return count(decision);
    keep_event(std::move(o), decision);
}

void RunLog::event(const std::string& line, channel::Decision decision) {
    if (auto o = adopt(line, "parent's event")) event(std::move(*o), decision);
}

void RunLog::add_denial(Denial d) {
    if (denial_list_.size() < kMaxDenialsListed) denial_list_.push_back(std::move(d));
}

void RunLog::security(const std::string& severity, const std::string& kind, const std::string& message,
                      const std::string& extra_key, const std::string& extra_json) {
    if (kind == "denied_by_kernel") {
        const bool connect = starts_with(message, "connect to ");
        add_denial(Denial{connect ? "network.connect" : "kernel", message,
                          connect ? "security.network (allowed_domains, blocked_ports)" : "the kernel (seccomp)",
                          channel::Decision::denied_by_kernel});
    }
    if (extra_key.empty()) return security_event(severity, kind, message, "", nullptr);
    json::Object o;
    o.add("run_id", run_id_).add("timestamp", iso_now()).add("severity", severity).add("kind", kind)
        .add("message", message).add_raw(extra_key, extra_json);
    keep_security(severity, kind, std::move(o));
}

void RunLog::keep_security(const std::string& severity, const std::string& kind, json::Object&& o) {
    if (kind == "alert") alerted_ = true;
    const std::size_t before = pending_records_[int(audit::Stream::security)].size();
    keep(audit::Stream::security, level_of_severity(severity), std::move(o));
    if (pending_records_[int(audit::Stream::security)].size() > before)
        pending_security_meta_.push_back(SecurityMeta{severity, kind});
}

void RunLog::security_event(const std::string& severity, const std::string& kind, const std::string& message,
                            const std::string& extra_key, const json::Object* extra) {
    json::Object o;
    o.add("run_id", run_id_).add("timestamp", iso_now()).add("severity", severity).add("kind", kind)
        .add("message", message);
    if (extra) o.add(extra_key, *extra);
    keep_security(severity, kind, std::move(o));
}

void RunLog::sample(json::Object&& o) { keep(audit::Stream::resource, LogLevel::info, std::move(o)); }

void RunLog::sample(const std::string& line) {
    if (auto o = adopt(line, "resource sample")) sample(std::move(*o));
}

void RunLog::flush() {
    write(audit::Stream::events);
    write(audit::Stream::security);
    write(audit::Stream::resource);
    pending_ = 0;
}

void RunLog::finish(json::Object&& record) {
    if (!summarised_written_) write_budget_summary();
    flush();
    report_syslog_failures();  // what the security events' export met, before the run record
    write(audit::Stream::security);
    keep(audit::Stream::execution, LogLevel::critical, std::move(record));
    write(audit::Stream::execution);
    if (syslog_ && !syslog_->failures().empty()) {
        std::string what;
        for (const auto& f : syslog_->failures()) what += (what.empty() ? "" : "; ") + f;
        std::fprintf(stderr, "hive-py: warning: syslog export to %s failed: %s (run %s: the local audit trail is complete)\n",
                     syslog_->path().c_str(), what.c_str(), run_id_.c_str());
    }
}

void RunLog::finish(const std::string& record) {
    auto o = adopt(record, "run record");
    flush();
    if (o) finish(std::move(*o));
}

std::vector<std::string> RunLog::errors() const { return errors_; }

}  // namespace hive
