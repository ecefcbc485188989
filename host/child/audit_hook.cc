#include "child/audit_hook.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

#include "channel/event.h"

namespace hive::hook {

namespace {

using channel::Decision;
using channel::Kind;

Config* g_cfg = nullptr;
// sys.stdlib_module_names as the interpreter started (a frozenset, held here: rebinding the sys
// attribute changes nothing). Queried in place rather than copied into a C++ set at every start.
PyObject* g_stdlib_names = nullptr;
bool g_started = false;  // the script's own code has begun (a cpython.run_* event was seen)
std::uint64_t g_startup_events = 0;
std::uint64_t g_seq = 0;
pid_t g_pid = 0;
thread_local bool t_in_hook = false;
PyTypeObject* g_direntry_type = nullptr;  // posix.DirEntry, taken before the script's first line

void after_fork_child() {
    g_pid = getpid();
    g_seq = 0;
}

// ---- which events are recorded, and as what ----

struct Class {
    bool log;
    Kind kind;
};

Class classify(std::string_view n) {
    static const std::unordered_map<std::string_view, Kind> exact = {
        {"open", Kind::file}, {"mmap.__new__", Kind::file}, {"glob.glob", Kind::file},
        {"glob.glob/2", Kind::file}, {"tempfile.mkstemp", Kind::file}, {"tempfile.mkdtemp", Kind::file},
        {"fcntl.fcntl", Kind::file}, {"fcntl.ioctl", Kind::file}, {"fcntl.flock", Kind::file},
        {"fcntl.lockf", Kind::file},
        {"subprocess.Popen", Kind::subprocess}, {"os.system", Kind::subprocess}, {"os.exec", Kind::subprocess},
        {"os.posix_spawn", Kind::subprocess}, {"os.spawn", Kind::subprocess}, {"os.fork", Kind::subprocess},
        {"os.forkpty", Kind::subprocess}, {"pty.spawn", Kind::subprocess}, {"os.kill", Kind::subprocess},
        {"os.killpg", Kind::subprocess}, {"signal.pthread_kill", Kind::subprocess},
        {"os.startfile", Kind::subprocess},
        {"import", Kind::code}, {"exec", Kind::code}, {"compile", Kind::code},
        {"pickle.find_class", Kind::code}, {"code.__new__", Kind::code}, {"function.__new__", Kind::code},
        {"urllib.Request", Kind::socket}, {"webbrowser.open", Kind::socket},
        {"sys.addaudithook", Kind::tampering}, {"sys.settrace", Kind::tampering},
        {"sys.setprofile", Kind::tampering}, {"sys._getframe", Kind::tampering},
        {"sys._current_frames", Kind::tampering}, {"object.__setattr__", Kind::tampering},
        {"object.__delattr__", Kind::tampering}, {"gc.get_referrers", Kind::tampering},
        {"gc.get_objects", Kind::tampering}, {"gc.get_referents", Kind::tampering},
        {"sys.monitoring.register_callback", Kind::tampering},
    };
    if (auto it = exact.find(n); it != exact.end()) return {true, it->second};
    auto starts = [&](std::string_view p) { return n.substr(0, p.size()) == p; };
    if (starts("os.")) {
        if (n == "os.putenv" || n == "os.unsetenv") return {true, Kind::other};
        return {true, Kind::file};
    }
    if (starts("shutil.")) return {true, Kind::file};
    if (starts("socket.") || starts("http.client.") || starts("ftplib.") || starts("smtplib.") ||
        starts("poplib.") || starts("imaplib.") || starts("nntplib.") || starts("telnetlib.") || starts("ssl."))
        return {true, Kind::socket};
    if (starts("marshal.") || starts("ctypes.") || starts("cpython.run_") || starts("sqlite3."))
        return {true, Kind::code};
    return {false, Kind::other};
}

// ---- rendering arguments without running Python code ----

// `dict[name]` without running code: PyDict_GetItem would compare a colliding key with ==, which runs
// the __eq__ of a str subclass a script put into a class dict. Only exact str keys are compared, in C.
PyObject* dict_get_exact(PyObject* dict, const char* name) {
    if (!dict || !PyDict_CheckExact(dict)) return nullptr;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(dict, &pos, &k, &v))
        if (PyUnicode_CheckExact(k) && PyUnicode_CompareWithASCIIString(k, name) == 0) return v;
    return nullptr;
}

// The object stored in the slot `name` of `type` (a member descriptor: a C offset into the object, read
// without calling anything), or null when unset.
PyObject* slot_object(PyObject* o, PyTypeObject* type, const char* name) {
    PyObject* d = dict_get_exact(type->tp_dict, name);
    if (!d || !Py_IS_TYPE(d, &PyMemberDescr_Type)) return nullptr;
    auto* md = reinterpret_cast<PyMemberDescrObject*>(d);
    if (md->d_common.d_type != type || md->d_member->type != T_OBJECT_EX) return nullptr;
    return *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(o) + md->d_member->offset);
}

// The same, when it is an exact str or bytes.
PyObject* slot_value(PyObject* o, PyTypeObject* type, const char* name) {
    PyObject* v = slot_object(o, type, name);
    return v && (PyUnicode_CheckExact(v) || PyBytes_CheckExact(v)) ? v : nullptr;
}

