// The import whitelist, end to end: every route to ctypes/_ctypes or to an extension module from outside
// the stdlib is refused with a ModuleNotFoundError naming security.imports, and the refusal is on record;
// the stdlib a governance script needs, its sibling modules, and the stdlib's own `except ImportError`
// fallbacks keep working. (Issue 4, "The import whitelist".)
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "logged.h"
#include "run.h"

using nlohmann::json;
using namespace hivetest;

namespace {

using Ran = Logged;

Ran run_script(const TempDir& dir, const std::string& script, const std::string& pol = "imports") {
    LogDir logs;
    return run_logged(dir, logs, script, events_policy(pol));
}

// The import (or open, for a module's files) refused by the hook for module `name`.
const json* denied(const std::vector<json>& evs, const std::string& event, const std::string& arg0_prefix) {
    for (auto& e : evs)
        if (e["event"] == event && e["decision"] == "denied_by_hook" && !e["args"].empty() &&
            e["args"][0].get<std::string>().rfind(arg0_prefix, 0) == 0)
            return &e;
    return nullptr;
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// Each route in the scripts below prints "<route>: refused <ExceptionType>: <message>" or
// "<route>: IMPORTED ...".
void require_refused(const Ran& r, const std::string& route, const std::string& message_part = "security.imports") {
    INFO("stdout:\n" << r.o.out << "\nstderr:\n" << r.o.err);
    bool found = false;
    for (auto& l : lines(r.o.out)) {
        if (l.rfind(route + ": ", 0) != 0) continue;
        found = true;
        CHECK(has(l, route + ": refused ModuleNotFoundError: hive-py: "));
        CHECK(has(l, message_part));
    }
    CHECK(found);
}

const char* kPrelude = R"(import sys, os, types, importlib, importlib.util, importlib.machinery
D = os.path.dirname(os.path.abspath(__file__))
def attempt(route, f):
    try:
        m = f()
        print(route + ': IMPORTED', getattr(m, 'CDLL', None) if m is not None else None, flush=True)
    except ImportError as e:
        print(route + ': refused ' + type(e).__name__ + ': ' + str(e), flush=True)
    except Exception as e:
        print(route + ': other ' + type(e).__name__ + ': ' + str(e), flush=True)
)";

const std::string kCtypesSo = "/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so";
const std::string kJsonSo = "/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so";

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Refused routes.

TEST_CASE("import ctypes: refused and logged", "[imports]") {
    TempDir d;
    auto r = run_script(d, "import ctypes\n");
    CHECK(r.o.exit_code == 1);
    CHECK(has(r.o.err, "ModuleNotFoundError: hive-py: import of 'ctypes' is refused by security.imports.deny"));
    CHECK(denied(r.events, "import", "ctypes") != nullptr);
    CHECK(r.record["denials"].get<int>() >= 1);
}

TEST_CASE("__import__('ctypes'): refused and logged", "[imports]") {
    TempDir d;
    auto r = run_script(d, std::string(kPrelude) + "attempt('dunder', lambda: __import__('ctypes'))\n"
                                                   "attempt('dunder_c', lambda: __import__('_ctypes'))\n");
    REQUIRE(r.o.exit_code == 0);
    require_refused(r, "dunder", "security.imports.deny");
    require_refused(r, "dunder_c", "security.imports.deny");
    CHECK(denied(r.events, "import", "ctypes") != nullptr);
    CHECK(denied(r.events, "import", "_ctypes") != nullptr);
}

TEST_CASE("importlib.import_module('ctypes'): refused and logged", "[imports]") {
    TempDir d;
    auto r = run_script(d, std::string(kPrelude) + "attempt('import_module', lambda: importlib.import_module('ctypes'))\n"
                                                   "importlib.import_module('_ctypes')\n");
    CHECK(r.o.exit_code == 1);
    require_refused(r, "import_module", "security.imports.deny");
    // import_module raises no `import` audit event: the meta-path finder refuses it. The brief accepts
    // the traceback naming the policy key...
    CHECK(has(r.o.err, "ModuleNotFoundError: hive-py: import of '_ctypes' is refused by security.imports.deny"));
    // ...and the refusal must be in the audit trail too (issue 4: "refused and logged").
    CHECK(denied(r.events, "import", "ctypes") != nullptr);
    CHECK(denied(r.events, "import", "_ctypes") != nullptr);
}

TEST_CASE("spec_from_file_location + exec_module of the stdlib's ctypes: refused and logged", "[imports]") {
    TempDir d;
    auto r = run_script(d, std::string(kPrelude) + R"(
def from_file():
    s = importlib.util.spec_from_file_location('x', '/usr/lib/python3.11/ctypes/__init__.py')
    m = importlib.util.module_from_spec(s)
    s.loader.exec_module(m)
    return m
attempt('spec_from_file', from_file)
def copy_then_load():
    import shutil
    shutil.copyfile('/usr/lib/python3.11/ctypes/__init__.py', D + '/myctypes.py')
    s = importlib.util.spec_from_file_location('myctypes', D + '/myctypes.py')
    m = importlib.util.module_from_spec(s)
    s.loader.exec_module(m)
    return m
attempt('copy_then_load', copy_then_load)
print('copied:', os.path.exists(D + '/myctypes.py'))
)");
    REQUIRE(r.o.exit_code == 0);
    require_refused(r, "spec_from_file", "security.imports.deny");
    require_refused(r, "copy_then_load", "security.imports.deny");
    CHECK(has(r.o.out, "copied: False"));
    // The hook refused the read of ctypes's files (its .pyc or its source).
    CHECK(denied(r.events, "open", "/usr/lib/python3.11/ctypes/") != nullptr);
}

TEST_CASE("importlib.machinery.ExtensionFileLoader for _ctypes: refused and logged", "[imports]") {
    TempDir d;
    auto r = run_script(d, std::string(kPrelude) + R"(
SO = ')" + kCtypesSo + R"('
def via_spec():
    l = importlib.machinery.ExtensionFileLoader('_ctypes', SO)
    return importlib.util.module_from_spec(importlib.util.spec_from_loader('_ctypes', l))
attempt('ext_loader', via_spec)
def via_load_module():
    import warnings
    warnings.simplefilter('ignore')
    return importlib.machinery.ExtensionFileLoader('_ctypes', SO).load_module()
attempt('ext_load_module', via_load_module)
def via_imp():
    import _imp
    return _imp.create_dynamic(importlib.machinery.ModuleSpec('_ctypes', None, origin=SO))
attempt('create_dynamic', via_imp)
)");
    REQUIRE(r.o.exit_code == 0);
    require_refused(r, "ext_loader", "security.imports.deny");
    require_refused(r, "ext_load_module", "security.imports.deny");
    require_refused(r, "create_dynamic", "security.imports.deny");
    const json* e = denied(r.events, "import", "_ctypes");
    REQUIRE(e != nullptr);
    CHECK((*e)["args"][1] == kCtypesSo);
}

TEST_CASE("the finder removed from sys.meta_path: ctypes still refused and logged", "[imports]") {
    TempDir d;
    auto r = run_script(d, std::string(kPrelude) + R"(
before = len(sys.meta_path)
sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, '__name__', '') != '_hive_guard']
print('removed', before - len(sys.meta_path))
attempt('no_finder_stmt', lambda: __import__('ctypes'))
attempt('no_finder_import_module', lambda: importlib.import_module('ctypes'))
attempt('no_finder_import_module_c', lambda: importlib.import_module('_ctypes'))
)");
    REQUIRE(r.o.exit_code == 0);
    CHECK(has(r.o.out, "removed 1\n"));
    require_refused(r, "no_finder_stmt", "security.imports.deny");
    require_refused(r, "no_finder_import_module", "security.imports.deny");
    require_refused(r, "no_finder_import_module_c", "security.imports.deny");
    CHECK(denied(r.events, "import", "ctypes") != nullptr);
    CHECK(denied(r.events, "import", "_ctypes") != nullptr);
}

