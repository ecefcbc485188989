// libFuzzer harness for the parent's ring reader: the input is what a script with native code could
// put into the shared mapping, header included, and rewrite between two of the parent's drains.
//
//   bytes [0, 40)          the header: reserve, tail, tail_gen|waiters, capacity, wake_fd|pad (LE)
//   bytes [40, 40 + n)     the data region's first n bytes (n <= 4096), repeated over the 128 KiB ring
//                          (so a short input can hold the 4096 records that reach a drain's bound)
//   the rest, 9 bytes at a time: op, u64 value, applied in order:
//     op % 5 == 0: reserve = value        1: tail = value (the reader must not care)
//             2: the u32 word at data[value % 131072 & ~3] = value >> 32      3: drain (writer alive)
//             4: capacity = value (the reader must not care)
// then drains with the writer gone until the reader says nothing is left. Every record is decoded and
// sequence-checked, as the RunLog does. Never crash, never hang (a bounded number of calls must
// empty the ring), never grow (each call's output is bounded).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "channel/event.h"
#include "channel/ring.h"
#include "channel/sequence.h"

using namespace hive::channel;

namespace {

constexpr std::size_t kCap = 1 << 17;  // > kDrainMaxRecords minimal records: the per-call bound is reached

std::uint64_t u64(const std::uint8_t* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

void check_bounded(const Drained& d) {
    std::size_t bytes = 0;
    for (auto& r : d.records) bytes += r.size();
    if (d.records.size() > kDrainMaxRecords || bytes > kDrainMaxBytes + kMaxRecord || d.faults.size() > kDrainMaxFaults)
        std::abort();
}

void consume(const Drained& d, SequenceCheck& seq) {
    check_bounded(d);
    for (auto& r : d.records) {
        Event ev;
        std::string why;
        if (decode(r, ev, why)) (void)seq.check(ev.pid, ev.pid_seq);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* in, std::size_t size) {
    static std::uint8_t* region = static_cast<std::uint8_t*>(std::aligned_alloc(4096, kHeaderSize + kCap));
    std::memset(region, 0, kHeaderSize + kCap);
    Header* h = new (region) Header{};
    std::uint8_t* data = region + kHeaderSize;

    std::uint8_t head[40] = {};
    std::memcpy(head, in, size < 40 ? size : 40);
    h->reserve.store(u64(head));
    h->tail.store(u64(head + 8));
    h->tail_gen.store(std::uint32_t(u64(head + 16)));
    h->waiters.store(0);  // a non-zero count only makes the reader call FUTEX_WAKE: no writer here
    h->capacity = u64(head + 24);
    h->wake_fd = std::int32_t(u64(head + 32));
    std::size_t off = 40;
    if (size > off) {
        const std::size_t n = size - off < 4096 ? size - off : 4096;
        for (std::size_t at = 0; at < kCap; at += n) std::memcpy(data + at, in + off, at + n <= kCap ? n : kCap - at);
        off += n;
    }

    Reader reader(h, data, kCap);
    SequenceCheck seq;
    for (; off + 9 <= size; off += 9) {
        const std::uint64_t v = u64(in + off + 1);
        switch (in[off] % 5) {
            case 0: h->reserve.store(v); break;
            case 1: h->tail.store(v); break;
            case 2: {
                std::uint32_t w = std::uint32_t(v >> 32);
                std::memcpy(data + (v % kCap & ~std::uint64_t(3)), &w, 4);
                break;
            }
            case 3: consume(reader.drain(false), seq); break;
            case 4: h->capacity = v; break;
        }
    }
    // The supervisor's last drain: the writers are gone. The reader zeroes what it consumes, so at most
    // one capacity of records remains, in a few calls.
    int calls = 0;
    for (bool more = true; more; ++calls) {
        if (calls > 64) std::abort();  // a hang, in the supervisor's final loop
        Drained d = reader.drain(true);
        more = d.more;
        consume(d, seq);
    }
    return 0;
}
