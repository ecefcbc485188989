// The event ring and record format: every committed record arrives, in order, from several writer
// processes; a full ring holds the writer back instead of dropping; forged, oversized or torn records
// become faults the parent reports, never a crash or a hang.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <thread>

#include "channel/event.h"
#include "channel/ring.h"
#include "channel/sequence.h"

using namespace hive::channel;

namespace {

std::string make_event(std::uint32_t pid, std::uint64_t seq, const std::string& name, const std::string& arg) {
    EventWriter w(pid, seq, 1234, Decision::allowed, Kind::file, name);
    w.arg(arg);
    return std::string(static_cast<const char*>(w.data()), w.size());
}

}  // namespace

TEST_CASE("channel: records from several writer processes all arrive, each writer's in order", "[channel]") {
    auto ring = Ring::create(1 << 16);  // small: writers wrap around and wait for the reader many times
    REQUIRE(ring.ok());
    Header* h = ring->header();
    constexpr int kWriters = 3, kEach = 3000;
    std::vector<pid_t> kids;
    for (int w = 0; w < kWriters; ++w) {
        pid_t p = fork();
        REQUIRE(p >= 0);
        if (p == 0) {
            for (int i = 1; i <= kEach; ++i) {
                auto rec = make_event(std::uint32_t(w), std::uint64_t(i), "open", std::string(std::size_t(i % 300), 'x'));
                if (!write_record(h, rec.data(), rec.size())) _exit(1);
            }
            _exit(0);
        }
        kids.push_back(p);
    }
    std::vector<std::uint64_t> last(kWriters, 0);
    int got = 0, faults = 0;
    bool order_ok = true;
    auto take = [&](Drained d) {
        faults += int(d.faults.size());
        for (auto& r : d.records) {
            Event e;
            std::string why;
            REQUIRE(decode(r, e, why));
            order_ok = order_ok && e.pid_seq == last[e.pid] + 1 && e.args[0].size() == e.pid_seq % 300;
            last[e.pid] = e.pid_seq;
            ++got;
        }
    };
    int alive = kWriters;
    while (alive > 0) {
        take(ring->drain(false));
        for (auto& k : kids) {
            int st;
            if (k > 0 && waitpid(k, &st, WNOHANG) == k) {
                CHECK(WIFEXITED(st));
                CHECK(WEXITSTATUS(st) == 0);
                k = -1;
                --alive;
            }
        }
    }
    take(ring->drain(true));
    CHECK(got == kWriters * kEach);
    CHECK(order_ok);
    CHECK(faults == 0);
}

