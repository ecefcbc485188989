#include "channel/sequence.h"

namespace hive::channel {

std::string SequenceCheck::check(std::uint32_t pid, std::uint64_t seq) {
    const std::string who = "pid " + std::to_string(pid);
    auto it = last_.find(pid);
    if (it == last_.end()) {
        if (last_.size() >= kMaxPids) {
            // Counted once per record past the bound, reported only the first time.
            if (untracked_++ == 0)
                return "more than " + std::to_string(kMaxPids) + " writer pids: the sequence of " + who +
                       " and of any further pid is not checked";
            return {};
        }
        it = last_.emplace(pid, 0).first;
    }
    std::uint64_t& last = it->second;
    const std::uint64_t prev = last;
    last = seq;
    if (seq == prev + 1) return {};
    if (seq > prev + 1) {
        ++gaps_;
        missing_ += seq - prev - 1;
        return "sequence gap from " + who + ": expected " + std::to_string(prev + 1) + ", got " +
               std::to_string(seq) + " (" + std::to_string(seq - prev - 1) +
               (seq - prev - 1 == 1 ? " record missing)" : " records missing)");
    }
    if (seq == prev) {
        ++duplicates_;
        return "duplicate sequence number " + std::to_string(seq) + " from " + who + " (a replayed or forged record)";
    }
    ++regressions_;
    if (seq == 1)  // a process that reuses the pid of one that ended also starts at 1 (after pid_max forks)
        return "sequence restarted at 1 after " + std::to_string(prev) + " for " + who +
               " (a forged record, or a new process reusing the pid)";
    return "sequence went back from " + std::to_string(prev) + " to " + std::to_string(seq) + " for " + who +
           " (a replayed or forged record)";
}

}  // namespace hive::channel