// pathlib's str() of a PurePosixPath, rebuilt from its parsed parts as pathlib 3.11 does
// (_format_parsed_parts): drive + root + "/".join(parts[1:]) with a drive or root, else "/".join(parts),
// "." when empty. Null unless every part is an exact str.
PyObject* posix_path_text(PyObject* o, PyTypeObject* pure_path) {
    PyObject* drv = slot_object(o, pure_path, "_drv");
    PyObject* root = slot_object(o, pure_path, "_root");
    PyObject* parts = slot_object(o, pure_path, "_parts");
    if (!drv || !root || !parts || !PyUnicode_CheckExact(drv) || !PyUnicode_CheckExact(root) ||
        !PyList_CheckExact(parts))
        return nullptr;
    std::string out;
    auto add = [&](PyObject* s) {
        Py_ssize_t n = 0;
        const char* c = PyUnicode_AsUTF8AndSize(s, &n);
        if (!c) return false;
        out.append(c, std::size_t(n));
        return true;
    };
    if (!add(drv) || !add(root)) return (PyErr_Clear(), nullptr);
    const bool anchored = PyUnicode_GET_LENGTH(drv) > 0 || PyUnicode_GET_LENGTH(root) > 0;
    for (Py_ssize_t i = anchored ? 1 : 0, first = i; i < PyList_GET_SIZE(parts); ++i) {
        PyObject* part = PyList_GET_ITEM(parts, i);
        if (!PyUnicode_CheckExact(part)) return nullptr;
        if (i > first) out += '/';
        if (!add(part)) return (PyErr_Clear(), nullptr);
        if (out.size() > channel::kMaxArgBytes) break;  // the record cuts and marks it anyway
    }
    if (out.empty()) out.assign(1, '.');  // (not = ".": GCC 12 warns falsely, -Wrestrict)
    return PyUnicode_FromStringAndSize(out.data(), Py_ssize_t(out.size()));  // new reference
}

// The path of a path-like object the stdlib makes, read without running any of the script's code (no
// __fspath__, no __str__): os.DirEntry's `path` member, and pathlib's cached string (`_str`, which
// PurePath.__fspath__ fills in before any os function or open() raises its event). Only for the
// stdlib's own classes and subclasses that do not redefine __fspath__/__str__; anything else is null
// and shows as its type name. (A script that replaces pathlib itself could make the cached string
// differ from what it opens; Landlock decides on the real path either way.)
// Returns a new reference.
PyObject* stdlib_path_of(PyObject* o) {
    PyTypeObject* t = Py_TYPE(o);
    if (g_direntry_type && t == g_direntry_type) return Py_XNewRef(slot_value(o, t, "path"));
    PyObject* mro = t->tp_mro;
    if (!mro || !PyTuple_CheckExact(mro)) return nullptr;
    bool posix = false;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); ++i) {
        auto* c = reinterpret_cast<PyTypeObject*>(PyTuple_GET_ITEM(mro, i));
        if (!c->tp_dict) return nullptr;
        if (std::strcmp(c->tp_name, "PurePosixPath") == 0) posix = true;
        if (std::strcmp(c->tp_name, "PurePath") == 0) {
            PyObject* mod = dict_get_exact(c->tp_dict, "__module__");
            if (!mod || !PyUnicode_CheckExact(mod) || PyUnicode_CompareWithASCIIString(mod, "pathlib") != 0)
                return nullptr;
            if (PyObject* cached = slot_value(o, c, "_str")) return Py_NewRef(cached);
            return posix ? posix_path_text(o, c) : nullptr;  // str() not called yet: from its parts
        }
        // A subclass that computes its own path: what it opens may differ from the cached string.
        if (dict_get_exact(c->tp_dict, "__fspath__") || dict_get_exact(c->tp_dict, "__str__"))
            return nullptr;
    }
    return nullptr;
}

void render(PyObject* o, std::string& out, int depth) {
    if (out.size() > channel::kMaxArgBytes) return;
    if (o == Py_None) {
        out += "None";
    } else if (PyBool_Check(o)) {
        out += o == Py_True ? "True" : "False";
    } else if (PyUnicode_CheckExact(o)) {
        Py_ssize_t n = 0;
        const char* s = PyUnicode_AsUTF8AndSize(o, &n);
        if (s) {
            out.append(s, std::size_t(n));
        } else {
            PyErr_Clear();
            out += "<str not encodable as UTF-8>";
        }
    } else if (PyBytes_CheckExact(o)) {
        out += "b'";
        const char* s = PyBytes_AS_STRING(o);
        Py_ssize_t n = PyBytes_GET_SIZE(o);
        for (Py_ssize_t i = 0; i < n && out.size() <= channel::kMaxArgBytes; ++i) {
            unsigned char c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
                out += char(c);
            } else {
                char b[5];
                std::snprintf(b, sizeof b, "\\x%02x", c);
                out += b;
            }
        }
        out += "'";
    } else if (PyLong_CheckExact(o)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow || (v == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            out += "<int>";
        } else {
            out += std::to_string(v);
        }
    } else if (PyFloat_CheckExact(o)) {
        char b[32];
        std::snprintf(b, sizeof b, "%.17g", PyFloat_AS_DOUBLE(o));
        out += b;
    } else if ((PyTuple_CheckExact(o) || PyList_CheckExact(o)) && depth < 2) {
        bool tuple = PyTuple_CheckExact(o);
        out += tuple ? '(' : '[';
        Py_ssize_t n = tuple ? PyTuple_GET_SIZE(o) : PyList_GET_SIZE(o);
        for (Py_ssize_t i = 0; i < n && out.size() <= channel::kMaxArgBytes; ++i) {
            if (i) out += ", ";
            // Borrowed reference; nothing between here and render() can run Python code.
            render(tuple ? PyTuple_GET_ITEM(o, i) : PyList_GET_ITEM(o, i), out, depth + 1);
        }
        out += tuple ? ')' : ']';
    } else if (PyObject* path = stdlib_path_of(o)) {
        render(path, out, depth);  // str or bytes: a path-like shows as its path
        Py_DECREF(path);
    } else {
        // Anything else is shown by its type name only: a repr() or __fspath__ here would run the
        // script's code inside the hook.
        out += '<';
        out += Py_TYPE(o)->tp_name;
        out += '>';
    }
}