TEST_CASE("zipimport: a zip with ctypes, or with a module importing _ctypes: refused and logged", "[imports]") {
    TempDir d;
    auto r = run_script(d, std::string(kPrelude) + R"(
import zipfile
Z = D + '/mods.zip'
with zipfile.ZipFile(Z, 'w') as z:
    z.writestr('ctypes/__init__.py', 'CDLL = "from the zip"\n')
    z.writestr('evilzip.py', 'import _ctypes\nCDLL = _ctypes\n')
sys.path.insert(0, Z)
attempt('zip_ctypes', lambda: importlib.import_module('ctypes'))
attempt('zip_ctypes_stmt', lambda: __import__('ctypes'))
attempt('zip_evil', lambda: __import__('evilzip'))
)");
    REQUIRE(r.o.exit_code == 0);
    require_refused(r, "zip_ctypes", "security.imports.deny");
    require_refused(r, "zip_ctypes_stmt", "security.imports.deny");
    require_refused(r, "zip_evil", "'_ctypes' is refused by security.imports.deny");
    CHECK(denied(r.events, "import", "ctypes") != nullptr);
    CHECK(denied(r.events, "import", "_ctypes") != nullptr);
}

TEST_CASE("a module planted in sys.modules gives nothing usable", "[imports]") {
    TempDir d;
    auto r = run_script(d, std::string(kPrelude) + R"(
sys.modules['_ctypes'] = types.ModuleType('_ctypes')
attempt('planted_c', lambda: __import__('ctypes'))
sys.modules['ctypes'] = types.ModuleType('ctypes')
import ctypes
print('planted ctypes has CDLL:', hasattr(ctypes, 'CDLL'))
)");
    REQUIRE(r.o.exit_code == 0);
    require_refused(r, "planted_c", "security.imports.deny");
    CHECK(has(r.o.out, "planted ctypes has CDLL: False\n"));
    CHECK(denied(r.events, "import", "ctypes") != nullptr);
}

