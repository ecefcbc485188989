// Error values shared by every module: a failure carries one readable line that names what failed
// (`landlock_add_rule(/usr/lib/python3.11): EINVAL`, `policy.yml:4:7: security.execution.cpu_seconds: ...`).
// Layers return these and never exit; only the drivers (main, the child's set-up) end a process.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace hive {

struct Error {
    std::string message;
    int err = 0;  // errno where a syscall failed, 0 otherwise

    // "call(arg): ENAME (text)" — the syscall, its key argument and errno.
    static Error from_errno(std::string_view call, std::string_view arg, int e) {
        std::string m(call);
        m += '(';
        m += arg;
        m += "): ";
        const char* name = strerrorname_np(e);
        m += name ? name : "errno";
        m += " (";
        m += std::strerror(e);
        m += ')';
        return Error{std::move(m), e};
    }
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : e_(std::move(error)) {}
    bool ok() const { return !e_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return *e_; }

private:
    std::optional<Error> e_;
};

using Status = Result<void>;

inline Error errno_error(std::string_view call, std::string_view arg) {
    return Error::from_errno(call, arg, errno);
}

}  // namespace hive

// Propagate a failed Status/Result from the enclosing function.
#define HIVE_TRY(expr)                               \
    do {                                             \
        auto hive_try_r_ = (expr);                   \
        if (!hive_try_r_.ok()) return hive_try_r_.error(); \
    } while (0)