// The text of a str, or of an instance of a str subclass, read from the object's own storage (no
// method of the subclass runs): what C code such as the extension loader uses of it.
bool str_of(PyObject* o, std::string& out) {
    if (!PyUnicode_Check(o)) return false;
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(o, &n);
    if (!s) {
        PyErr_Clear();
        return false;
    }
    out.assign(s, std::size_t(n));
    return true;
}

// The text of a str or bytes argument (a path), or nullopt-ish false.
bool text_of(PyObject* o, std::string& out) {
    if (PyUnicode_CheckExact(o)) return str_of(o, out);
    if (PyBytes_CheckExact(o)) {
        out.assign(PyBytes_AS_STRING(o), std::size_t(PyBytes_GET_SIZE(o)));
        return true;
    }
    if (PyObject* path = stdlib_path_of(o)) {
        bool ok = text_of(path, out);
        Py_DECREF(path);
        return ok;
    }
    return false;
}

// ---- paths ----

// The working directory, read again only after a chdir event (an os.chdir that then fails costs one
// extra getcwd, nothing else).
std::string g_cwd;
bool g_cwd_stale = true;

// Absolute, lexically normalised (no syscall resolves links: the kernel's Landlock rules do that).
std::string absolute(const std::string& p) {
    std::string in;
    if (!p.empty() && p[0] == '/') {
        in = p;
    } else {
        if (g_cwd_stale) {
            char cwd[4096];
            if (!getcwd(cwd, sizeof cwd)) return p;
            g_cwd = cwd;
            g_cwd_stale = false;
        }
        in = g_cwd + "/" + p;
    }
    std::vector<std::string_view> parts;
    std::string_view s(in);
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t j = s.find('/', i);
        if (j == std::string_view::npos) j = s.size();
        std::string_view part = s.substr(i, j - i);
        if (part.empty() || part == ".") {
        } else if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else {
            parts.push_back(part);
        }
        i = j + 1;
    }
    std::string out;
    for (auto& part : parts) {
        out += '/';
        out += part;
    }
    return out.empty() ? "/" : out;
}

bool under(const std::string& path, const std::vector<std::string>& roots) {
    for (const auto& r : roots) {
        if (path.size() >= r.size() && path.compare(0, r.size(), r) == 0 &&
            (path.size() == r.size() || path[r.size()] == '/' || r == "/"))
            return true;
    }
    return false;
}

// In the run's private /tmp or /dev/shm, and not in a tree of the host bound into it.
bool in_private(const Config& c, const std::string& p) {
    return c.scratch_mounted && !p.empty() && under(p, c.scratch_paths) && !under(p, c.scratch_binds);
}
// Without the private /tmp the policy's own grants of the host's /tmp apply.
bool may_write(const Config& c, const std::string& p) {
    return under(p, c.write_paths) || in_private(c, p) || (!c.scratch_mounted && under(p, c.hidden_write_paths));
}
bool may_read(const Config& c, const std::string& p) {
    return under(p, c.read_paths) || in_private(c, p) || (!c.scratch_mounted && under(p, c.hidden_read_paths));
}

// ---- raising ----

int refuse_permission(int err, const std::string& why, const std::string& path) {
    PyObject* v = path.empty() ? Py_BuildValue("(is)", err, why.c_str())
                               : Py_BuildValue("(iss)", err, why.c_str(), path.c_str());
    if (v) {
        PyErr_SetObject(PyExc_PermissionError, v);
        Py_DECREF(v);
    }
    return -1;
}

int refuse_import(const std::string& name, const std::string& why) {
    PyObject* msg = PyUnicode_FromString(why.c_str());
    PyObject* n = PyUnicode_FromString(name.c_str());
    if (msg && n) PyErr_SetImportErrorSubclass(PyExc_ModuleNotFoundError, msg, n, nullptr);
    Py_XDECREF(msg);
    Py_XDECREF(n);
    return -1;
}

std::string top_level(std::string_view name) {
    auto dot = name.find('.');
    return std::string(dot == std::string_view::npos ? name : name.substr(0, dot));
}

// ---- decisions ----

}  // namespace

// Whether any entry of `path` (sys.path, a list of str) holds a module or package named `top`, as the
// path finder would look for it. A zip entry is taken to hold it (not opened here).
bool on_search_path(const std::string& top, PyObject* path) {
    if (!path || !PyList_Check(path)) return true;
    static const char* const kSuffixes[] = {"", ".py", ".pyc", ".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so"};
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(path); ++i) {
        PyObject* e = PyList_GET_ITEM(path, i);
        if (!PyUnicode_CheckExact(e)) return true;  // not ours to judge: keep the refusal
        Py_ssize_t n = 0;
        const char* dir = PyUnicode_AsUTF8AndSize(e, &n);
        if (!dir) {
            PyErr_Clear();
            return true;
        }
        const std::string base = (n == 0 ? std::string(".") : std::string(dir, std::size_t(n))) + "/" + top;
        struct stat st {};
        if (::stat(base.substr(0, base.size() - top.size() - 1).c_str(), &st) == 0 && S_ISREG(st.st_mode))
            return true;  // a zip file on sys.path
        for (const char* suffix : kSuffixes)
            if (::stat((base + suffix).c_str(), &st) == 0) return true;
    }
    return false;
}

std::string import_refusal_if_found(std::string_view fullname, PyObject* search_path) {
    std::string why = import_refusal(fullname);
    if (why.empty() || g_cfg->import_deny.count(top_level(fullname))) return why;
    return on_search_path(top_level(fullname), search_path ? search_path : PySys_GetObject("path")) ? why : "";
}

