// The audit log reader behind `hive-py audit verify` and `audit show`, over a log directory whose files
// are the fuzz input: hive::audit::verify and hive::audit::audit_command (verify, show with --run and
// --since) must report, never crash or hang, whatever the files hold (torn lines, forged chains,
// damaged gzip members, rotated files out of order).
//
// Input: one flags byte, then files separated by "\n@@@"; a file's first byte picks its name from
// kFiles (gz: the harness compresses the content; gz-raw: the bytes are the .gz file as they are).
// The directory is on tmpfs (/dev/shm), made once per process and emptied for every input.
// fuzz-link: hive_audit
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "fuzz_input.h"

namespace {

struct FileKind {
    const char* name;
    enum { plain, gz, gz_raw } how;
};
const FileKind kFiles[] = {
    {"execution_audit.log", FileKind::plain},      {"audit_events.log", FileKind::plain},
    {"security_events.log", FileKind::plain},      {"resource_usage.log", FileKind::plain},
    {"execution_audit.log.1", FileKind::plain},    {"execution_audit.log.1.gz", FileKind::gz},
    {"audit_events.log.1.gz", FileKind::gz},       {"audit_events.log.2.gz", FileKind::gz_raw},
    {"security_events.log.3", FileKind::plain},    {"execution_audit.log.2.gz", FileKind::gz_raw},
    {"audit_events.log.7", FileKind::plain},       {"audit_events.log.7.gz", FileKind::gz},
};
constexpr std::size_t kNumFiles = sizeof kFiles / sizeof kFiles[0];

void empty_dir(const std::string& dir) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        std::string f = e->d_name;
        if (f != "." && f != "..") unlink((dir + "/" + f).c_str());
    }
    closedir(d);
}

std::string g_dir;

const std::string& log_dir() {
    if (g_dir.empty()) {
        std::string t = "/dev/shm/hive-fuzz-audit-XXXXXX";
        if (!mkdtemp(t.data())) {
            t = "/tmp/hive-fuzz-audit-XXXXXX";
            if (!mkdtemp(t.data())) hivefuzz::fail("mkdtemp");
        }
        g_dir = t;
        std::atexit([] {
            empty_dir(g_dir);
            rmdir(g_dir.c_str());
        });
    }
    return g_dir;
}

void write_file(const std::string& path, const std::string& bytes) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) hivefuzz::fail("fopen", path);
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) hivefuzz::fail("fwrite", path);
    std::fclose(f);
}

void write_gz(const std::string& path, const std::string& bytes) {
    gzFile g = gzopen(path.c_str(), "wb1");
    if (!g) hivefuzz::fail("gzopen", path);
    if (!bytes.empty()) gzwrite(g, bytes.data(), unsigned(bytes.size()));
    gzclose(g);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    hivefuzz::Input in(data, size);
    const std::uint8_t flags = in.byte();
    const std::string& dir = log_dir();
    empty_dir(dir);
    while (!in.empty()) {
        std::string section = in.until(std::string_view("\n@@@"));
        if (section.empty()) continue;
        const FileKind& k = kFiles[static_cast<unsigned char>(section[0]) % kNumFiles];
        std::string content = section.substr(1);
        std::string path = dir + "/" + k.name;
        if (k.how == FileKind::gz) write_gz(path, content);
        else write_file(path, content);
    }

    // The library call, with and without a key.
    const std::string key = (flags & 1) ? "fuzz-key" : "";
    auto r = hive::audit::verify(dir, key);
    if (!r) hivefuzz::fail("verify failed on a readable directory", r.error().message);
    std::int64_t per_stream = 0, issues = 0;
    for (const auto& s : r->streams) {
        per_stream += s.records;
        issues += s.issues;
        HIVE_FUZZ_CHECK(s.chain_mismatches <= s.records);
    }
    HIVE_FUZZ_CHECK(per_stream == r->records);
    HIVE_FUZZ_CHECK(std::size_t(issues) == r->issues.size());

    // The commands a user types, output into strings.
    std::ostringstream out, err;
    int rc = hive::audit::audit_command({"verify", dir}, out, err);
    HIVE_FUZZ_CHECK(rc == 0 || rc == 1, err.str());
    if (key.empty()) HIVE_FUZZ_CHECK((rc == 0) == r->issues.empty());

    std::vector<std::string> show{"show", dir};
    if (flags & 2) show.insert(show.end(), {"--run", std::string(1, char('0' + (flags >> 4) % 10))});
    if (flags & 4) show.push_back("--since=2026-11-27");
    if (flags & 8) show.push_back("--since=2026-11-27T10:00:00.5Z");
    std::ostringstream sout, serr;
    rc = hive::audit::audit_command(show, sout, serr);
    HIVE_FUZZ_CHECK(rc == 0, serr.str());
    return 0;
}
