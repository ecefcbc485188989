// Checking the chains.
//
// For each record: prev must equal the chain value of the record before it (64 zeros for the first
// record of a stream), and chain must equal H(prev + "\n" + prefix). An edit breaks the record's own
// chain; a deletion, insertion or swap breaks the next record's prev. After a break we carry on from
// the record's own stored values, so one edit is reported once.
//
// NB: what a chain alone cannot show: records cut off the END of the newest file (or the newest files
// removed) leave a shorter chain that is still intact. Catching that needs the last chain value kept
// somewhere the attacker can't write (a remote log, a signed checkpoint); we don't have one.
// Likewise, without an HMAC key anyone who can write the files can recompute every chain after an edit.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "audit/record_format.h"
#include "common/unique_fd.h"

namespace hive::audit {

using namespace detail;

namespace {

constexpr std::string_view kEdited = "record edited (chain mismatch)";
constexpr std::string_view kEditedKey = "record edited or HMAC key wrong (chain mismatch)";
constexpr std::string_view kMoved = "record deleted, inserted or reordered (prev does not match the record before)";
constexpr std::string_view kForged = "record edited, inserted or forged (prev and chain both wrong)";
constexpr std::string_view kBadStart =
    "first record does not start the chain (earlier records or rotated files deleted)";

struct StreamState {
    std::string expected{kZeroChain};
    std::optional<std::string> expected_alt;  // the recomputed chain of a previous record whose chain was edited
    bool seen = false;
};

void check_line(const std::string& file, std::int64_t line_no, const std::string& line, std::string_view key,
                StreamState& st, StreamSummary& sum, std::vector<VerifyIssue>& issues) {
    auto issue = [&](std::string_view what) {
        issues.push_back(VerifyIssue{file, line_no, std::string(what)});
        ++sum.issues;
    };
    if (line.empty() || line.front() != '{' || !nlohmann::json::accept(line)) return issue("not a JSON record");
    auto c = split_chained_line(line);
    if (!c) return issue("JSON record without prev/chain fields at its end (not written by hive-py)");

    std::string computed = chain_value(key, c->prev, c->prefix);
    bool chain_ok = computed == c->chain;
    bool prev_ok = c->prev == st.expected || (st.expected_alt && c->prev == *st.expected_alt);
    if (!chain_ok) ++sum.chain_mismatches;
    if (!chain_ok && !prev_ok) {
        issue(kForged);
    } else if (!chain_ok) {
        issue(key.empty() ? kEdited : kEditedKey);
    } else if (!prev_ok) {
        issue(st.seen ? kMoved : kBadStart);
    }
    st.seen = true;
    st.expected = std::string(c->chain);
    if (chain_ok) {
        st.expected_alt.reset();
    } else {
        st.expected_alt = std::move(computed);
    }
}

}  // namespace

Result<VerifyReport> verify(const std::string& dir, std::string_view hmac_key) {
    struct stat dst;
    if (::stat(dir.c_str(), &dst) != 0) return errno_error("stat", dir);
    if (!S_ISDIR(dst.st_mode)) return Error::from_errno("opendir", dir, ENOTDIR);

    VerifyReport report;
    for (Stream s : {Stream::execution, Stream::events, Stream::security, Stream::resource}) {
        StreamSummary sum;
        sum.name = file_name(s);

        // A shared lock keeps appends and rotations out while we read, so a rotation can't move the
        // live file between our directory listing and our reads. Readers without write access to the
        // directory may lack the lock file: then check unlocked.
        std::string lpath = lock_path(dir, sum.name);
        UniqueFd lock(::open(lpath.c_str(), O_RDONLY | O_CLOEXEC));
        if (lock.valid()) {
            while (::flock(lock.get(), LOCK_SH) != 0 && errno == EINTR) {
            }
        }

        StreamState st;
        for (const std::string& file : stream_files(dir, sum.name)) {
            ++sum.files;
            LineReader r;
            HIVE_TRY(r.open(file));
            std::string line;
            std::int64_t line_no = 0;
            while (r.next(line)) {
                ++line_no;
                ++sum.records;
                check_line(file, line_no, line, hmac_key, st, sum, report.issues);
            }
            if (r.error()) {
                report.issues.push_back(VerifyIssue{
                    file, line_no + 1, "unreadable after this point (" + *r.error() + "): file damaged or edited"});
                ++sum.issues;
            }
        }
        report.records += sum.records;
        report.streams.push_back(std::move(sum));
    }
    return report;
}

}  // namespace hive::audit