namespace {

// Returns 0 to allow, -1 with an exception set to refuse.
// The arguments of an audit event: arg(i) is the i-th, or None past the end.
struct EventArgs {
    PyObject* args;
    Py_ssize_t n;
    PyObject* operator()(Py_ssize_t i) const { return i < n ? PyTuple_GET_ITEM(args, i) : Py_None; }
};
constexpr int kNotMine = 1;  // a decide_* for another family of events: neither 0 (allowed) nor -1

// The refusals the path families share: a path argument outside the writable (readable) paths, and an
// operation blocked_operations names.
int refuse_unwritable(const Config& c, PyObject* arg) {
    std::string path;
    if (!text_of(arg, path) || may_write(c, absolute(path))) return 0;
    return refuse_permission(EACCES, "hive-py: writing outside security.filesystem.allowed_paths", absolute(path));
}

int refuse_unreadable(const Config& c, PyObject* arg) {
    std::string path;
    if (!text_of(arg, path) || may_read(c, absolute(path))) return 0;
    return refuse_permission(EACCES, "hive-py: reading outside the paths security.filesystem allows", absolute(path));
}

int refuse_blocked(bool blocked, const char* op, PyObject* arg) {
    if (!blocked) return 0;
    std::string path;
    text_of(arg, path);
    return refuse_permission(EPERM, std::string("hive-py: '") + op + "' is in security.filesystem.blocked_operations", path);
}

// A path argument relative to a `dir_fd` argument (os.remove(name, dir_fd=fd), as shutil.rmtree calls
// it): made absolute against that directory's path, read from /proc/self/fd (a readlink, which no layer
// refuses). "" when it cannot be known.
std::string fd_path(PyObject* fd_obj) {
    const long fd = PyLong_CheckExact(fd_obj) ? PyLong_AsLong(fd_obj) : -1;
    if (fd < 0) {
        PyErr_Clear();
        return "";
    }
    char link[64], dir[4096];
    std::snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
    const ssize_t n = ::readlink(link, dir, sizeof dir - 1);
    if (n <= 0 || dir[0] != '/') return "";
    return std::string(dir, std::size_t(n));
}

std::string absolute_at(const std::string& path, PyObject* dir_fd) {
    // CPython's events give -1 for no dir_fd (os.remove("f") is ("f", -1)): the cwd's.
    if (path.empty() || path[0] == '/' || !PyLong_CheckExact(dir_fd)) return absolute(path);
    const long fd = PyLong_AsLong(dir_fd);
    if (fd < 0) {
        PyErr_Clear();
        return absolute(path);
    }
    const std::string dir = fd_path(dir_fd);
    return dir.empty() ? "" : absolute(dir + "/" + path);
}

// Inside the run's private /tmp or /dev/shm, where the run may remove and truncate what it made.
bool in_scratch(const Config& c, const std::string& abs_path) {
    return in_private(c, abs_path) && under(abs_path, c.scratch_deletable);
}

int decide_open(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "open")) return kNotMine;
    std::string path;
    if (!text_of(arg(0), path)) return 0;  // an fd, or a path object we cannot read without code
    // NB: os.open's event carries no dir_fd (CPython 3.11 raises ("open", path, None, flags) for
    // os.open(name, flags, dir_fd=fd), as shutil.rmtree calls it). A relative name that is nothing in the
    // working directory may be such a call: the hook cannot tell, so it leaves that open to the kernel
    // (Landlock judges the real path), rather than refuse it for a place it did not name.
    const bool relative = !path.empty() && path[0] != '/';
    path = absolute(path);
    struct stat st {};
    if (relative && PyLong_CheckExact(arg(2)) && !(PyLong_AsLong(arg(2)) & O_CREAT) &&
        ::lstat(path.c_str(), &st) != 0 && errno == ENOENT)
        return 0;
    bool write = false;
    PyObject* mode = arg(1);
    if (PyUnicode_CheckExact(mode)) {
        const char* m = PyUnicode_AsUTF8(mode);
        write = m && std::strpbrk(m, "wax+");
    }
    PyObject* flags = arg(2);
    if (PyLong_CheckExact(flags)) {
        long f = PyLong_AsLong(flags);
        write = write || (f & (O_WRONLY | O_RDWR | O_APPEND | O_CREAT | O_TRUNC));
    }
    // By name: a denied module's files read as data. The files the import system loads as code are
    // judged again by what was opened (open_code() below), whatever name led to them.
    if (under(path, c.denied_files))
        return refuse_import(path, "hive-py: this module is refused by security.imports.deny (" + path + ")");
    if (write && !may_write(c, path))
        return refuse_permission(EACCES, "hive-py: writing outside security.filesystem.allowed_paths", path);
    if (!write && !may_read(c, path))
        return refuse_permission(EACCES, "hive-py: reading outside the paths security.filesystem allows", path);
    if (write && c.blocked.truncate && PyLong_CheckExact(flags) && (PyLong_AsLong(flags) & O_TRUNC) &&
        !in_scratch(c, path) && access(path.c_str(), F_OK) == 0)
        return refuse_permission(EPERM, "hive-py: 'truncate' is in security.filesystem.blocked_operations", path);
    return 0;
}

// Operations that remove a name: refused as a whole when 'delete' is blocked, but in the private /tmp.
int decide_remove(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "os.remove" || ev == "os.rmdir" || ev == "os.rename" || ev == "shutil.rmtree" || ev == "shutil.move")) return kNotMine;
    std::string path, dst;
    text_of(arg(0), path);
    const bool two = ev == "os.rename" || ev == "shutil.move";
    const bool has_dst = two && text_of(arg(1), dst);
    // (path, dir_fd) for os.remove, os.rmdir, shutil.rmtree; (src, dst, src_dir_fd, dst_dir_fd) for os.rename.
    const std::string abs = ev == "shutil.move" ? absolute(path) : absolute_at(path, arg(two ? 2 : 1));
    const std::string abs_dst = !has_dst ? "" : ev == "os.rename" ? absolute_at(dst, arg(3)) : absolute(dst);
    if (c.blocked.del && !(in_scratch(c, abs) && (!two || in_scratch(c, abs_dst))))
        return refuse_permission(EPERM, "hive-py: 'delete' is in security.filesystem.blocked_operations", path);
    if (!path.empty() && !may_write(c, abs))
        return refuse_permission(EACCES, "hive-py: changing files outside security.filesystem.allowed_paths", abs);
    if (has_dst && !may_write(c, abs_dst))
        return refuse_permission(EACCES, "hive-py: writing outside security.filesystem.allowed_paths", abs_dst);
    return 0;
}

