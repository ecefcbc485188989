#include "channel/ring.h"

#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>

namespace hive::channel {

namespace {

std::uint8_t* data_of(Header* h) { return reinterpret_cast<std::uint8_t*>(h) + kHeaderSize; }

std::size_t padded(std::size_t len) { return 8 + ((len + 7) & ~std::size_t(7)); }

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const timespec* ts) {
    return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op, val, ts, nullptr, 0);
}

// Writer side: the child trusts its own header (only the script can have changed it, and then only the
// script's own process suffers).
void copy_in(Header* h, std::uint64_t pos, const void* src, std::size_t len) {
    std::size_t cap = h->capacity, off = pos & (cap - 1);
    std::size_t first = len < cap - off ? len : cap - off;
    std::memcpy(data_of(h) + off, src, first);
    if (len > first) std::memcpy(data_of(h), static_cast<const std::uint8_t*>(src) + first, len - first);
}

std::atomic<std::uint32_t>* writer_word_at(Header* h, std::uint64_t pos) {
    // Records start 8-aligned and the capacity is a multiple of 8, so a length word never wraps.
    return reinterpret_cast<std::atomic<std::uint32_t>*>(data_of(h) + (pos & (h->capacity - 1)));
}

void wake_reader(Header* h) {
    if (h->wake_fd < 0) return;
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(h->wake_fd, &one, sizeof one);
}

std::string hex(std::uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}

}  // namespace

Result<Ring> Ring::create(std::size_t capacity) {
    if (capacity < 4096 || (capacity & (capacity - 1)) != 0)
        return Error{"ring capacity must be a power of two >= 4096"};
    Ring r;
    r.map_size_ = kHeaderSize + capacity;
    void* p = mmap(nullptr, r.map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return errno_error("mmap", "event ring");
    r.header_ = new (p) Header{};
    r.header_->capacity = capacity;
    r.wake_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!r.wake_.valid()) return errno_error("eventfd", "event ring");
    r.header_->wake_fd = r.wake_.get();
    r.reader_ = Reader(r.header_, data_of(r.header_), capacity);
    return r;
}

Ring::Ring(Ring&& o) noexcept
    : header_(std::exchange(o.header_, nullptr)), map_size_(o.map_size_), wake_(std::move(o.wake_)),
      reader_(o.reader_) {}

Ring& Ring::operator=(Ring&& o) noexcept {
    if (this != &o) {
        if (header_) munmap(header_, map_size_);
        header_ = std::exchange(o.header_, nullptr);
        map_size_ = o.map_size_;
        wake_ = std::move(o.wake_);
        reader_ = o.reader_;
    }
    return *this;
}

Ring::~Ring() {
    if (header_) munmap(header_, map_size_);
}

bool write_record(Header* h, const void* data, std::size_t len) {
    if (len == 0 || len > kMaxRecord) return false;
    const std::size_t need = padded(len);
    const std::uint64_t cap = h->capacity;
    std::uint64_t r = h->reserve.load(std::memory_order_relaxed);
    for (;;) {
        std::uint32_t gen = h->tail_gen.load(std::memory_order_acquire);
        std::uint64_t t = h->tail.load(std::memory_order_acquire);
        if (r + need - t > cap) {
            // Full: wake the parent and sleep until it frees space (bounded waits: a missed wake-up
            // costs at most 10 ms, never a hang).
            h->waiters.fetch_add(1, std::memory_order_acq_rel);
            wake_reader(h);
            timespec ts{0, 10 * 1000 * 1000};
            futex(&h->tail_gen, FUTEX_WAIT, gen, &ts);
            h->waiters.fetch_sub(1, std::memory_order_acq_rel);
            r = h->reserve.load(std::memory_order_relaxed);
            continue;
        }
        if (h->reserve.compare_exchange_weak(r, r + need, std::memory_order_acq_rel)) {
            // Wake the parent when this record takes the ring past half full.
            if (r - t < cap / 2 && r + need - t >= cap / 2) wake_reader(h);
            break;
        }
    }
    copy_in(h, r + 8, data, len);
    writer_word_at(h, r)->store(kCommitted | std::uint32_t(len), std::memory_order_release);
    return true;
}

