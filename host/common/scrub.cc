#include "common/scrub.h"

namespace hive {
bool g_scrub_frees = true;
}