// Operations that create or change a name at their last path argument.
int decide_name_change(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "os.mkdir" || ev == "os.utime" || ev == "os.setxattr" || ev == "os.removexattr")) return kNotMine;
    return refuse_unwritable(c, arg(0));
}

int decide_link_copy(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "os.symlink" || ev == "os.link" || ev == "shutil.copyfile" || ev == "shutil.copytree")) return kNotMine;
    if (refuse_unwritable(c, arg(1)) < 0) return -1;
    return ev == "os.symlink" ? 0 : refuse_unreadable(c, arg(0));
}

int decide_listing(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "os.listdir" || ev == "os.scandir" || ev == "os.getxattr" || ev == "os.listxattr")) return kNotMine;
    return refuse_unreadable(c, arg(0));
}

int decide_chmod(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "os.chmod" || ev == "os.lchmod")) return kNotMine;
    return refuse_blocked(c.blocked.chmod, "chmod", arg(0));
}

int decide_chown(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "os.chown" || ev == "shutil.chown" || ev == "os.lchown")) return kNotMine;
    return refuse_blocked(c.blocked.chown, "chown", arg(0));
}

int decide_truncate(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "os.truncate")) return kNotMine;
    // (path or fd, length): os.truncate and os.ftruncate.
    std::string path;
    if (text_of(arg(0), path) ? in_scratch(c, absolute(path)) : in_scratch(c, fd_path(arg(0)))) return 0;
    return refuse_blocked(c.blocked.truncate, "truncate", arg(0));
}

// AF_UNIX (1) and SOCK_STREAM (1, flags such as SOCK_CLOEXEC masked off), as exact ints.
bool is_unix_stream(PyObject* family, PyObject* type) {
    if (!family || !type || !PyLong_CheckExact(family) || !PyLong_CheckExact(type)) return false;
    const long f = PyLong_AsLong(family), t = PyLong_AsLong(type);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return false;
    }
    return f == 1 && (t & 0xf) == 1;
}

int decide_network(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "socket.__new__" || ev == "socket.connect" || ev == "socket.bind" || ev == "socket.sendto" || ev == "socket.sendmsg" || ev == "socket.getaddrinfo" || ev == "socket.gethostbyname" || ev == "socket.gethostbyname_ex" || ev == "socket.gethostbyaddr" || ev == "socket.getnameinfo" || ev == "urllib.Request")) return kNotMine;
    if (ev == "socket.__new__" && is_unix_stream(arg(1), arg(2))) {
        // (sock, family, type, proto) as socket.socketpair() wraps its pair: a pair inside the run
        // (asyncio, multiprocessing). A new AF_UNIX socket is refused by seccomp (EPERM) all the same:
        // the event does not say whether a descriptor was given.
        return 0;
    }
    if (ev == "socket.sendmsg") {
        // (sock, address): an address is a destination outside the run; None is a connected socket's peer.
        if (arg(1) == Py_None) return 0;
        return refuse_permission(EPERM, c.network ? "hive-py: the sandbox may only connect out to security.network.allowed_domains"
                                                  : "hive-py: network access is off (security.network.allowed_domains is empty)", "");
    }
    if (!c.network)
        return refuse_permission(EPERM, "hive-py: network access is off (security.network.allowed_domains is empty)", "");
    if (ev == "socket.__new__") {
        // (sock, family, type, proto): TCP over IPv4/IPv6 only.
        PyObject* type = arg(2);
        long t = PyLong_CheckExact(type) ? PyLong_AsLong(type) & 0xf : 1;
        if (t != 1)
            return refuse_permission(EPERM, "hive-py: only TCP connections to security.network.allowed_domains are allowed (no UDP or raw sockets)", "");
        return 0;
    }
    if (ev == "socket.bind" || ev == "socket.sendto")
        return refuse_permission(EPERM, "hive-py: the sandbox may only connect out to security.network.allowed_domains", "");
    // (host, port, ...) for getaddrinfo; (sock, (host, port)) for connect.
    PyObject* addr = ev == "socket.connect" ? arg(1) : nullptr;
    PyObject* host = ev == "socket.connect" ? (PyTuple_CheckExact(addr) && PyTuple_GET_SIZE(addr) >= 2 ? PyTuple_GET_ITEM(addr, 0) : nullptr) : arg(0);
    PyObject* port = ev == "socket.connect" ? (host ? PyTuple_GET_ITEM(addr, 1) : nullptr)
                                            : (ev == "socket.getaddrinfo" ? arg(1) : nullptr);
    std::string h;
    if (ev == "urllib.Request") return 0;  // its host is checked when it resolves and connects
    if (host && text_of(host, h) && !c.allowed_hosts.count(h))
        return refuse_permission(EPERM, "hive-py: '" + h + "' is not in security.network.allowed_domains", "");
    if (port && PyLong_CheckExact(port)) {
        long pn = PyLong_AsLong(port);
        for (int b : c.blocked_ports)
            if (b == pn)
                return refuse_permission(EPERM, "hive-py: port " + std::to_string(pn) + " is in security.network.blocked_ports", "");
    }
    return 0;
}