Reader::Reader(Header* h, std::uint8_t* data, std::size_t capacity) : h_(h), data_(data), cap_(capacity) {}

std::atomic<std::uint32_t>* Reader::word_at(std::uint64_t pos) const {
    // Positions the reader stands on are 8-aligned (its own, advanced by padded lengths) and its
    // capacity a multiple of 8: a length word never wraps and never leaves the mapping.
    return reinterpret_cast<std::atomic<std::uint32_t>*>(data_ + (pos & (cap_ - 1)));
}

void Reader::copy_out(std::uint64_t pos, void* dst, std::size_t len) const {
    // len <= cap_ (checked by the caller): at most one wrap, both pieces inside the mapping.
    std::size_t off = pos & (cap_ - 1);
    std::size_t first = len < cap_ - off ? len : cap_ - off;
    std::memcpy(dst, data_ + off, first);
    if (len > first) std::memcpy(static_cast<std::uint8_t*>(dst) + first, data_, len - first);
}

void Reader::zero(std::uint64_t pos, std::size_t len) const {
    std::size_t off = pos & (cap_ - 1);
    std::size_t first = len < cap_ - off ? len : cap_ - off;
    std::memset(data_ + off, 0, first);
    if (len > first) std::memset(data_, 0, len - first);
}

Drained Reader::drain(bool writer_gone) {
    Drained out;
    auto fault = [&](std::string text) {
        if (out.faults.size() < kDrainMaxFaults) out.faults.push_back(std::move(text));
        else ++out.faults_dropped;
    };
    // `reserve` is the only position read from the header, and it is clamped to what this reader can
    // consume: never behind its own tail, never more than one capacity ahead of it.
    const std::uint64_t raw = h_->reserve.load(std::memory_order_acquire);
    std::uint64_t r = raw;
    if (raw < tail_ || raw - tail_ > cap_) {
        if (!bad_reserve_seen_ || raw != last_bad_reserve_)
            fault("ring header rewritten: reserve " + hex(raw) + " is outside [" + hex(tail_) + ", " +
                  hex(tail_ + cap_) + "], the reader's own position and capacity; clamped");
        bad_reserve_seen_ = true;
        last_bad_reserve_ = raw;
        r = raw < tail_ ? tail_ : tail_ + cap_;
    }
    std::uint64_t t = tail_;
    std::size_t bytes = 0;
    while (t < r) {
        if (out.records.size() >= kDrainMaxRecords || bytes >= kDrainMaxBytes) {
            out.more = true;
            break;
        }
        const std::uint32_t w = word_at(t)->load(std::memory_order_acquire);
        if (!(w & kCommitted)) {
            if (writer_gone) {
                fault("torn record: a writer died after reserving " + std::to_string(r - t) +
                      " bytes it never completed");
                t = r;
            }
            break;
        }
        const std::size_t len = w & kLenMask;
        if ((w & ~(kCommitted | kLenMask)) != 0 || len == 0 || len > kMaxRecord || padded(len) > r - t) {
            fault("malformed record header " + hex(w) + " at " + hex(t) + ": skipped the " +
                  std::to_string(r - t) + " bytes reserved after it");
            t = r;
            break;
        }
        std::string rec(len, '\0');
        copy_out(t + 8, rec.data(), len);
        out.records.push_back(std::move(rec));
        bytes += padded(len);
        t += padded(len);
    }
    if (t != tail_) {
        zero(tail_, std::size_t(t - tail_));  // t - tail_ <= cap_: r was clamped
        tail_ = t;
        // Published for the writers; never read back.
        h_->tail.store(t, std::memory_order_release);
        h_->tail_gen.fetch_add(1, std::memory_order_acq_rel);
        // `waiters` is a hint only: a wrong value costs one futex call, or a writer's 10 ms timeout.
        if (h_->waiters.load(std::memory_order_acquire) > 0) futex(&h_->tail_gen, FUTEX_WAKE, INT32_MAX, nullptr);
    }
    return out;
}

}  // namespace hive::channel
