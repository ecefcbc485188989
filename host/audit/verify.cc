// Checking the chains.
//
// For each record: prev must equal the chain value of the record before it (64 zeros for the first
// record of a stream), and chain must equal H(prev + "\n" + prefix). An edit breaks the record's own
// chain; a deletion, insertion or swap breaks the next record's prev. After a break we carry on from
// the record's own stored values, so one edit is reported once.
//
// What a chain alone cannot show, records cut off the END of the newest file (or the newest files
// removed, or a file replaced by an older copy), the stream's head shows (head.h): it names the number
// of records and the last chain value, and the files must end there.
// NB: what is still not shown: the files and their head rolled back together to an older state, or a
// stream deleted with its head; only a copy kept elsewhere (security.monitoring.syslog_socket) shows
// that. Without an HMAC key anyone who can write the files can recompute every chain and the head.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "audit/head.h"
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
    std::int64_t chained = 0;  // records with chain fields, as the head counts them
    std::string head_chain;    // the head's chain value, looked for among the records
    std::int64_t head_seen_at = 0;  // the `chained` index of the last record whose chain it is (0 = none)
    std::string head_seen_file;
    std::int64_t head_seen_line = 0;
    std::string last_file;
    std::int64_t last_line = 0;
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
    ++st.chained;
    if (!st.head_chain.empty() && c->chain == st.head_chain) {
        st.head_seen_at = st.chained;
        st.head_seen_file = file;
        st.head_seen_line = line_no;
    }

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

std::string short_chain(const std::string& c) { return c.substr(0, 12) + "..."; }

// The end of the stream against its head.
void check_head(const std::string& dir, const HeadRead& hr, const StreamState& st, StreamSummary& sum,
                std::vector<VerifyIssue>& issues, std::vector<std::string>& notes) {
    const std::string live = dir + "/" + sum.name;
    const std::string where = st.last_file.empty() ? live : st.last_file;
    auto issue = [&](std::string file, std::int64_t line, std::string what) {
        issues.push_back(VerifyIssue{std::move(file), line, std::move(what)});
        ++sum.issues;
    };
    const std::string hpath = head_path(dir, sum.name);
    if (hr.state == HeadState::absent) {
        if (st.chained > 0)
            issue(hpath, 0,
                  "no head: the end of the chain is not anchored, so records cut off its end would not show "
                  "(logs written before hive-py kept heads, or the head was deleted)");
        return;
    }
    if (hr.state == HeadState::bad) return issue(hpath, 0, "head unusable: " + hr.why);
    const Head& h = hr.head;
    if (h.rebuilt_at > 0)
        notes.push_back(hpath + ": the head was rebuilt from the files at record " + std::to_string(h.rebuilt_at) +
                        " (it was missing or unusable then): records cut off before that point would not show");
    if (h.records == 0 && st.chained == 0) return;
    if (sum.files == 0)
        return issue(live, 0, "stream file deleted: the head counts " + std::to_string(h.records) +
                                  " records and no file is left");
    const bool ends_at_head = st.head_seen_at > 0 && st.head_seen_at == st.chained;
    if (ends_at_head) {
        if (st.chained != h.records && sum.issues == 0)
            issue(where, st.last_line, "the head counts " + std::to_string(h.records) + " records, the files hold " +
                                           std::to_string(st.chained));
        return;
    }
    if (st.head_seen_at > 0)
        return issue(st.head_seen_file, st.head_seen_line + 1,
                     std::to_string(st.chained - st.head_seen_at) +
                         " record(s) after the last one the head anchors (appended by something other than "
                         "hive-py, or a write interrupted before its head was updated)");
    if (st.chained < h.records)
        return issue(where, st.last_line + 1,
                     "the newest records were cut off: the head counts " + std::to_string(h.records) +
                         " records ending at chain " + short_chain(h.chain) + ", the files hold " +
                         std::to_string(st.chained) + " and none of them is the head's");
    issue(where, st.last_line,
          "the last record is not the one the head anchors (chain " + short_chain(h.chain) +
              "): the file was replaced or its end rewritten");
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

        auto hr = read_head(head_path(dir, sum.name), sum.name, hmac_key);
        if (!hr.ok()) return hr.error();
        StreamState st;
        if (hr->state == HeadState::valid) st.head_chain = hr->head.chain;
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
            st.last_file = file;
            st.last_line = line_no;
            if (r.error()) {
                report.issues.push_back(VerifyIssue{
                    file, line_no + 1, "unreadable after this point (" + *r.error() + "): file damaged or edited"});
                ++sum.issues;
            }
        }
        check_head(dir, *hr, st, sum, report.issues, report.notes);
        report.records += sum.records;
        report.streams.push_back(std::move(sum));
    }
    return report;
}

}  // namespace hive::audit