int decide_subprocess(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "subprocess.Popen" || ev == "os.system" || ev == "os.exec" || ev == "os.posix_spawn" || ev == "os.spawn" || ev == "os.forkpty" || ev == "pty.spawn")) return kNotMine;
    std::string path;
    if (!c.allow_subprocess)
        return refuse_permission(EPERM, "hive-py: starting programs is off (security.execution.allow_subprocess is false)", "");
    // The program: subprocess.Popen(executable, args, ...) names it first, or as args[0];
    // os.exec/os.posix_spawn/os.spawn name it first; os.system and pty.spawn go through a shell or argv.
    std::string prog;
    PyObject* first = arg(0);
    if (!text_of(first, prog)) {
        PyObject* argv = ev == "pty.spawn" ? first : arg(1);
        if ((PyList_CheckExact(argv) || PyTuple_CheckExact(argv)) && PySequence_Fast_GET_SIZE(argv) > 0)
            text_of(PySequence_Fast_GET_ITEM(argv, 0), prog);
        else
            text_of(argv, prog);
    }
    if (ev == "os.system") prog = "/bin/sh";
    if (!prog.empty() && prog.find('/') != std::string::npos && !under(absolute(prog), c.exec_paths))
        return refuse_permission(EACCES, "hive-py: this program is not in security.filesystem.exec_paths", absolute(prog));
    return 0;
}

int decide_import(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "import")) return kNotMine;
    std::string path;
    // (module, filename, sys.path, sys.meta_path, sys.path_hooks). The import system raises it with
    // filename None before it searches; _PyImport_LoadDynamicModuleWithSpec (Python/importdl.c)
    // raises it with spec.name and spec.origin just before it dlopens the file, for every route to
    // an extension module: the import system, ExtensionFileLoader, _imp.create_dynamic and
    // imp.load_dynamic alike. Any filename is a dlopen to come, whatever its suffix.
    std::string name, file;
    const bool load = arg(1) != Py_None;
    if (!str_of(arg(0), name)) {
        if (!load) return 0;  // the import system's own names are exact str: not this event
        return refuse_import("?", "hive-py: an extension module whose name is not a str is refused (security.imports)");
    }
    std::string why = import_refusal(name);
    // A name outside the whitelist that nothing on sys.path provides is no import of anything: let the
    // import system say ModuleNotFoundError as python3 does (the stdlib probes such names and catches
    // the error: copy and pickle try `org.python.core`), instead of recording a denial. Not a way
    // around the list: a module found later (a file the script writes meanwhile) is pure Python,
    // no stronger than the script's own code; extension modules are judged again at their dlopen
    // (below), and module code by the real path of the file it is read from (open_code).
    if (!why.empty() && !load && !c.import_deny.count(top_level(name)) &&
        !on_search_path(top_level(name), arg(2) == Py_None ? PySys_GetObject("path") : arg(2)))
        return 0;
    if (why.empty() && load) {
        why = str_of(arg(1), file)
                  ? extension_refusal(name, file)
                  : "hive-py: extension module '" + name + "' from a file named by a " + Py_TYPE(arg(1))->tp_name +
                        " is refused (security.imports)";
    }
    if (!why.empty()) return refuse_import(name, why);
    return 0;
}

// SQLite extensions are shared libraries SQLite dlopens and calls into: any library the sandbox can
// read will do (a system one, not only a file the script wrote, so noexec mounts do not stop it).
// Debian's python3.11 has Connection.enable_load_extension/load_extension; these are their audit
// events (3.10+). The SQL function load_extension() works only once loading is enabled. Turning
// loading off is always allowed.
int decide_sqlite(const Config& c, std::string_view ev, const EventArgs& arg) {
    if (!(ev == "sqlite3.enable_load_extension" || ev == "sqlite3.load_extension")) return kNotMine;
    if (c.native_code) return 0;
    if (ev == "sqlite3.enable_load_extension" && (arg(1) == Py_False || arg(1) == Py_None)) return 0;
    return refuse_permission(EPERM, "hive-py: SQLite extensions are native code, refused unless "
                                    "security.imports.allow names ctypes", "");
}

// _ctypes's own operations (dlopen, dlsym, calls, raw memory): a second wall should _ctypes be in
// the process under some other name or route, under a policy that allows no native code.
int decide_ctypes(const Config& c, std::string_view ev, const EventArgs&) {
    if (!(!c.native_code && ev.substr(0, 7) == "ctypes.")) return kNotMine;
    return refuse_permission(EPERM, "hive-py: ctypes is refused by security.imports.deny (" + std::string(ev) + ")", "");
}

// The policy's answer to one event: 0, or -1 with the exception set. One function per family of events.
int decide(std::string_view ev, PyObject* args) {
    const Config& c = *g_cfg;
    const EventArgs arg{args, PyTuple_GET_SIZE(args)};
    for (auto* family : {&decide_open, &decide_remove, &decide_name_change, &decide_link_copy, &decide_listing,
                         &decide_chmod, &decide_chown, &decide_truncate, &decide_network, &decide_subprocess,
                         &decide_import, &decide_sqlite, &decide_ctypes}) {
        const int r = family(c, ev, arg);
        if (r != kNotMine) return r;
    }
    return 0;
}

void record(std::string_view name, Kind kind, Decision d, PyObject* args) {
    if (!g_cfg->ring) return;
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    channel::EventWriter w(std::uint32_t(g_pid), ++g_seq,
                           std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec), d, kind, name);
    if (args && PyTuple_Check(args)) {
        std::string s;
        Py_ssize_t n = PyTuple_GET_SIZE(args);
        for (Py_ssize_t i = 0; i < n && i < Py_ssize_t(channel::kMaxArgs); ++i) {
            s.clear();
            render(PyTuple_GET_ITEM(args, i), s, 0);
            w.arg(s);
        }
    }
    channel::write_record(g_cfg->ring, w.data(), w.size());
}