TEST_CASE("a .pth file, sitecustomize and usercustomize in the script's directory do not run", "[imports]") {
    TempDir d;
    const std::string m = d.path + "/marker-";
    d.file("evil.pth", "import os; open('" + m + "pth', 'w').close()\n");
    d.file("sitecustomize.py", "open('" + m + "sitecustomize', 'w').close()\n");
    d.file("usercustomize.py", "open('" + m + "usercustomize', 'w').close()\n");
    auto r = run_script(d, "import sys\nprint('ran', 'site' in sys.modules)\n");
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "ran False\n");
    CHECK_FALSE(exists(m + "pth"));
    CHECK_FALSE(exists(m + "sitecustomize"));
    CHECK_FALSE(exists(m + "usercustomize"));
}

TEST_CASE("an extension module from outside the stdlib is refused: 'outside the stdlib'", "[imports]") {
    TempDir d;
    std::filesystem::create_directories(d.path + "/mods");
    const std::string shadow = d.path + "/mods/_json.cpython-311-x86_64-linux-gnu.so";
    std::filesystem::copy_file(kJsonSo, shadow);
    std::filesystem::copy_file(kJsonSo, d.path + "/evil.cpython-311-x86_64-linux-gnu.so");
    auto r = run_script(d, std::string(kPrelude) + R"(
P = D + '/mods/_json.cpython-311-x86_64-linux-gnu.so'
def from_file():
    s = importlib.util.spec_from_file_location('_json', P)
    return importlib.util.module_from_spec(s)
attempt('ext_from_tmp', from_file)
def shadow():
    sys.modules.pop('_json', None)
    sys.path.insert(0, D + '/mods')
    try:
        return importlib.import_module('_json')
    finally:
        sys.path.pop(0)
attempt('ext_shadow', shadow)
attempt('ext_sibling', lambda: importlib.import_module('evil'))
)");
    REQUIRE(r.o.exit_code == 0);
    require_refused(r, "ext_from_tmp", "extension module '_json' from " + shadow +
                                           " is outside the stdlib (security.imports)");
    require_refused(r, "ext_shadow", "is outside the stdlib (security.imports)");
    require_refused(r, "ext_sibling", "security.imports");
    const json* e = denied(r.events, "import", "_json");
    REQUIRE(e != nullptr);
    CHECK((*e)["args"][1] == shadow);
}

// ---------------------------------------------------------------------------------------------------
// Allowed.

