// hive::parse_options, hive-py's command line, with an argv made of the input's NUL-separated strings
// (argv[0] is "hive-py"). Whatever the words, it returns options or an error, never crashes, and keeps
// python's rule: nothing after the script (or -c CODE, -m MODULE, -) is read as a hive-py option.
// fuzz-link: hive_common
// fuzz-sources: host/supervisor/options.cc
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "supervisor/options.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    hivefuzz::Input in(data, size);
    std::vector<std::string> words{"hive-py"};
    while (!in.empty() && words.size() < 64) words.push_back(in.until('\0'));
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    const int argc = int(words.size());

    auto r = hive::parse_options(argc, argv.data());
    if (!r) {
        HIVE_FUZZ_CHECK(!r.error().message.empty());
        return 0;
    }
    const hive::Options& o = *r;
    if (o.audit) {
        HIVE_FUZZ_CHECK(words.size() >= 2 && words[1] == "audit");
        HIVE_FUZZ_CHECK(o.audit_args.size() == words.size() - 2);
        for (std::size_t i = 0; i < o.audit_args.size(); ++i) HIVE_FUZZ_CHECK(o.audit_args[i] == words[i + 2]);
        return 0;
    }
    // sys.orig_argv as python3 would show it: hive-py's name, the python3 flags as given, the script's part;
    // hive-py's own options (--policy, --log-dir, --json) left out. So: words, in order, minus some.
    const auto& orig = o.script.orig_argv;
    HIVE_FUZZ_CHECK(!orig.empty() && orig[0] == words[0] && orig.size() <= words.size());
    std::size_t at = 0;
    for (const auto& w : orig) {
        while (at < words.size() && words[at] != w) ++at;
        HIVE_FUZZ_CHECK(at < words.size());
        ++at;
    }
    // The script's arguments are the tail of argv, untouched.
    const auto& args = o.script.args;
    HIVE_FUZZ_CHECK(args.size() < words.size());
    for (std::size_t i = 0; i < args.size(); ++i)
        HIVE_FUZZ_CHECK(args[i] == words[words.size() - args.size() + i]);
    if (!args.empty()) HIVE_FUZZ_CHECK(o.has_script);
    return 0;
}
