// Small files the kernel makes (/proc, cgroupfs), read whole with read(2) and split into lines without
// copying. iostreams cost their locale set-up and first-use page faults at every run's start and end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hive {

// The whole file in `out`; false if it cannot be opened (a read error keeps what was read).
bool read_kernel_file(const std::string& path, std::string& out);

// /proc/<pid>/io's "name: value" lines: rchar, wchar, read_bytes, write_bytes into io[0..3]. True when
// all four were there.
bool parse_proc_io(std::string_view text, std::uint64_t (&io)[4]);

// Calls f(line) for each line of `text`, without its '\n'.
template <typename F>
void each_line(std::string_view text, F f) {
    while (!text.empty()) {
        const auto nl = text.find('\n');
        f(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

}  // namespace hive
