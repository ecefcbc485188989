// The event channel: a shared-memory ring the child's audit hook writes and the parent reads.
//
// Why shared memory and not a pipe: a record must be in the parent's hands *before* the operation it
// describes proceeds, and nothing may be lost when the child is killed (CPU limit, timeout, seccomp).
// A write() per event costs ~4-5 µs here (the parent's wake-up dominates); a store into memory the
// parent maps costs ~100 ns, and the parent can still read every committed record after the child died.
//
// Layout: one Header page, then `capacity` bytes of data. Many writers (the script and any process it
// forks share the mapping), one reader (the parent). A writer reserves space with a CAS on `reserve`,
// copies its record, then publishes the record's length word with a release store; the reader consumes
// committed records in reservation order, zeroes what it consumed and advances `tail`. A full ring
// blocks the writer (back-pressure on the script, never on the parent): it wakes the parent through
// the eventfd and sleeps on the `tail_gen` futex until space frees.
//
// The script cannot reach this memory from Python: no Python API maps or writes foreign memory, /proc
// is closed by Landlock and process_vm_writev by seccomp. A policy that allows ctypes gives native code
// the whole address space, including this ring: the reader therefore validates every record and turns
// anything malformed into a security event instead of trusting it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hive::channel {

inline constexpr std::uint32_t kCommitted = 0x80000000u;
inline constexpr std::uint32_t kLenMask = 0x00ffffffu;
inline constexpr std::size_t kMaxRecord = 64 * 1024;  // a writer never publishes more than this

struct Header {
    std::atomic<std::uint64_t> reserve;   // bytes reserved by writers (monotonic)
    std::atomic<std::uint64_t> tail;      // bytes consumed by the reader (monotonic)
    std::atomic<std::uint32_t> tail_gen;  // futex word: bumped each time the reader frees space
    std::atomic<std::uint32_t> waiters;   // writers sleeping for space
    std::uint64_t capacity;               // power of two, multiple of 8
    std::int32_t wake_fd;                 // eventfd the writers signal (-1: none)
};

// The mapping, created by the parent before fork and inherited by the child.
class Ring {
public:
    static Result<Ring> create(std::size_t capacity);
    Ring(Ring&&) noexcept;
    Ring& operator=(Ring&&) noexcept;
    ~Ring();

    Header* header() const { return header_; }
    int wake_fd() const { return wake_.get(); }

private:
    Ring() = default;
    Header* header_ = nullptr;
    std::size_t map_size_ = 0;
    UniqueFd wake_;
};

// Writer side (child). Async-signal-safe apart from the futex wait; no allocation.
// Returns false only if the record is larger than kMaxRecord.
bool write_record(Header* h, const void* data, std::size_t len);

// Reader side (parent).
struct Drained {
    std::vector<std::string> records;  // payloads in ring order
    std::vector<std::string> faults;   // malformed/torn records seen, as readable text
};
// Take every committed record. `writer_gone`: the child is dead, so an uncommitted record at the tail
// will never complete — report it and stop instead of waiting.
Drained drain(Header* h, bool writer_gone);

}  // namespace hive::channel
