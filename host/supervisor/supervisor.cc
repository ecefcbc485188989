// The parent's run, in phases (run_state.h): prepare -> layers -> launch -> supervise -> conclude.
#include "supervisor/supervisor.h"

#include <cstdio>

#include "supervisor/run_state.h"

namespace hive {

namespace {

int stopped(const Stop& s) {
    std::fprintf(stderr, "hive-py: error: %s\n", s.message.c_str());
    return s.exit_code;
}

}  // namespace

int run_script(const Options& opts) {
    RunSetup run;
    if (auto stop = prepare(opts, run)) return stopped(*stop);
    Layers layers;
    if (auto stop = prepare_layers(run, layers)) return stopped(*stop);
    Launched launched;
    if (auto stop = launch(run, layers, launched)) return stopped(*stop);
    Observed seen = supervise(run, layers, launched, opts.json);
    return conclude(opts, run, layers, launched, seen);
}

}  // namespace hive
