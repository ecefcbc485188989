#include "child/interpreter.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <pybind11/embed.h>

#include "child/report.h"
#include "common/trace.h"

namespace py = pybind11;

// Python/pythonrun.c, exported (its declaration is in the internal pycore_pylifecycle.h): set when the
// script ended by an unhandled KeyboardInterrupt, as Py_RunMain reads it.
extern "C" {
PyAPI_DATA(int) _Py_UnhandledKeyboardInterrupt;
}

namespace hive::interpreter {

namespace {

[[noreturn]] void fail(int report_fd, const char* what) {
    child::Report r;
    r.kind = child::Report::setup_failed;
    r.set_text("interpreter", what);
    [[maybe_unused]] ssize_t n = write(report_fd, &r, sizeof r);
    _exit(125);
}

void check(PyStatus st, int report_fd, const char* what) {
    if (PyStatus_Exception(st)) {
        std::string m = std::string(what) + ": " + (st.err_msg ? st.err_msg : "failed");
        fail(report_fd, m.c_str());
    }
}

std::wstring widen(const std::string& s) {
    wchar_t* w = Py_DecodeLocale(s.c_str(), nullptr);
    std::wstring out = w ? w : L"";
    PyMem_RawFree(w);
    return out;
}

// Names a script may import from its own directory (sibling modules and packages).
void add_siblings(const std::string& dir, hook::Config& cfg) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        if (n.size() > 3 && n.compare(n.size() - 3, 3, ".py") == 0) n.resize(n.size() - 3);
        if (n.find('.') == std::string::npos) cfg.import_allow.insert(n);
    }
    closedir(d);
}

// Names a zipapp may import from itself: the top-level entries of the zip, as zipimport reads them.
void add_zip_names(const std::string& zip, hook::Config& cfg) {
    try {
        py::object importer = py::module_::import("zipimport").attr("zipimporter")(zip);
        for (py::handle key : importer.attr("_files")) {
            std::string n = py::str(key);
            n = n.substr(0, n.find('/'));
            for (const char* ext : {".py", ".pyc"}) {
                const std::size_t len = std::strlen(ext);
                if (n.size() > len && n.compare(n.size() - len, len, ext) == 0) n.resize(n.size() - len);
            }
            if (!n.empty() && n.find('.') == std::string::npos) cfg.import_allow.insert(n);
        }
    } catch (const py::error_already_set&) {
        PyErr_Clear();  // not readable as a zip: Py_RunMain says so, as python3 does
    }
}

// Linker-defined bounds of the executable's initialised writable data (non-PIE and PIE alike).
extern "C" char __data_start[], __bss_start[];

// Where the malloc heap begins: the program break before anything was allocated. Noted by the first
// constructor of the executable (libc allocates nothing before it; a byte or two it might would only
// leave one page to fault lazily). Reading it later would cost a mallinfo2() walk of every free list.
void* g_heap_start = nullptr;
[[gnu::constructor(101)]] void note_heap_start() { g_heap_start = sbrk(0); }

}  // namespace

// Break copy-on-write for the pages the interpreter is about to write, in one call each, first thing in
// the script's process. Starting CPython writes into nearly every page of the executable's initialised
// data (deep-frozen code, interned strings, static types: 300 of its 320 pages here) and into the malloc
// heap inherited from the parent: each first write is a page fault (11-15 us on this VM), where one call
// breaks copy-on-write for ~4.5 us a page (README "Performance"). .bss is left out: start-up writes 5 of
// its 77 pages.
void prefault() {
#ifdef MADV_POPULATE_WRITE
    const auto page = std::uintptr_t(sysconf(_SC_PAGESIZE));
    auto populate = [page](std::uintptr_t lo, std::uintptr_t hi) {
        lo &= ~(page - 1);
        hi = (hi + page - 1) & ~(page - 1);
        // Best effort: a kernel without MADV_POPULATE_WRITE (< 5.14) answers EINVAL and the faults
        // happen lazily.
        if (lo < hi) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_WRITE);
    };
    populate(std::uintptr_t(__data_start), std::uintptr_t(__bss_start));
    // The heap inherited from the parent, up to the break: the interpreter's first larger allocations
    // land in its free space.
    if (g_heap_start) populate(std::uintptr_t(g_heap_start), std::uintptr_t(sbrk(0)));
