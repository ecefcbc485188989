// channel::decode, the parent's reading of one event record out of the ring, fed the bytes native code
// in the sandbox could have written there. It must refuse what is malformed with a reason and never read
// past the record; what it accepts must be exactly what the child's EventWriter makes of the decoded
// fields (the format has one encoding per event), and must stay inside the format's bounds.
// fuzz-link: hive_channel
#include <cstring>
#include <string>
#include <string_view>

#include "channel/event.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A copy of exactly `size` bytes on the heap: ASan sees any read past the record.
    std::string rec(reinterpret_cast<const char*>(data), size);
    hive::channel::Event ev;
    ev.args = {"stale"};  // a decode must not keep a previous record's fields
    std::string why;
    const bool ok = hive::channel::decode(std::string_view(rec.data(), rec.size()), ev, why);
    if (!ok) {
        HIVE_FUZZ_CHECK(!why.empty());
        return 0;
    }
    HIVE_FUZZ_CHECK(why.empty(), why);
    HIVE_FUZZ_CHECK(ev.args.size() <= hive::channel::kMaxArgs);
    HIVE_FUZZ_CHECK(std::uint8_t(ev.decision) <= 3 && std::uint8_t(ev.kind) <= 6);
    HIVE_FUZZ_CHECK(std::strcmp(hive::channel::to_string(ev.decision), "unknown") != 0);
    HIVE_FUZZ_CHECK(std::strcmp(hive::channel::to_string(ev.kind), "unknown") != 0);

    // What the writer would produce from these fields, when they are within what it writes unchanged.
    bool writable = ev.name.size() <= 255;
    for (const auto& a : ev.args) writable = writable && a.size() <= hive::channel::kMaxArgBytes;
    if (!writable) return 0;
    hive::channel::EventWriter w(ev.pid, ev.pid_seq, ev.time_ns, ev.decision, ev.kind, ev.name);
    for (const auto& a : ev.args) w.arg(a);
    std::string_view again(static_cast<const char*>(w.data()), w.size());
    if (again != std::string_view(rec)) hivefuzz::fail("decode accepted a record the writer encodes differently");
    return 0;
}
