#include "policy/native_code.h"

namespace hive {

bool allows_native_code(const Policy& policy) {
    for (const std::string& m : policy.imports.allow) {
        const std::string_view top = std::string_view(m).substr(0, m.find('.'));
        for (std::string_view n : kNativeCodeModules)
            if (top == n) return true;
    }
    return false;
}

}  // namespace hive