#endif
}

namespace {

// obmalloc's arenas (1 MiB each) with their pages populated in one call while the interpreter starts:
// start-up fills its first arena page by page, a fault per page. The arenas the script's run needs fault
// in as usual (populate_arenas is cleared before it), so memory is not touched ahead of use: a short
// script's second arena, needed only for a moment at finalisation, cost a whole megabyte populated.
// Freed with munmap, as CPython's own arena allocator does.
constexpr int kPopulatedArenas = 2;
int g_arenas_populated = 0;
bool g_populate_arenas = true;

void* arena_alloc(void*, std::size_t size) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    if (g_populate_arenas && g_arenas_populated < kPopulatedArenas) {
        ++g_arenas_populated;
        flags |= MAP_POPULATE;
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

void arena_free(void*, void* p, std::size_t size) { munmap(p, size); }

}  // namespace

// What `site` puts in builtins for python3: quit, exit, copyright, credits, license, help (site.py's
// setquit(), setcopyright() and sethelper(), with the frozen _sitebuiltins). `site` itself is not
// imported: its main() would put site-packages on sys.path. Scripts call exit() and quit().
// _sitebuiltins._Printer.__init__ imports os (and with it posixpath, stat, _collections_abc: ~1.3 ms
// and some 40 audit events at every start) only to join the license's file names; the three printers
// are made with the attributes its __init__ sets (name-mangled; Python 3.11's _sitebuiltins) instead.
// test_host checks every one of them against python3 -I.
PyObject* make_printer(PyObject* sitebuiltins, const char* name, const char* data, PyObject* filenames) {
    PyObject* cls = PyObject_GetAttrString(sitebuiltins, "_Printer");
    if (!cls) return nullptr;
    PyObject* p = PyObject_CallMethod(cls, "__new__", "O", cls);
    Py_DECREF(cls);
    if (!p) return nullptr;
    PyObject* n = PyUnicode_FromString(name);
    PyObject* d = PyUnicode_FromString(data);
    PyObject* f = filenames ? (Py_INCREF(filenames), filenames) : PyList_New(0);
    const bool ok = n && d && f && PyObject_SetAttrString(p, "_Printer__name", n) == 0 &&
                    PyObject_SetAttrString(p, "_Printer__data", d) == 0 &&
                    PyObject_SetAttrString(p, "_Printer__lines", Py_None) == 0 &&
                    PyObject_SetAttrString(p, "_Printer__filenames", f) == 0;
    Py_XDECREF(n);
    Py_XDECREF(d);
    Py_XDECREF(f);
    if (!ok) Py_CLEAR(p);
    return p;
}

bool add_site_builtins() {
    PyObject* sb = PyImport_ImportModule("_sitebuiltins");
    if (!sb) return false;
    PyObject* builtins = PyEval_GetBuiltins();  // borrowed
    bool ok = builtins != nullptr;
    auto set = [&](const char* name, PyObject* value) {
        if (!value || PyDict_SetItemString(builtins, name, value) < 0) ok = false;
        Py_XDECREF(value);
    };
    const char* eof = "Ctrl-D (i.e. EOF)";  // os.sep is '/'
    set("quit", PyObject_CallMethod(sb, "Quitter", "ss", "quit", eof));
    set("exit", PyObject_CallMethod(sb, "Quitter", "ss", "exit", eof));
    PyObject* copyright = PySys_GetObject("copyright");  // borrowed
    set("copyright", copyright && PyUnicode_Check(copyright)
                         ? make_printer(sb, "copyright", PyUnicode_AsUTF8(copyright), nullptr)
                         : nullptr);
    set("credits", make_printer(sb, "credits",
                                "    Thanks to CWI, CNRI, BeOpen.com, Zope Corporation and a cast of thousands\n"
                                "    for supporting Python development.  See www.python.org for more information.",
                                nullptr));
    // [os.path.join(dir, f) for dir in (here/.., here, .) for f in (LICENSE.txt, LICENSE)], here being
    // sys._stdlib_dir.
    PyObject* files = PyList_New(0);
    PyObject* here = PySys_GetObject("_stdlib_dir");  // borrowed
    if (files && here && PyUnicode_Check(here) && PyUnicode_GetLength(here) > 0) {
        for (const char* fmt : {"%U/../LICENSE.txt", "%U/../LICENSE", "%U/LICENSE.txt", "%U/LICENSE"}) {
            PyObject* f = PyUnicode_FromFormat(fmt, here);
            if (!f || PyList_Append(files, f) < 0) ok = false;
            Py_XDECREF(f);
        }
        for (const char* name : {"./LICENSE.txt", "./LICENSE"}) {
            PyObject* f = PyUnicode_FromString(name);
            if (!f || PyList_Append(files, f) < 0) ok = false;
            Py_XDECREF(f);
        }
    }
    set("license", files ? make_printer(sb, "license", "See https://www.python.org/psf/license/", files) : nullptr);
    Py_XDECREF(files);
    set("help", PyObject_CallMethod(sb, "_Helper", nullptr));
    Py_DECREF(sb);
    return ok;
}

// The meta-path finder: refuses denied imports for every route through importlib (import statement,
// __import__, importlib.import_module, which raises no `import` audit event), before any other finder
// looks. The audit hook backs it up for what bypasses sys.meta_path (extension loaders, open_code).
// Written against the C API: as a pybind11 module this one function set up pybind11's whole type
// machinery at every start (~0.15 ms) and left its internals capsule in builtins, which python3 has not.
// run() registers the module in the script's process only (PyImport_AppendInittab).
namespace {

PyObject* guard_find_spec(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* kwlist[] = {"fullname", "path", "target", nullptr};
    PyObject *fullname = nullptr, *path = Py_None, *target = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "U|OO:find_spec", const_cast<char**>(kwlist), &fullname, &path,
                                     &target))
        return nullptr;
    Py_ssize_t n = 0;
    const char* name = PyUnicode_AsUTF8AndSize(fullname, &n);
    if (!name) return nullptr;
    // A top-level name is searched on sys.path; a submodule on its package's __path__ (`path`).
    const std::string why = hook::import_refusal_if_found(std::string_view(name, std::size_t(n)),
                                                          path != Py_None && PyList_Check(path) ? path : nullptr);
    if (why.empty()) Py_RETURN_NONE;
    // importlib.import_module() and the like raise no `import` audit event: raise one, so that the hook
    // puts this refusal on record (and refuses it, with the same exception).
    if (PySys_Audit("import", "OOOOO", fullname, Py_None, Py_None, Py_None, Py_None) < 0) return nullptr;
    PyObject* msg = PyUnicode_FromStringAndSize(why.data(), Py_ssize_t(why.size()));
    if (!msg) return nullptr;
    PyErr_SetImportErrorSubclass(PyExc_ModuleNotFoundError, msg, fullname, nullptr);
    Py_DECREF(msg);
    return nullptr;
}

