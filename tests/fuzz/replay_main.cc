// The harnesses without libFuzzer: `fuzz_NAME_replay --name NAME PATH...` runs LLVMFuzzerTestOneInput
// once on every file of each PATH (a directory: its regular files, sorted; with --name, only the files
// of a directory called `crashes` whose name starts with NAME-). A harness signals a finding by aborting,
// as under libFuzzer, so any failure ends the process with the file named on stderr first.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool is_dir(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> files_of(const std::string& dir, const std::string& prefix) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string f = e->d_name;
        if (f == "." || f == ".." || f[0] == '.') continue;
        if (!prefix.empty() && f.rfind(prefix, 0) != 0) continue;
        std::string path = dir + "/" + f;
        if (!is_dir(path)) out.push_back(path);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string name;
    std::vector<std::string> inputs;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--name" && i + 1 < argc) {
            name = argv[++i];
            continue;
        }
        if (!is_dir(a)) {
            inputs.push_back(a);
            continue;
        }
        std::string base = a.substr(a.find_last_of('/') + 1);
        auto found = files_of(a, base == "crashes" && !name.empty() ? name + "-" : "");
        inputs.insert(inputs.end(), found.begin(), found.end());
    }
    int n = 0;
    for (const std::string& path : inputs) {
        std::ifstream f(path, std::ios::binary);
        if (!f) {
            std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
            return 2;
        }
        std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), bytes.size());
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        ++n;
    }
    std::printf("replay%s%s: %d inputs, no failure\n", name.empty() ? "" : " ", name.c_str(), n);
    // A harness dropped in without a corpus yet still builds and runs clean; say so.
    if (n == 0) std::fprintf(stderr, "replay: no input found (no seed corpus in corpus/%s/?)\n", name.c_str());
    return 0;
}
