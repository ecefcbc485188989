// allows_native_code(): the one predicate for "the script shares memory with the audit hook", which
// makes the event trail advisory (policy/native_code.h).
#include <catch2/catch.hpp>

#include "policy/native_code.h"

using namespace hive;

TEST_CASE("policy: a policy allows native code when imports.allow names ctypes, cffi or their C halves",
          "[policy][native]") {
    Policy p;
    CHECK_FALSE(allows_native_code(p));
    CHECK(std::string(trail_of(p)) == "sequenced");
    p.imports.allow = {"json", "yaml", "ctypesx", "my_ctypes"};
    CHECK_FALSE(allows_native_code(p));
    for (const char* m : {"ctypes", "_ctypes", "cffi", "_cffi_backend", "ctypes.util"}) {
        Policy q;
        q.imports.allow = {"json", m};
        INFO(m);
        CHECK(allows_native_code(q));
        CHECK(std::string(trail_of(q)) == "advisory");
    }
}
