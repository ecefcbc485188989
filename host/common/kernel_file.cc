#include "common/kernel_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "common/unique_fd.h"

namespace hive {

bool read_kernel_file(const std::string& path, std::string& out) {
    out.clear();
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!f.valid()) return false;
    char buf[4096];
    for (ssize_t n; (n = ::read(f.get(), buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        out.append(buf, std::size_t(n));
    }
    return true;
}

bool parse_proc_io(std::string_view text, std::uint64_t (&io)[4]) {
    static constexpr std::string_view kKeys[4] = {"rchar", "wchar", "read_bytes", "write_bytes"};
    int found = 0;
    each_line(text, [&](std::string_view line) {
        const auto colon = line.find(": ");
        if (colon == std::string_view::npos) return;
        for (int k = 0; k < 4; ++k) {
            if (line.substr(0, colon) != kKeys[k]) continue;
            std::uint64_t v = 0;
            if (std::from_chars(line.data() + colon + 2, line.data() + line.size(), v).ec != std::errc()) return;
            io[k] = v;
            ++found;
        }
    });
    return found == 4;
}

}  // namespace hive