PyMethodDef guard_methods[] = {
    {"find_spec", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(guard_find_spec)),
     METH_VARARGS | METH_KEYWORDS, "find_spec(fullname, path=None, target=None): refuse an import the policy denies"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef guard_module = {PyModuleDef_HEAD_INIT, "_hive_guard", "hive-py's import finder (security.imports)", -1,
                            guard_methods, nullptr, nullptr, nullptr, nullptr};

extern "C" PyObject* hive_init_guard_module() { return PyModule_Create(&guard_module); }

// The script file as `python3 -I FILE` runs it, from the bytes check_script read: Py_RunMain's file
// branch (CPython 3.11 Modules/main.c pymain_run_python, pymain_run_file_obj, then Py_RunMain's end) and
// Python/pythonrun.c _PyRun_SimpleFileObject, with the source compiled from memory instead of read from
// the file by name. Kept as python3's: the `cpython.run_file` audit event, __file__ (the path made
// absolute as PyConfig makes run_filename: cwd + '/' + path, not normalised), __cached__, __loader__,
// sys.argv[0] (set by the caller), co_filename and so tracebacks, the coding declaration (the tokenizer
// decodes a byte string by its BOM and cookie as it decodes a file), SystemExit, and death by SIGINT after
// an unhandled KeyboardInterrupt. Not kept: sys.path_importer_cache holds no entry for the script (python3
// asks the path hooks whether the file is a zip or a directory to run; check_script found it is neither,
// and those two run by Py_RunMain), and
// no `open` audit event of the script is raised (it is not opened).

// pythonrun.c flush_io(): sys.stderr and sys.stdout flushed, the pending exception kept.
void flush_io() {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    for (const char* name : {"stderr", "stdout"}) {
        PyObject* f = PySys_GetObject(name);  // borrowed
        PyObject* r = f ? PyObject_CallMethod(f, "flush", nullptr) : nullptr;
        if (r) Py_DECREF(r);
        else PyErr_Clear();
    }
    PyErr_Restore(type, value, tb);
}

// Parser/tokenizer.c valid_utf8() of 3.11: the length of the UTF-8 sequence at `s`, 0 if it is none (the
// special cases of stringlib/codecs.h utf8_decode: no overlong forms, no surrogates, nothing past
// U+10FFFF).
int valid_utf8(const unsigned char* s, const unsigned char* end) {
    const auto at = [&](int i) { return s + i < end ? s[i] : 0; };
    int expected;
    if (*s < 0x80) return 1;
    if (*s < 0xe0) {
        if (*s < 0xc2) return 0;
        expected = 1;
    } else if (*s < 0xf0) {
        if ((*s == 0xe0 && at(1) < 0xa0) || (*s == 0xed && at(1) >= 0xa0)) return 0;
        expected = 2;
    } else if (*s < 0xf5) {
        if (at(1) < 0x90 ? *s == 0xf0 : *s == 0xf4) return 0;
        expected = 3;
    } else {
        return 0;
    }
    for (int i = expected; i > 0; --i)
        if (at(i) < 0x80 || at(i) >= 0xc0) return 0;
    return expected + 1;
}

// Source that is not UTF-8 and declares no encoding: compiled from a string, the tokenizer says
// "(unicode error) 'utf-8' codec can't decode ..."; read from a file, as python3 reads it, ensure_utf8()
// says "Non-UTF-8 code starting with ... in file F on line N ...". The file's message replaces the
// string's, so a script python3 refuses is refused with the same words. Only when there is no BOM and
// no coding declaration (a "coding" in a comment of the first two lines leaves the error as it is).
void as_file_decoding_error(const std::string& code, PyObject* filename) {
    if (!PyErr_ExceptionMatches(PyExc_SyntaxError)) return;
    if (code.compare(0, 3, "\xef\xbb\xbf") == 0) return;
    const std::size_t first = code.find('\n');
    const std::size_t second = first == std::string::npos ? first : code.find('\n', first + 1);
    const std::string head = code.substr(0, second);
    if (const std::size_t hash = head.find('#'); hash != std::string::npos && head.find("coding", hash) != std::string::npos)
        return;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject* msg = value ? PyObject_GetAttrString(value, "msg") : nullptr;
    const char* m = msg && PyUnicode_Check(msg) ? PyUnicode_AsUTF8(msg) : nullptr;
    const bool utf8_error = m && std::strncmp(m, "(unicode error) 'utf-8' codec can't decode", 42) == 0;
    Py_XDECREF(msg);
    PyErr_Clear();
    const auto* p = reinterpret_cast<const unsigned char*>(code.data());
    const auto* end = p + code.size();
    int line = 1;
    for (const unsigned char* c = p; utf8_error && c < end;) {
        const int n = valid_utf8(c, end);
        if (n == 0) {
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
            PyErr_Format(PyExc_SyntaxError,
                         "Non-UTF-8 code starting with '\\x%.2x' in file %U on line %i, but no encoding declared; "
                         "see https://peps.python.org/pep-0263/ for details",
                         int(*c), filename, line);
            return;
        }
        if (*c == '\n') ++line;
        c += n;
    }
    PyErr_Restore(type, value, tb);
}

// The script's code run in __main__'s dict as _PyRun_SimpleFileObject runs it; 0, or -1 with an
// exception set.
int run_in_main(PyObject* d, PyObject* filename, const std::string& code) {
    if (PySys_Audit("cpython.run_file", "O", filename) < 0 || Py_MakePendingCalls() == -1) return -1;
    // set_main_loader(): importlib._bootstrap_external.SourceFileLoader('__main__', filename).
    PyObject* external = PyImport_ImportModule("_frozen_importlib_external");
    PyObject* loader = external ? PyObject_CallMethod(external, "SourceFileLoader", "sO", "__main__", filename)
                                : nullptr;
    Py_XDECREF(external);
    const bool loader_set = loader && PyDict_SetItemString(d, "__loader__", loader) == 0;
    Py_XDECREF(loader);
    if (!loader_set) {
        std::fprintf(stderr, "python: failed to set __main__.__loader__\n");
        return -1;
    }
    PyCompilerFlags cf{};
    cf.cf_flags = 0;
    cf.cf_feature_version = PY_MINOR_VERSION;
    PyObject* co = Py_CompileStringObject(code.c_str(), filename, Py_file_input, &cf, -1);
    if (!co) as_file_decoding_error(code, filename);
    // run_mod()'s `exec` event, run_eval_code_obj()'s KeyboardInterrupt flag.
    PyObject* result = nullptr;
    if (co && PySys_Audit("exec", "O", co) == 0) {
        _Py_UnhandledKeyboardInterrupt = 0;
        result = PyEval_EvalCode(co, d, d);
        if (!result && PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) _Py_UnhandledKeyboardInterrupt = 1;
    }
    Py_XDECREF(co);
    flush_io();
    if (!result) return -1;
    Py_DECREF(result);
    return 0;
}

int run_file_bytes(const ScriptSpec& spec) {
    std::string path = spec.target;
    if (path.empty() || path[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof cwd)) path = std::string(cwd) + "/" + path;
    }
    PyObject* filename = PyUnicode_DecodeFSDefaultAndSize(path.data(), Py_ssize_t(path.size()));
    PyObject* main = PyImport_AddModule("__main__");  // borrowed
    PyObject* d = main ? PyModule_GetDict(main) : nullptr;
    int exitcode = 1;
    if (filename && d) {
        const bool set_file_name = !PyDict_GetItemString(d, "__file__");
        if (set_file_name && (PyDict_SetItemString(d, "__file__", filename) < 0 ||
                              PyDict_SetItemString(d, "__cached__", Py_None) < 0)) {
            PyErr_Print();
        } else {
            // PyErr_Print() ends the process through Py_Exit for a SystemExit, as under python3.
            // -x: the first line skipped, its newline kept, so that line numbers stay the file's
            // (pymain_run_file_obj's getc/ungetc).
            std::string skipped;
            if (spec.flags.skip_first_line) {
                const std::size_t nl = spec.code.find('\n');
                if (nl != std::string::npos) skipped = spec.code.substr(nl);
            }
            const std::string& code = spec.flags.skip_first_line ? skipped : spec.code;
            if (run_in_main(d, filename, code) == 0) exitcode = 0;
            else PyErr_Print();
            if (set_file_name) {
                if (PyDict_DelItemString(d, "__file__") < 0) PyErr_Clear();
                if (PyDict_DelItemString(d, "__cached__") < 0) PyErr_Clear();
            }
        }
    } else {
        PyErr_Print();
    }
    Py_XDECREF(filename);
    if (Py_FinalizeEx() < 0) exitcode = 120;
    if (_Py_UnhandledKeyboardInterrupt) {
        // exit_sigint(): die by SIGINT, as python3 does, so that the caller's shell sees the ^C.
        PyOS_setsig(SIGINT, SIG_DFL);
        kill(getpid(), SIGINT);
        exitcode = 128 + SIGINT;
    }
    return exitcode;
}

}  // namespace

