#include "channel/ring.h"

#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

namespace hive::channel {

namespace {

constexpr std::size_t kHeaderSize = 4096;

std::uint8_t* data_of(Header* h) { return reinterpret_cast<std::uint8_t*>(h) + kHeaderSize; }

std::size_t padded(std::size_t len) { return 8 + ((len + 7) & ~std::size_t(7)); }

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const timespec* ts) {
    return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op, val, ts, nullptr, 0);
}

// Copy into/out of the ring with wrap-around.
void copy_in(Header* h, std::uint64_t pos, const void* src, std::size_t len) {
    std::size_t cap = h->capacity, off = pos & (cap - 1);
    std::size_t first = len < cap - off ? len : cap - off;
    std::memcpy(data_of(h) + off, src, first);
    if (len > first) std::memcpy(data_of(h), static_cast<const std::uint8_t*>(src) + first, len - first);
}

void copy_out(Header* h, std::uint64_t pos, void* dst, std::size_t len) {
    std::size_t cap = h->capacity, off = pos & (cap - 1);
    std::size_t first = len < cap - off ? len : cap - off;
    std::memcpy(dst, data_of(h) + off, first);
    if (len > first) std::memcpy(static_cast<std::uint8_t*>(dst) + first, data_of(h), len - first);
}

void zero(Header* h, std::uint64_t pos, std::size_t len) {
    std::size_t cap = h->capacity, off = pos & (cap - 1);
    std::size_t first = len < cap - off ? len : cap - off;
    std::memset(data_of(h) + off, 0, first);
    if (len > first) std::memset(data_of(h), 0, len - first);
}

std::atomic<std::uint32_t>* word_at(Header* h, std::uint64_t pos) {
    // Records start 8-aligned and the capacity is a multiple of 8, so a length word never wraps.
    return reinterpret_cast<std::atomic<std::uint32_t>*>(data_of(h) + (pos & (h->capacity - 1)));
}

void wake_reader(Header* h) {
    if (h->wake_fd < 0) return;
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(h->wake_fd, &one, sizeof one);
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
    return r;
}

Ring::Ring(Ring&& o) noexcept
    : header_(std::exchange(o.header_, nullptr)), map_size_(o.map_size_), wake_(std::move(o.wake_)) {}

Ring& Ring::operator=(Ring&& o) noexcept {
    if (this != &o) {
        if (header_) munmap(header_, map_size_);
        header_ = std::exchange(o.header_, nullptr);
        map_size_ = o.map_size_;
        wake_ = std::move(o.wake_);
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
    word_at(h, r)->store(kCommitted | std::uint32_t(len), std::memory_order_release);
    return true;
}

Drained drain(Header* h, bool writer_gone) {
    Drained out;
    const std::uint64_t cap = h->capacity;
    std::uint64_t t = h->tail.load(std::memory_order_relaxed);
    const std::uint64_t r = h->reserve.load(std::memory_order_acquire);
    std::uint64_t start = t;
    while (t < r) {
        std::uint32_t w = word_at(h, t)->load(std::memory_order_acquire);
        if (!(w & kCommitted)) {
            if (writer_gone) {
                out.faults.push_back("torn record: a writer died after reserving " +
                                     std::to_string(r - t) + " bytes it never completed");
                t = r;
            }
            break;
        }
        std::size_t len = w & kLenMask;
        if ((w & ~(kCommitted | kLenMask)) != 0 || len == 0 || len > kMaxRecord || t + padded(len) > r ||
            padded(len) > cap) {
            out.faults.push_back("malformed record header 0x" + [&] {
                char b[16];
                snprintf(b, sizeof b, "%08x", w);
                return std::string(b);
            }() + ": skipped the " + std::to_string(r - t) + " bytes reserved after it");
            t = r;
            break;
        }
        std::string rec(len, '\0');
        copy_out(h, t + 8, rec.data(), len);
        out.records.push_back(std::move(rec));
        t += padded(len);
    }
    if (t != start) {
        zero(h, start, std::size_t(t - start));
        h->tail.store(t, std::memory_order_release);
        h->tail_gen.fetch_add(1, std::memory_order_acq_rel);
        if (h->waiters.load(std::memory_order_acquire) > 0) futex(&h->tail_gen, FUTEX_WAKE, INT32_MAX, nullptr);
    }
    return out;
}

}  // namespace hive::channel
