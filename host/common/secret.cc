#include "common/secret.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace hive {

Result<Secret*> Secret::map(std::size_t capacity) {
    const auto page = std::size_t(sysconf(_SC_PAGESIZE));
    const std::size_t len = (capacity + page) & ~(page - 1);  // at least one byte to spare
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return errno_error("mmap", "secret");
    // Linux 4.14+. Elsewhere the mapping is left out of children entirely (MADV_DONTFORK): a child that
    // reads it faults instead of seeing the bytes. Neither available: refuse rather than leak.
    if (madvise(p, len, MADV_WIPEONFORK) != 0 && madvise(p, len, MADV_DONTFORK) != 0) {
        Error e = errno_error("madvise", "MADV_WIPEONFORK/MADV_DONTFORK for a secret");
        munmap(p, len);
        return e;
    }
    // Out of core dumps too (the sandbox has none; hive-py itself might).
    madvise(p, len, MADV_DONTDUMP);
    return new Secret(static_cast<char*>(p), 0, len);
}

Result<std::shared_ptr<const Secret>> Secret::read_file(const std::string& path, std::size_t max) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open", path);
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return errno_error("fstat", path);
    if (std::size_t(st.st_size) > max) return Error{path + ": larger than " + std::to_string(max) + " bytes"};
    auto m = map(max);
    if (!m) return m.error();
    std::shared_ptr<Secret> s(*m);
    // Read until EOF, into the mapping itself: a file that grew since fstat is caught by `max` as well.
    std::size_t got = 0;
    for (;;) {
        if (got > max) return Error{path + ": larger than " + std::to_string(max) + " bytes"};
        ssize_t n = ::read(fd.get(), s->data_ + got, s->mapped_ - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("read", path);
        if (n == 0) break;
        got += std::size_t(n);
    }
    if (got > 0 && s->data_[got - 1] == '\n') --got;
    if (got > 0 && s->data_[got - 1] == '\r') --got;
    if (got == 0) return Error{path + ": empty"};
    s->size_ = got;
    return std::shared_ptr<const Secret>(std::move(s));
}

Result<std::shared_ptr<const Secret>> Secret::copy_of(std::string_view bytes) {
    auto m = map(bytes.size());
    if (!m) return m.error();
    std::shared_ptr<Secret> s(*m);
    std::memcpy(s->data_, bytes.data(), bytes.size());
    s->size_ = bytes.size();
    return std::shared_ptr<const Secret>(std::move(s));
}

Secret::~Secret() {
    explicit_bzero(data_, mapped_);
    munmap(data_, mapped_);
}

}  // namespace hive