namespace {

// python3's flags, into the fields its own command-line parser sets (Python/initconfig.c
// config_parse_cmdline); -X options are read from config.xoptions by PyConfig_Read as from argv.
void set_flags(PyConfig& config, const PyFlags& fl, int report_fd) {
    config.bytes_warning = fl.bytes_warning;
    config.parser_debug = fl.parser_debug;
    config.optimization_level = fl.optimization_level;
    config.quiet = fl.quiet;
    config.buffered_stdio = !fl.unbuffered;
    config.verbose = fl.verbose;
    config.skip_source_first_line = fl.skip_first_line;
    if (!fl.check_hash_pycs.empty())
        check(PyConfig_SetString(&config, &config.check_hash_pycs_mode, widen(fl.check_hash_pycs).c_str()), report_fd,
              "check_hash_pycs_mode");
    for (const auto& w : fl.warnoptions)
        check(PyWideStringList_Append(&config.warnoptions, widen(w).c_str()), report_fd, "warnoptions");
    for (const auto& x : fl.xoptions) {
        check(PyWideStringList_Append(&config.xoptions, widen(x).c_str()), report_fd, "xoptions");
        // The options PyConfig_Read takes from xoptions only for fields left unset (-1), which the
        // isolated configuration sets. -X dev is read by the pre-configuration, which parses no argv
        // here; its debug memory allocators are not taken: the audit hook, allocated before
        // Py_PreInitialize, would be freed by them.
        if (x == "dev") config.dev_mode = config.faulthandler = 1;
        if (x == "faulthandler") config.faulthandler = 1;
        if (x == "tracemalloc") config.tracemalloc = 1;
        if (x.rfind("tracemalloc=", 0) == 0) config.tracemalloc = std::atoi(x.c_str() + 12);
    }
}

// sys.argv exactly as python3 builds it, and what Py_RunMain runs; sys.orig_argv.
std::vector<std::string> set_argv(PyConfig& config, const ScriptSpec& spec, int report_fd) {
    std::vector<std::string> argv;
    switch (spec.mode) {
        case ScriptSpec::Mode::file:
            if (spec.importer != ScriptSpec::Importer::none) {
                // A directory or zip file: Py_RunMain runs it as python3 does (its path first on sys.path,
                // its __main__ module run by runpy), reading the files by name.
                argv.push_back(spec.target);
                check(PyConfig_SetString(&config, &config.run_filename, widen(spec.target).c_str()), report_fd,
                      "run_filename");
                break;
            }
            // No run_filename: Py_RunMain would open the file by its name again. run_file_bytes() runs
            // the bytes check_script read and hashed.
            argv.push_back(spec.target);
            break;
        case ScriptSpec::Mode::command: {
            argv.push_back("-c");
            std::wstring code = widen(spec.target) + L"\n";
            check(PyConfig_SetString(&config, &config.run_command, code.c_str()), report_fd, "run_command");
            break;
        }
        case ScriptSpec::Mode::module:
            argv.push_back("-m");
            check(PyConfig_SetString(&config, &config.run_module, widen(spec.target).c_str()), report_fd,
                  "run_module");
            break;
        case ScriptSpec::Mode::stdin_:
            argv.push_back(spec.implicit_stdin ? "" : "-");
            break;
    }
    argv.insert(argv.end(), spec.args.begin(), spec.args.end());
    // sys.orig_argv: the command line the interpreter was started with, as python3 keeps its own
    // (['python3', '-I', 's.py', ...]); here hive-py's name, python3's flags and the script's part, as
    // parse_options collected them (['hive-py', '-u', 's.py', ...], without --policy and the like).
    for (const auto& a : spec.orig_argv)
        check(PyWideStringList_Append(&config.orig_argv, widen(a).c_str()), report_fd, "orig_argv");
    return argv;
}

// What the script may import besides the stdlib: its own directory's modules (a directory or zip run:
// its own), and hive-py's import guard first on sys.meta_path.
void set_import_paths(const ScriptSpec& spec, hook::Config& hook_cfg) {
    py::module_ sys = py::module_::import("sys");
    if (spec.importer == ScriptSpec::Importer::directory) {
        // The directory's own modules are importable (Py_RunMain puts it first on sys.path, as python3
        // does); its parent directory is not put on sys.path.
        add_siblings(spec.script_abs, hook_cfg);
    } else if (spec.importer == ScriptSpec::Importer::zip) {
        add_zip_names(spec.script_abs, hook_cfg);
    } else if (spec.mode == ScriptSpec::Mode::file) {
        // Unlike `python3 -I`, the script's own directory is importable, so a governance script can
        // import its sibling modules (Landlock gives that directory read-only). It goes last, not
        // first: a sibling named like a stdlib module (json.py, csv.py) must not shadow the stdlib,
        // which `python3 -I` would import.
        const std::size_t slash = spec.script_abs.rfind('/');
        const std::string dir = slash == 0 ? std::string(1, '/') : spec.script_abs.substr(0, slash);
        sys.attr("path").attr("append")(dir);
        add_siblings(dir, hook_cfg);
    }
    // security.imports.site: after the stdlib, in python3's order (before the script's directory, which
    // python3 -I would not have at all).
    py::list path = sys.attr("path");
    const Py_ssize_t at = spec.mode == ScriptSpec::Mode::file && spec.importer == ScriptSpec::Importer::none
                              ? Py_ssize_t(py::len(path)) - 1
                              : Py_ssize_t(py::len(path));
    for (std::size_t i = 0; i < hook_cfg.site_dirs.size(); ++i)
        path.attr("insert")(at + Py_ssize_t(i), hook_cfg.site_dirs[i]);
    sys.attr("meta_path").attr("insert")(0, py::module_::import("_hive_guard"));
}

// The parent's word on the pids cgroup (setup.h: cgroup_joined_fd): nothing of the script runs before it.
void wait_for_cgroup(int fd, int report_fd) {
    if (fd < 0) return;
    int err = 0;
    ssize_t n;
    while ((n = read(fd, &err, sizeof err)) < 0 && errno == EINTR) {
    }
    close(fd);
    if (n != ssize_t(sizeof err)) fail(report_fd, "the parent did not move the script into the run's pids cgroup");
    if (err != 0) {
        char m[160];
        std::snprintf(m, sizeof m, "write(cgroup.procs) by the parent: %s (%s)", strerrorname_np(err), std::strerror(err));
        fail(report_fd, m);
    }
}

}  // namespace

