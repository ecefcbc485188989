// Taking typed values out of a fuzz input, for the harnesses (the gcc replay build has no
// FuzzedDataProvider). Every take is bounded by what is left; an exhausted input yields zeros and "".
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace hivefuzz {

class Input {
public:
    Input(const std::uint8_t* data, std::size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

    bool empty() const { return rest_.empty(); }
    std::size_t left() const { return rest_.size(); }

    std::uint8_t byte() {
        if (rest_.empty()) return 0;
        auto b = static_cast<std::uint8_t>(rest_[0]);
        rest_.remove_prefix(1);
        return b;
    }
    template <class T>
    T raw() {  // sizeof(T) bytes, zero-padded when fewer are left
        T v{};
        std::size_t n = rest_.size() < sizeof(T) ? rest_.size() : sizeof(T);
        std::memcpy(&v, rest_.data(), n);
        rest_.remove_prefix(n);
        return v;
    }
    // Bytes up to the next `sep` (which is consumed) or the end.
    std::string until(char sep) {
        std::size_t p = rest_.find(sep);
        std::string s(rest_.substr(0, p));
        rest_.remove_prefix(p == std::string_view::npos ? rest_.size() : p + 1);
        return s;
    }
    // Bytes up to the next `sep` string (consumed) or the end.
    std::string until(std::string_view sep) {
        std::size_t p = rest_.find(sep);
        std::string s(rest_.substr(0, p));
        rest_.remove_prefix(p == std::string_view::npos ? rest_.size() : p + sep.size());
        return s;
    }
    std::string rest() {
        std::string s(rest_);
        rest_ = {};
        return s;
    }

private:
    std::string_view rest_;
};

// A harness's finding: say what, then abort (libFuzzer saves the input; the replay names the file).
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "fuzz: %s", what);
    if (!detail.empty()) std::fprintf(stderr, ": %.*s", int(detail.size() > 2000 ? 2000 : detail.size()), detail.data());
    std::fprintf(stderr, "\n");
    std::abort();
}

#define HIVE_FUZZ_CHECK(cond, ...) \
    do {                           \
        if (!(cond)) ::hivefuzz::fail("check failed: " #cond, ##__VA_ARGS__); \
    } while (0)

}  // namespace hivefuzz
