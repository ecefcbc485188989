#include "common/kernel_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

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

}  // namespace hive
