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
// is closed by Landlock and process_vm_writev by seccomp. Native code (a policy that allows ctypes, or a
// route the import check missed) has the whole address space, this ring included, header and all. The
// reader, in the unsandboxed parent, therefore treats every byte of the mapping as hostile:
//   - it keeps its own capacity (the mapping's size) and its own read position: `capacity` and `tail`
//     in the header are for the writers; the reader writes `tail` but never reads either back;
//   - `reserve` is clamped to [own tail, own tail + capacity], every record length to what was reserved;
//   - one drain call does a bounded amount of work and allocation (kDrainMaxRecords, kDrainMaxBytes),
//     so a flood cannot starve the supervisor's loop nor grow the parent;
//   - anything malformed becomes a fault (readable text) and the reader moves past it.
// What the reader cannot know is whether a well-formed record is true: under a policy with native code
// the trail is advisory (policy/native_code.h).
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

// Per drain call: at most kDrainMaxRecords records and kDrainMaxBytes + kMaxRecord bytes of them (the
// budget is checked before each record). The supervisor drains again while `more` is set.
inline constexpr std::size_t kDrainMaxRecords = 4096;
inline constexpr std::size_t kDrainMaxBytes = 256 * 1024;
inline constexpr std::size_t kDrainMaxFaults = 8;  // fault texts per call; the rest are only counted

struct Drained {
    std::vector<std::string> records;  // payloads in ring order
    std::vector<std::string> faults;   // malformed/torn content seen, as readable text
    std::size_t faults_dropped = 0;    // faults beyond kDrainMaxFaults in this call
    bool more = false;                 // stopped at the per-call bound: call again
};

// Reader side (parent). Holds its own copy of the capacity and its own position; the header is only
// written (tail, tail_gen) and read for `reserve`, `waiters` and the length words, each checked.
class Reader {
public:
    // `data` is the `capacity` bytes after the header page; `capacity` is a power of two >= 64.
    Reader(Header* h, std::uint8_t* data, std::size_t capacity);

    // Take committed records, within the per-call bounds. `writer_gone`: no writer is left, so an
    // uncommitted record at the read position will never complete: report it and move past it.
    Drained drain(bool writer_gone);
    std::uint64_t position() const { return tail_; }

private:
    std::atomic<std::uint32_t>* word_at(std::uint64_t pos) const;
    void copy_out(std::uint64_t pos, void* dst, std::size_t len) const;
    void zero(std::uint64_t pos, std::size_t len) const;

    Header* h_;
    std::uint8_t* data_;
    std::uint64_t cap_;
    std::uint64_t tail_ = 0;
    std::uint64_t last_bad_reserve_ = 0;  // the last out-of-range reserve reported (reported once)
    bool bad_reserve_seen_ = false;
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
    // The parent's reader of this mapping (see Reader).
    Drained drain(bool writer_gone) { return reader_.drain(writer_gone); }

private:
    Ring() = default;
    Header* header_ = nullptr;
    std::size_t map_size_ = 0;
    UniqueFd wake_;
    Reader reader_{nullptr, nullptr, 64};
};

// Writer side (child). Async-signal-safe apart from the futex wait; no allocation.
// Returns false only if the record is larger than kMaxRecord.
bool write_record(Header* h, const void* data, std::size_t len);

inline constexpr std::size_t kHeaderSize = 4096;  // the header page; the data follows it

}  // namespace hive::channel