TEST_CASE("the stdlib a governance script needs imports and works", "[imports]") {
    TempDir d;
    auto r = run_script(d, R"(import json, csv, hashlib, datetime, decimal, statistics, re, pathlib, argparse
import collections, itertools, sqlite3, io
print(json.dumps({'a': 1}))
w = io.StringIO(); csv.writer(w).writerow([1, 2]); print(w.getvalue().strip())
print(hashlib.sha256(b'x').hexdigest()[:8])
print(datetime.date(2024, 1, 2).isoformat())
print(decimal.Decimal('1.10') + decimal.Decimal('2.20'))
print(statistics.mean([1, 2, 3]))
print(re.sub('a', 'b', 'aa'))
print(pathlib.PurePosixPath('/a/b').name)
print(argparse.ArgumentParser(prog='x').parse_args([]) is not None)
print(collections.Counter('aab')['a'], list(itertools.islice(itertools.count(), 3)))
c = sqlite3.connect(':memory:'); print(c.execute('select 1 + 1').fetchone()[0])
)");
    INFO(r.o.err);
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out ==
          "{\"a\": 1}\n1,2\n2d711642\n2024-01-02\n3.30\n2\nbb\nb\nTrue\n2 [0, 1, 2]\n2\n");
    for (const char* m : {"json", "csv", "hashlib", "datetime", "decimal", "statistics", "re", "pathlib",
                          "argparse", "collections", "itertools", "sqlite3", "_sqlite3", "_decimal", "_json",
                          "_hashlib"}) {
        INFO(m);
        CHECK(denied(r.events, "import", m) == nullptr);
    }
}

TEST_CASE("a sibling module and package of the script import", "[imports]") {
    TempDir d;
    d.file("helper.py", "VALUE = 42\n");
    d.file("pkg/__init__.py", "from .inner import NAME\n");
    d.file("pkg/inner.py", "NAME = 'inner'\n");
    auto r = run_script(d, "import helper, pkg\nprint(helper.VALUE, pkg.NAME)\n");
    INFO(r.o.err);
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "42 inner\n");
}

TEST_CASE("imports.deny: [json] refuses json, and `except ImportError` fallbacks work", "[imports]") {
    TempDir d;
    auto r = run_script(d, R"(try:
    import json
    print('imported')
except ImportError as e:
    print('fallback', type(e).__name__, isinstance(e, ModuleNotFoundError))
import json
)",
                        "deny_json");
    CHECK(r.o.exit_code == 1);
    CHECK(r.o.out == "fallback ModuleNotFoundError True\n");
    CHECK(has(r.o.err, "ModuleNotFoundError: hive-py: import of 'json' is refused by security.imports.deny"));
    CHECK(denied(r.events, "import", "json") != nullptr);
}

TEST_CASE("imports.deny: [_json]: the stdlib's own fallback to pure Python keeps json working", "[imports]") {
    TempDir d;
    auto r = run_script(d, "import json, json.decoder\nprint(json.dumps({'a': [1, 2]}), "
                           "json.loads('[1]'), json.decoder.c_scanstring is None)\n",
                        "deny_cjson");
    INFO(r.o.err);
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "{\"a\": [1, 2]} [1] True\n");
    CHECK(denied(r.events, "import", "_json") != nullptr);
}

TEST_CASE("imports: a module that exists nowhere fails as under python3 with no denial, and one the script planted is refused",
          "[imports]") {
    LogDir logs;
    // copy and pickle probe `org.python.core` (Jython) and catch the error: no denial, no closing line.
    const std::string code =
        "import copy, pickle\n"
        "try:\n    import nosuchmodule\nexcept ImportError as e:\n    print(repr(e))\n";
    auto r = hive({"--log-dir", logs.path, "-c", code});
    auto p = python({"-c", code});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == p.out);
    CHECK(r.out == "ModuleNotFoundError(\"No module named 'nosuchmodule'\")\n");
    CHECK(r.err.empty());
    CHECK(logs.security().find("\"denied\"") == std::string::npos);
    // A module the script wrote and put on sys.path exists: the whitelist refuses it.
    auto planted = hive({"--log-dir", logs.path, "-c",
                         "import sys, tempfile\nD = tempfile.mkdtemp()\nopen(D + '/evil.py', 'w').write('X = 1')\n"
                         "sys.path.insert(0, D)\ntry:\n    import evil\nexcept ImportError as e:\n    print(e)\n"});
    CHECK(planted.exit_code == 0);
    CHECK(planted.out == "hive-py: import of 'evil' is refused: not in the stdlib, the script's directory or "
                         "security.imports.allow\n");
}