TEST_CASE("channel: a full ring holds the writer back until the reader drains it", "[channel]") {
    auto ring = Ring::create(4096);
    REQUIRE(ring.ok());
    Header* h = ring->header();
    std::atomic<int> written{0};
    std::thread writer([&] {
        for (int i = 1; i <= 200; ++i) {
            auto rec = make_event(1, std::uint64_t(i), "open", std::string(100, 'y'));
            write_record(h, rec.data(), rec.size());
            ++written;
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // 4 KiB holds about 25 of these records: the writer waits, nothing is dropped.
    CHECK(written < 40);
    int got = 0;
    while (got < 200) got += int(ring->drain(false).records.size());
    writer.join();
    CHECK(written == 200);
    CHECK(got == 200);
}

TEST_CASE("channel: forged and torn records are reported, never trusted", "[channel]") {
    auto ring = Ring::create(4096);
    REQUIRE(ring.ok());
    Header* h = ring->header();
    auto* data = reinterpret_cast<std::uint8_t*>(h) + 4096;
    SECTION("a header word with a length past the reserved bytes") {
        auto rec = make_event(1, 1, "open", "a");
        REQUIRE(write_record(h, rec.data(), rec.size()));
        // Native code rewrites the committed word to claim 60 KiB.
        std::uint32_t forged = kCommitted | 60000u;
        std::memcpy(data, &forged, 4);
        auto d = ring->drain(false);
        CHECK(d.records.empty());
        REQUIRE(d.faults.size() == 1);
        CHECK(d.faults[0].find("malformed record header") != std::string::npos);
        // The ring is usable afterwards.
        auto again = make_event(1, 2, "open", "b");
        REQUIRE(write_record(h, again.data(), again.size()));
        CHECK(ring->drain(false).records.size() == 1);
    }
    SECTION("a writer killed between reserving and committing") {
        h->reserve.fetch_add(64);  // reserved, never committed
        CHECK(ring->drain(false).faults.empty());  // still alive: wait for it
        auto d = ring->drain(true);                 // gone: report and move on
        REQUIRE(d.faults.size() == 1);
        CHECK(d.faults[0].find("torn record") != std::string::npos);
    }
    SECTION("a record larger than any writer publishes is refused at the source") {
        std::string big(kMaxRecord + 1, 'z');
        CHECK_FALSE(write_record(h, big.data(), big.size()));
    }
}

TEST_CASE("channel: decode refuses truncated and inconsistent records", "[channel]") {
    auto rec = make_event(7, 3, "socket.connect", "127.0.0.1");
    Event e;
    std::string why;
    REQUIRE(decode(rec, e, why));
    CHECK(e.pid == 7);
    CHECK(e.pid_seq == 3);
    CHECK(e.name == "socket.connect");
    REQUIRE(e.args.size() == 1);
    CHECK(e.args[0] == "127.0.0.1");
    CHECK_FALSE(decode(rec.substr(0, 10), e, why));
    CHECK(why == "record shorter than its header");
    CHECK_FALSE(decode(rec.substr(0, rec.size() - 1), e, why));
    CHECK_FALSE(decode(rec + "junk", e, why));
    CHECK(why == "trailing bytes after the last argument");
    std::string bad = rec;
    bad[24] = 9;  // decision out of range
    CHECK_FALSE(decode(bad, e, why));
    CHECK(why == "record header out of range");
}

TEST_CASE("channel: long arguments are cut and marked", "[channel]") {
    EventWriter w(1, 1, 0, Decision::allowed, Kind::file, "open");
    w.arg(std::string(5000, 'p'));
    Event e;
    std::string why;
    REQUIRE(decode(std::string_view(static_cast<const char*>(w.data()), w.size()), e, why));
    REQUIRE(e.args.size() == 1);
    CHECK(e.args[0].size() == kMaxArgBytes);
    CHECK(e.args[0].substr(e.args[0].size() - 14) == "...[truncated]");
}

// ---- the header and the data are the script's to write: the reader trusts neither ----

namespace {

std::uint8_t* data_of(Header* h) { return reinterpret_cast<std::uint8_t*>(h) + kHeaderSize; }

std::size_t count_records(Ring& ring, bool gone, std::vector<std::string>* faults = nullptr) {
    std::size_t n = 0;
    for (int calls = 0; calls < 1000; ++calls) {
        Drained d = ring.drain(gone);
        n += d.records.size();
        if (faults) faults->insert(faults->end(), d.faults.begin(), d.faults.end());
        if (!d.more) break;
    }
    return n;
}

}  // namespace

TEST_CASE("channel: the reader keeps its own capacity and position, whatever the header says", "[channel]") {
    auto ring = Ring::create(4096);
    REQUIRE(ring.ok());
    Header* h = ring->header();
    for (int i = 1; i <= 3; ++i) {
        auto rec = make_event(1, std::uint64_t(i), "open", "x");
        REQUIRE(write_record(h, rec.data(), rec.size()));
    }
    // Native code rewrites the header: a capacity that reaches far past the mapping (the parent read it
    // and dereferenced data + (pos & (capacity - 1))) and a tail it would have read back.
    h->capacity = std::uint64_t(1) << 40;
    h->tail.store(0x123456789ull);
    std::vector<std::string> faults;
    CHECK(count_records(*ring, false, &faults) == 3);
    CHECK(faults.empty());
    // The reader published its own position; the capacity it did not write back.
    CHECK(h->tail.load() == ring->header()->reserve.load());
}

TEST_CASE("channel: a reserve outside [tail, tail + capacity] is clamped and reported once", "[channel]") {
    auto ring = Ring::create(4096);
    REQUIRE(ring.ok());
    Header* h = ring->header();
    auto rec = make_event(1, 1, "open", "x");
    REQUIRE(write_record(h, rec.data(), rec.size()));
    SECTION("far ahead: the parent looped and grew (1.5 GB) reading the same memory over and over") {
        h->reserve.store(~std::uint64_t(0) - 7);
        std::vector<std::string> faults;
        // Writer alive: the one real record, then zeroes (uncommitted): wait.
        CHECK(count_records(*ring, false, &faults) == 1);
        REQUIRE(faults.size() == 1);
        CHECK(faults[0].find("reserve 0xfffffffffffffff8 is outside") != std::string::npos);
        // The same value again is not reported again.
        faults.clear();
        CHECK(count_records(*ring, false, &faults) == 0);
        CHECK(faults.empty());
        // Writer gone: the rest is a torn record, skipped; every later call finds nothing, and ends.
        CHECK(count_records(*ring, true, &faults) == 0);
        REQUIRE(faults.size() == 1);
        CHECK(faults[0].find("torn record") != std::string::npos);
        for (int i = 0; i < 100; ++i) {
            Drained d = ring->drain(true);
            CHECK(d.records.empty());
            CHECK_FALSE(d.more);
        }
    }
    SECTION("behind the reader's position") {
        CHECK(count_records(*ring, false) == 1);
        h->reserve.store(8);
        std::vector<std::string> faults;
        CHECK(count_records(*ring, true, &faults) == 0);
        REQUIRE(faults.size() == 1);
        CHECK(faults[0].find("ring header rewritten: reserve 0x8 is outside") != std::string::npos);
    }
}

TEST_CASE("channel: a ring full of forged committed words costs one capacity of work, then nothing", "[channel]") {
    auto ring = Ring::create(4096);
    REQUIRE(ring.ok());
    Header* h = ring->header();
    // Every word claims a committed 8-byte record: 256 records of garbage per capacity.
    std::uint8_t* data = data_of(h);
    for (std::size_t off = 0; off < 4096; off += 16) {
        std::uint32_t w = kCommitted | 8u;
        std::memcpy(data + off, &w, 4);
    }
    h->reserve.store(std::uint64_t(1) << 50);
    std::size_t total = 0;
    for (int i = 0; i < 10; ++i) total += ring->drain(true).records.size();
    CHECK(total == 256);  // the reader zeroed what it consumed: the same garbage is not read twice
}

TEST_CASE("channel: one drain call takes a bounded number of records and bytes", "[channel]") {
    auto ring = Ring::create(1 << 20);
    REQUIRE(ring.ok());
    Header* h = ring->header();
    SECTION("many small records") {
        for (int i = 1; i <= 5000; ++i) {
            auto rec = make_event(1, std::uint64_t(i), "open", "x");
            REQUIRE(write_record(h, rec.data(), rec.size()));
        }
        Drained d = ring->drain(false);
        CHECK(d.records.size() == kDrainMaxRecords);
        CHECK(d.more);
        Drained rest = ring->drain(false);
        CHECK(rest.records.size() == 5000 - kDrainMaxRecords);
        CHECK_FALSE(rest.more);
    }
    SECTION("large records") {
        std::string big(60000, 'b');
        for (int i = 0; i < 10; ++i) REQUIRE(write_record(h, big.data(), big.size()));
        Drained d = ring->drain(false);
        CHECK(d.records.size() == 5);  // 5 x 60 KB reaches the 256 KiB budget
        CHECK(d.more);
        CHECK(ring->drain(false).records.size() == 5);
    }
}

TEST_CASE("channel: each process's sequence: gaps, duplicates and regressions are faults", "[channel]") {
    SequenceCheck s;
    CHECK(s.check(10, 1).empty());
    CHECK(s.check(10, 2).empty());
    CHECK(s.check(11, 1).empty());  // another process (a fork) has its own sequence
    CHECK(s.check(10, 23) == "sequence gap from pid 10: expected 3, got 23 (20 records missing)");
    CHECK(s.check(10, 24).empty());  // one discontinuity, one fault
    CHECK(s.check(10, 24) == "duplicate sequence number 24 from pid 10 (a replayed or forged record)");
    CHECK(s.check(10, 20) == "sequence went back from 24 to 20 for pid 10 (a replayed or forged record)");
    CHECK(s.check(10, 21).empty());
    CHECK(s.check(10, 1) ==
          "sequence restarted at 1 after 21 for pid 10 (a forged record, or a new process reusing the pid)");
    CHECK(s.check(12, 5) == "sequence gap from pid 12: expected 1, got 5 (4 records missing)");
    CHECK(s.check(12, 7) == "sequence gap from pid 12: expected 6, got 7 (1 record missing)");
    CHECK(s.gaps() == 3);
    CHECK(s.missing() == 25);
    CHECK(s.duplicates() == 1);
    CHECK(s.regressions() == 2);
    CHECK(s.faults() == 6);
}

TEST_CASE("channel: the sequence check's memory is bounded by a pid count", "[channel]") {
    SequenceCheck s;
    for (std::uint32_t p = 0; p < SequenceCheck::kMaxPids; ++p) REQUIRE(s.check(p, 1).empty());
    CHECK(s.check(0xfffffff0u, 1).find("writer pids") != std::string::npos);
    CHECK(s.check(0xfffffff1u, 1).empty());  // reported once
    CHECK(s.faults() == 2);
}