int hook(const char* event, PyObject* args, void*) {
    if (t_in_hook) return 0;  // never re-enter (an allocation or import inside the hook may raise events)
    std::string_view ev(event);
    if (!g_started) {
        if (ev.substr(0, 11) != "cpython.run") {
            ++g_startup_events;
            return 0;
        }
        g_started = true;
        t_in_hook = true;
        // One summary record for the start-up events, counted but not logged one by one.
        PyObject* a = Py_BuildValue("(K)", static_cast<unsigned long long>(g_startup_events));
        record("hive.startup", Kind::summary, Decision::counted, a);
        Py_XDECREF(a);
        t_in_hook = false;
    }
    Class cl = classify(ev);
    if (!cl.log) return 0;
    if (ev == "os.chdir" || ev == "os.fchdir") g_cwd_stale = true;
    t_in_hook = true;
    // Decide first, then record the decision: the record is in shared memory before we return, so
    // before the operation proceeds (or the exception is raised).
    int rc = decide(ev, args);
    if (rc != 0) {
        // Keep the exception across record(): nothing in it may clobber or consume it.
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        record(ev, cl.kind, Decision::denied_by_hook, args);
        PyErr_Restore(type, value, tb);
    } else {
        record(ev, cl.kind, Decision::allowed, args);
    }
    t_in_hook = false;
    return rc;
}

// The real path of what `fd` is open on: the kernel's name for it (/proc/self/fd/N: readlink is not a
// Landlock access right, and the sandbox mounts its own /proc), else realpath(name) confirmed by
// device and inode against the fd. "" when neither says.
std::string real_path_of(int fd, const std::string& name) {
    char link[64], buf[PATH_MAX];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, buf, sizeof buf - 1);
    if (n > 0 && buf[0] == '/') return std::string(buf, std::size_t(n));
    struct stat a {}, b {};
    if (realpath(name.c_str(), buf) && fstat(fd, &a) == 0 && stat(buf, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        return buf;
    return "";
}

// io.open_code(): how the import system opens every module's source and bytecode (and runpy, zipimport
// their files). Replaces _io.open(path, 'rb'): the same `open` audit event first (the hook's checks and
// the record, by the name asked for), then the file opened once, and the file *opened* judged by its
// real path, so a symlink or '..' in a writable path does not lead the import system into a denied
// module. The same fd is what is read. Set before the interpreter starts: the script cannot replace it
// (PyFile_SetOpenCodeHook refuses a second hook).
PyObject* open_code(PyObject* path, void*) {
    std::string name;
    if (!str_of(path, name) || name.find('\0') != std::string::npos) {
        PyErr_SetString(PyExc_ValueError, "open_code: a path without NUL characters is required");
        return nullptr;
    }
    // As FileIO raises it inside _io.open(path, "rb"): mode "r", flags O_RDONLY|O_CLOEXEC.
    if (PySys_Audit("open", "Osi", path, "r", O_RDONLY | O_CLOEXEC) < 0) return nullptr;
    const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    if (g_cfg && !g_cfg->denied_files.empty()) {
        const std::string real = real_path_of(fd, name);
        if (real.empty() || under(real, g_cfg->denied_files)) {
            close(fd);
            const std::string shown = real.empty() ? name : real;
            refuse_import(shown, "hive-py: this module is refused by security.imports.deny (" + shown +
                                     (real.empty() ? ": its real path cannot be told" : "") + ")");
            return nullptr;
        }
    }
    // _io.open(fd, 'rb'): its own `open` event (of the fd) is the one above, not a second record. The
    // file's name is the path, as _io.open(path, 'rb') would have it.
    PyObject* io = PyImport_ImportModule("_io");
    const bool was_in_hook = t_in_hook;
    t_in_hook = true;
    PyObject* f = io ? PyObject_CallMethod(io, "open", "is", fd, "rb") : nullptr;
    t_in_hook = was_in_hook;
    Py_XDECREF(io);
    if (!f) {
        close(fd);
        return nullptr;
    }
    PyObject* raw = PyObject_GetAttrString(f, "raw");
    if (!raw || PyObject_SetAttrString(raw, "name", path) < 0) PyErr_Clear();
    Py_XDECREF(raw);
    return f;
}

}  // namespace

void scratch_unavailable(Config& cfg) { cfg.scratch_mounted = false; }

bool install(Config* cfg) {
    g_cfg = cfg;
    g_pid = getpid();
    pthread_atfork(nullptr, nullptr, after_fork_child);
    return PySys_AddAuditHook(hook, nullptr) == 0 && PyFile_SetOpenCodeHook(open_code, nullptr) == 0;
}

void learn_types() {
    // posix is built in and imported by the interpreter's own start-up: no script code has run yet.
    PyObject* posix = PyImport_ImportModule("posix");
    if (!posix) {
        PyErr_Clear();
        return;
    }
    PyObject* t = PyObject_GetAttrString(posix, "DirEntry");
    Py_DECREF(posix);
    if (t && PyType_Check(t)) g_direntry_type = reinterpret_cast<PyTypeObject*>(t);  // kept for the run
    else Py_XDECREF(t);
    PyErr_Clear();
}

void learn_stdlib_names() {
    PyObject* names = PySys_GetObject("stdlib_module_names");  // borrowed
    if (names && PyFrozenSet_CheckExact(names)) {
        Py_INCREF(names);  // kept for the run
        g_stdlib_names = names;
    }
}

