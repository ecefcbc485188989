// Bytes the sandbox must never see (the audit logs' HMAC key): kept in a mapping of their own that
// fork() hands every child as zeros (MADV_WIPEONFORK), so the sandbox's init and the script's process -
// forks of hive-py - hold no copy, even for a script that reads its own memory through ctypes. The bytes
// are read from their file straight into that mapping, through no buffer of ours. (Whatever the HMAC code
// derives from them later lives in the parent after the fork, where the sandbox cannot see it.)
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hive {

class Secret {
public:
    // The file's bytes minus one trailing "\n" or "\r\n". Errors: unreadable, empty, larger than `max`.
    static Result<std::shared_ptr<const Secret>> read_file(const std::string& path, std::size_t max);
    // The same protection for bytes already in memory (monitoring.alert_command; tests). The caller
    // wipes its own copy.
    static Result<std::shared_ptr<const Secret>> copy_of(std::string_view bytes);

    std::string_view view() const { return {data_, size_}; }

    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    ~Secret();  // zeroed, then unmapped

private:
    Secret(char* data, std::size_t size, std::size_t mapped) : data_(data), size_(size), mapped_(mapped) {}
    static Result<Secret*> map(std::size_t capacity);
    char* data_;
    std::size_t size_;
    std::size_t mapped_;
};

}  // namespace hive
