// hive-py's operator delete zeroes what it frees (host/scrub_alloc.cc, linked into this test as into
// hive-py): the sandbox, a fork of hive-py, inherits the heap with its freed blocks.
#include <malloc.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifndef HIVE_SANITIZE
namespace {

// Whether the main arena's heap holds the n bytes at `needle` (which lies on the stack), free blocks
// included.
bool heap_has(const char* needle, std::size_t n) {
    const char* end = static_cast<const char*>(sbrk(0));
    const std::size_t arena = mallinfo2().arena;
    return memmem(end - arena, arena, needle, n) != nullptr;
}

// The compiler may drop a store to a block that is freed right after (nothing reads it): this says the
// block's bytes are read, so the store is made and the test scans what a freed block really holds.
void kept(void* p) { asm volatile("" : : "r"(p) : "memory"); }

}  // namespace

TEST_CASE("scrub: what C++ code frees is zeroed, what malloc frees is not (the control)", "[scrub]") {
    // The needles live on the stack only; each is copied into one heap block.
    char by_new[64], by_malloc[64];
    const int n1 = std::snprintf(by_new, sizeof by_new, "HIVE-SCRUB-NEW-%d", int(getpid()));
    const int n2 = std::snprintf(by_malloc, sizeof by_malloc, "HIVE-SCRUB-MALLOC-%d", int(getpid()));
    REQUIRE(n1 > 0);
    REQUIRE(n2 > 0);

    // Big enough for malloc's unsorted bins, which keep a freed block's bytes past its first 16; a fence
    // after each (too big for the thread cache, so it is cut right after the block) keeps the block from
    // merging into the top of the heap, which a free may give back to the kernel.
    char* a = new char[4000];
    void* fence_a = std::malloc(2048);
    std::memcpy(a + 64, by_new, std::size_t(n1));
    kept(a);
    CHECK(heap_has(by_new, std::size_t(n1)));
    delete[] a;
    CHECK_FALSE(heap_has(by_new, std::size_t(n1)));

    // The control: the same block through malloc() and free(), which this build leaves as they are.
    char* b = static_cast<char*>(std::malloc(4000));
    void* fence_b = std::malloc(2048);
    std::memcpy(b + 64, by_malloc, std::size_t(n2));
    kept(b);
    std::free(b);
    CHECK(heap_has(by_malloc, std::size_t(n2)));
    std::free(fence_a);
    std::free(fence_b);

    // And a std::string, the way the policy's text went.
    {
        std::string s(200, 'x');
        std::memcpy(s.data() + 64, by_new, std::size_t(n1));
        kept(s.data());
        CHECK(heap_has(by_new, std::size_t(n1)));
    }
    CHECK_FALSE(heap_has(by_new, std::size_t(n1)));
}
#else
// The sanitizer build (README "Reliability"): ASan's allocator keeps its heap away from sbrk's, and
// reading a freed block is what it reports, so the block is looked at as ASan's free() receives it
// (its free hook), after hive-py's operator delete has had its turn.
// (declared here: gcc 12 ships no sanitizer/allocator_interface.h; libasan defines it)
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                         void (*free_hook)(const volatile void*));

namespace {

const volatile void* g_watched = nullptr;
char g_seen[4096];

void on_free(const volatile void* p) {
    if (p && p == g_watched) std::memcpy(g_seen, const_cast<const void*>(p), sizeof g_seen);
}

bool freed_with(const char* needle, std::size_t n) { return memmem(g_seen, sizeof g_seen, needle, n) != nullptr; }

}  // namespace

TEST_CASE("scrub: what C++ code frees is zeroed; what malloc frees is not (the control)", "[scrub]") {
    REQUIRE(__sanitizer_install_malloc_and_free_hooks(nullptr, on_free) != 0);
    char by_new[64], by_malloc[64];
    const int n1 = std::snprintf(by_new, sizeof by_new, "HIVE-SCRUB-NEW-%d", int(getpid()));
    const int n2 = std::snprintf(by_malloc, sizeof by_malloc, "HIVE-SCRUB-MALLOC-%d", int(getpid()));

    char* a = new char[4096];
    std::memcpy(a + 64, by_new, std::size_t(n1));
    g_watched = a;
    delete[] a;
    CHECK_FALSE(freed_with(by_new, std::size_t(n1)));

    char* b = static_cast<char*>(std::malloc(4096));
    std::memcpy(b + 64, by_malloc, std::size_t(n2));
    g_watched = b;
    std::free(b);
    CHECK(freed_with(by_malloc, std::size_t(n2)));
    g_watched = nullptr;
}
#endif
