// Third-party packages by policy (security.imports.site, #18): Debian's dist-packages on sys.path as
// python3 has them, their modules still named in imports.allow, their extension modules loaded only
// under their own dotted names. PyYAML (python3-yaml, which bootstrap.sh installs) is the package: its
// C loader is an extension module (yaml._yaml).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "run.h"

using namespace hivetest;

namespace {

const char* const kYaml = R"PY(
import importlib.metadata, yaml
print("libyaml", yaml.__with_libyaml__)
print("loaded", yaml.load("votes: [3, 5]", Loader=yaml.CSafeLoader))
print("version", importlib.metadata.version("PyYAML"))
)PY";

std::string site_policy(const PolicyDir& dir, const std::string& extra = "") {
    return dir.file("site.yml", "security:\n  imports:\n    site: true\n    allow: [yaml, _yaml]\n" + extra);
}

}  // namespace

TEST_CASE("imports.site: PyYAML and its C loader import as under python3", "[compat][imports]") {
    if (!exists("/usr/lib/python3/dist-packages/yaml/__init__.py")) {
        WARN("SKIPPED: python3-yaml is not installed");
        return;
    }
    PolicyDir dir;
    Outcome h = hive_logged({"--policy", site_policy(dir), "-c", kYaml});
    if (!sandbox_set_up(h)) return;
    Outcome p = python({"-c", kYaml});
    INFO(h.out << h.err << "\n--- python3 -I\n" << p.out << p.err);
    REQUIRE(p.exit_code == 0);
    CHECK(h.exit_code == 0);
    CHECK(h.out == p.out);
    CHECK(h.err.empty());
}

TEST_CASE("imports.site: off by default, and a package still needs its name in imports.allow", "[compat][imports]") {
    if (!exists("/usr/lib/python3/dist-packages/yaml/__init__.py")) {
        WARN("SKIPPED: python3-yaml is not installed");
        return;
    }
    Outcome off = hive_logged({"-c", "import yaml"});
    if (!sandbox_set_up(off)) return;
    CHECK(off.exit_code == 1);
    CHECK(off.err.find("ModuleNotFoundError: No module named 'yaml'") != std::string::npos);
    PolicyDir dir;
    const std::string unnamed = dir.file("unnamed.yml", "security:\n  imports:\n    site: true\n");
    Outcome h = hive_logged({"--policy", unnamed, "-c", "import yaml"});
    INFO(h.err);
    CHECK(h.exit_code == 1);
    CHECK(h.err.find("import of 'yaml' is refused") != std::string::npos);
}

TEST_CASE("attack: a site package's extension module loads under no other name", "[attack][imports]") {
    const std::string so = "/usr/lib/python3/dist-packages/yaml/_yaml.cpython-311-x86_64-linux-gnu.so";
    if (!exists(so)) {
        WARN("SKIPPED: python3-yaml is not installed");
        return;
    }
    const std::string code = "import importlib.util\nspec = importlib.util.spec_from_file_location('json._yaml', '" + so +
                             "')\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nprint('LOADED')\n";
    PolicyDir dir;
    Outcome h = hive_logged({"--policy", site_policy(dir), "-c", code});
    if (!sandbox_set_up(h)) return;
    INFO(h.out << h.err);
    CHECK(h.exit_code == 1);
    CHECK(h.out.empty());
    CHECK(h.err.find("loads only under the name its path gives it") != std::string::npos);
}

TEST_CASE("imports.site: a venv inside a writable path is refused", "[imports]") {
    TempDir venv("/var/tmp/hive-venv-XXXXXX");
    std::filesystem::create_directories(venv.path + "/lib/python3.11/site-packages");
    PolicyDir dir;
    const std::string pol = site_policy(dir, "  filesystem:\n    allowed_paths: [\"" + venv.path + "\"]\n");
    RunOptions opts;
    opts.env_extra = {{"VIRTUAL_ENV", venv.path}};
    Outcome h = hive_logged({"--policy", pol, "-c", "print('ran')"}, opts);
    INFO(h.err);
    CHECK(h.exit_code == 2);
    CHECK(h.out.empty());
    CHECK(h.err.find("security.imports.site: " + venv.path + "/lib/python3.11/site-packages lies inside the writable path") !=
          std::string::npos);
}
