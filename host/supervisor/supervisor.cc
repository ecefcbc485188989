// The parent's run, in phases (run_state.h): prepare -> layers -> launch -> supervise -> conclude.
#include "supervisor/supervisor.h"

#include <cstdio>

#include "supervisor/run_state.h"

namespace hive {

namespace {

int stopped(const Options& opts, const Stop& s) {
    std::fprintf(stderr, "hive-py: error: %s\n", s.message.c_str());
    if (opts.json) print_json_failure(s.message, s.exit_code);
    return s.exit_code;
}

}  // namespace

int run_script(const Options& opts) {
    RunSetup run;
    if (auto stop = prepare(opts, run)) return stopped(opts, *stop);
    Layers layers;
    if (auto stop = prepare_layers(run, layers)) return stopped(opts, *stop);
    Launched launched;
    if (auto stop = launch(run, layers, launched)) return stopped(opts, *stop);
    Observed seen = supervise(run, layers, launched, opts.json);
    return conclude(opts, run, layers, launched, seen);
}

}  // namespace hive