namespace {

// A frozenset of str looked up with a str: C code only, nothing of the script's can run. A failure
// (no memory) answers "not in the stdlib": the import is refused, never let through.
bool in_stdlib(const std::string& top) {
    PyObject* key = PyUnicode_FromStringAndSize(top.data(), Py_ssize_t(top.size()));
    if (!key) {
        PyErr_Clear();
        return false;
    }
    const int r = PySet_Contains(g_stdlib_names, key);
    Py_DECREF(key);
    if (r < 0) PyErr_Clear();
    return r == 1;
}

}  // namespace

std::string import_refusal(std::string_view fullname) {
    std::string top = top_level(fullname);
    if (g_cfg->import_deny.count(top))
        return "hive-py: import of '" + std::string(fullname) + "' is refused by security.imports.deny";
    // Until learn_stdlib_names() (the interpreter's own start-up imports) everything is allowed.
    if (!g_stdlib_names || g_cfg->import_allow.count(top) || in_stdlib(top)) return {};
    // sysconfig's build-time data (`_sysconfigdata__x86_64-linux-gnu` on Debian): part of the stdlib but
    // not in sys.stdlib_module_names, and not a name imports.allow could hold (the '-'). Plain Python
    // found on sys.path like any module: the extension and open_code checks still judge its file.
    if (top.rfind("_sysconfigdata_", 0) == 0) return {};
    return "hive-py: import of '" + std::string(fullname) +
           "' is refused: not in the stdlib, the script's directory or security.imports.allow";
}

namespace {

// importlib.machinery.EXTENSION_SUFFIXES of Debian's python3.11, the longest first.
constexpr std::string_view kExtensionSuffixes[] = {".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so"};

}  // namespace

namespace {

// An extension module of a site directory (security.imports.site): exactly SITE/a/b/c<suffix> for the
// module a.b.c, so that the file is the one its own name leads the finder to, with no '.', '..' or
// empty component (the directories are read-only to the script: nothing can change between this
// check and dlopen); a regular file, not a link; and a top-level name the policy allows.
std::string site_extension_refusal(std::string_view fullname, const std::string& file, const std::string& site) {
    const std::string name(fullname);
    const std::string rel = file.substr(site.size() + 1);
    std::string stem;
    for (std::string_view suffix : kExtensionSuffixes)
        if (rel.size() > suffix.size() && rel.compare(rel.size() - suffix.size(), suffix.size(), suffix) == 0) {
            stem = rel.substr(0, rel.size() - suffix.size());
            break;
        }
    std::string dotted = stem;
    for (char& ch : dotted)
        if (ch == '/') ch = '.';
    if (stem.empty() || dotted != name || stem.find("..") != std::string::npos || stem.front() == '/' ||
        stem.find("//") != std::string::npos || stem.find("/.") != std::string::npos)
        return "hive-py: extension module file " + file + " loads only under the name its path gives it, not as '" +
               name + "' (security.imports.site)";
    if (std::string why = import_refusal(name); !why.empty()) return why;
    const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st {};
    const bool regular = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (fd >= 0) close(fd);
    if (!regular) return "hive-py: extension module file " + file + " is not a regular file (security.imports.site)";
    return {};
}

}  // namespace

std::string extension_refusal(std::string_view fullname, const std::string& file) {
    const std::string name(fullname);
    const std::string& dir = g_cfg->dynload_dir;
    const std::string outside =
        "hive-py: extension module '" + name + "' from " + file + " is outside the stdlib (security.imports)";
    if (name.find('\0') != std::string::npos || file.find('\0') != std::string::npos) return outside;
    // The file must be named exactly as the stdlib's finder names it: lib-dynload's real path, '/', a
    // file name. dlopen opens the name again after this hook returns, so only a name in which no
    // component can change meanwhile says what will load: every directory of lib-dynload's real path is
    // read-only to the script. Any other spelling ('..', '.', '//', a relative name, a symlink in a
    // writable path) is refused: the kernel resolves '..' after the symlink before it, and a script
    // thread can swap a symlink between check and load. (Checking an fd of ours, by its /proc/self/fd
    // link, would name the file at this instant only: dlopen does not load our fd.)
    if (file.size() <= dir.size() + 1 || file.compare(0, dir.size(), dir) != 0 || file[dir.size()] != '/') {
        for (const std::string& site : g_cfg->site_dirs)
            if (file.size() > site.size() + 1 && file.compare(0, site.size(), site) == 0 && file[site.size()] == '/')
                return site_extension_refusal(fullname, file, site);
        return outside;
    }
    const std::string base = file.substr(dir.size() + 1);
    if (base.find('/') != std::string::npos) return outside;
    std::string_view module;
    for (std::string_view suffix : kExtensionSuffixes) {
        if (base.size() > suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
            module = std::string_view(base).substr(0, base.size() - suffix.size());
            break;
        }
    }
    if (module.empty() || module.find('.') != std::string_view::npos)
        return "hive-py: " + file + " is not named as an extension module of the stdlib (security.imports)";
    // Under its own name only: lib-dynload's modules are top-level, and a file loaded under another name
    // (json._ctypes) would still be that file's code, which runs when dlopen loads it.
    if (module != fullname)
        return "hive-py: extension module " + base + " loads only as '" + std::string(module) + "', not as '" +
               name + "' (security.imports)";
    if (std::string why = import_refusal(module); !why.empty()) return why;
    // The entry itself, by fd: a regular file of lib-dynload, not a symlink that leads elsewhere.
    const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    const int open_errno = errno;
    struct stat st {};
    const bool regular = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (fd >= 0) close(fd);
    if (!regular)
        return "hive-py: extension module file " + file + " is not a regular file of the stdlib's lib-dynload (" +
               (fd < 0 ? "open: " + std::string(std::strerror(open_errno)) : std::string("not a regular file")) +
               ") (security.imports)";
    return {};
}

std::uint64_t startup_events() { return g_startup_events; }

}  // namespace hive::hook
