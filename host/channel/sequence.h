// The per-process sequence of the records in the event ring, checked by the parent.
//
// The hook numbers each process's records 1, 2, 3... (a fork starts again at 1 under its own pid).
// A record lost, hidden or swallowed shows as a gap; a record replayed or forged with a number already
// used shows as a duplicate or a regression. Under a policy without native code the script cannot reach
// the hook's counter or the ring, so a fault here is loss or a hook bug; under a policy with native code
// the script can rewrite both consistently, so a clean sequence proves nothing there
// (policy/native_code.h: the trail is advisory).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace hive::channel {

class SequenceCheck {
public:
    // Bounds the parent's memory: pids beyond this many are not tracked (and that is reported once).
    static constexpr std::size_t kMaxPids = 65536;

    // "" when `seq` is the next number of `pid`, else the fault as readable text. After a fault the
    // check follows the new number, so one discontinuity is one fault.
    std::string check(std::uint32_t pid, std::uint64_t seq);

    std::uint64_t gaps() const { return gaps_; }
    std::uint64_t missing() const { return missing_; }  // records the gaps skipped, in all
    std::uint64_t duplicates() const { return duplicates_; }
    std::uint64_t regressions() const { return regressions_; }
    std::uint64_t faults() const { return gaps_ + duplicates_ + regressions_ + untracked_; }

private:
    std::unordered_map<std::uint32_t, std::uint64_t> last_;
    std::uint64_t gaps_ = 0, missing_ = 0, duplicates_ = 0, regressions_ = 0, untracked_ = 0;
};

}  // namespace hive::channel
