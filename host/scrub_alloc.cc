// hive-py's operator new and delete: glibc's malloc underneath, as the library's own, except that every
// block is zeroed when it is freed, until the sandbox is forked (common/scrub.h).
//
// The sandbox's processes are forks of hive-py: they start with a copy of its heap, freed blocks included,
// and a script allowed ctypes can read all of it. What the parent read and let go before the clone - the
// policy file's text and yaml-cpp's copies of it (an alert_command with a token in it, say) - must not be
// there. Live secrets are kept out another way (common/secret.h). C++ allocations only: C code that calls
// malloc() directly (the C library's, Python's) is not covered. Linked into the hive-py executable alone.
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "common/scrub.h"

namespace {

std::size_t aligned_to(std::align_val_t al) {
    const auto a = static_cast<std::size_t>(al);
    return a < sizeof(void*) ? sizeof(void*) : a;
}

void* try_allocate(std::size_t n) noexcept { return std::malloc(n ? n : 1); }

void* try_allocate(std::size_t n, std::align_val_t al) noexcept {
    void* p = nullptr;
    return posix_memalign(&p, aligned_to(al), n ? n : 1) == 0 ? p : nullptr;
}

template <class... A>
void* allocate(A... a) {
    if (void* p = try_allocate(a...)) return p;
    throw std::bad_alloc();
}

void release(void* p) noexcept {
    if (!p) return;
    if (hive::g_scrub_frees) explicit_bzero(p, malloc_usable_size(p));
    std::free(p);
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, std::align_val_t al) { return allocate(n, al); }
void* operator new[](std::size_t n, std::align_val_t al) { return allocate(n, al); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return try_allocate(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return try_allocate(n); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept { return try_allocate(n, al); }
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept { return try_allocate(n, al); }

void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { release(p); }
