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
        take(drain(h, false));
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
    take(drain(h, true));
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
    while (got < 200) got += int(drain(h, false).records.size());
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
        auto d = drain(h, false);
        CHECK(d.records.empty());
        REQUIRE(d.faults.size() == 1);
        CHECK(d.faults[0].find("malformed record header") != std::string::npos);
        // The ring is usable afterwards.
        auto again = make_event(1, 2, "open", "b");
        REQUIRE(write_record(h, again.data(), again.size()));
        CHECK(drain(h, false).records.size() == 1);
    }
    SECTION("a writer killed between reserving and committing") {
        h->reserve.fetch_add(64);  // reserved, never committed
        CHECK(drain(h, false).faults.empty());  // still alive: wait for it
        auto d = drain(h, true);                 // gone: report and move on
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