void run(const ScriptSpec& spec, hook::Config& hook_cfg, int report_fd, int cgroup_fd) {
    // The hook goes in before the interpreter exists: nothing in Python can remove it or veto it.
    if (!hook::install(&hook_cfg)) fail(report_fd, "PySys_AddAuditHook failed");

    if (PyImport_AppendInittab("_hive_guard", hive_init_guard_module) != 0) fail(report_fd, "PyImport_AppendInittab failed");

    // UTF-8 mode: the script's environment is empty (no LANG), and output must still be UTF-8.
    PyPreConfig pre;
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.utf8_mode = 1;
    check(Py_PreInitialize(&pre), report_fd, "Py_PreInitialize");

    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);  // isolated=1: no PYTHON* variables, no user site, safe_path
    config.site_import = 0;
    config.write_bytecode = 0;
    config.install_signal_handlers = 1;
    config.pathconfig_warnings = 0;
    config.parse_argv = 0;
    set_flags(config, spec.flags, report_fd);
    check(PyConfig_SetString(&config, &config.home, L"/usr"), report_fd, "PyConfig home");
    check(PyConfig_SetString(&config, &config.executable, L"/usr/bin/python3.11"), report_fd, "PyConfig executable");
    // sys.path, sys.prefix and sys._stdlib_dir are left to the interpreter's own path calculation from
    // home and executable, as python3's are: the same sys.path as `python3 -I -S`, and the stdlib's
    // frozen modules get their __file__ (an explicit search path left sys._stdlib_dir None, and os,
    // io, codecs... without __file__).

    const std::vector<std::string> argv = set_argv(config, spec, report_fd);
    std::vector<const char*> cargv;
    for (auto& a : argv) cargv.push_back(a.c_str());

    PyObjectArenaAllocator arenas{nullptr, arena_alloc, arena_free};
    PyObject_SetArenaAllocator(&arenas);
    try {
        // pybind11 initialises from our PyConfig; add_program_dir_to_path=false: it must not edit sys.path.
        py::initialize_interpreter(&config, int(cargv.size()), cargv.data(), false);
    } catch (const std::exception& e) {
        fail(report_fd, e.what());
    }

    HIVE_MARK("s.pyinit");
    if (!add_site_builtins()) {
        PyErr_Print();
        fail(report_fd, "cannot set up the builtins site adds (exit, quit, help...)");
    }
    hook::learn_stdlib_names();
    hook::learn_types();
    set_import_paths(spec, hook_cfg);
    HIVE_MARK("s.cgroup_wait");
    wait_for_cgroup(cgroup_fd, report_fd);
    close(report_fd);

    // Py_RunMain runs the file/command/module/stdin, prints tracebacks, maps SystemExit to the exit code,
    // re-raises an unhandled KeyboardInterrupt as SIGINT, and finalises the interpreter.
    HIVE_MARK("s.runmain");
    g_populate_arenas = false;
    const bool from_bytes = spec.mode == ScriptSpec::Mode::file && spec.importer == ScriptSpec::Importer::none;
    int code = from_bytes ? run_file_bytes(spec) : Py_RunMain();
    HIVE_MARK("s.ranmain");
    std::fflush(stdout);
    std::fflush(stderr);
    HIVE_MARK("s.exit");
    _exit(code);
}

}  // namespace hive::interpreter
