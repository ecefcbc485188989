// hive_sandbox: BIP-025's SecureScriptExecutor for Debian's python3, backed by the hive-py host.
//
//     import hive_sandbox
//     ex = hive_sandbox.SecureScriptExecutor({'timeout_seconds': 30, 'memory_mb': 256,
//                                             'quarantine_dir': '/srv/gov/quarantine'})
//     r = ex.execute_script('/srv/gov/tally.py', ['--round', '3'])
//     r['success'], r['stdout'], r['stderr'], r['return_code'], r['execution_time'], r.get('error')
//
// The config's policy keys are the policy schema's (host/policy/schema.h), each by its last name
// (timeout_seconds, allowed_paths, log_level, cpu_usage, ...), typed by it, and checked by the same
// parser as a policy file when the executor is made; `hive_sandbox.policy_keys()` lists them.
//
// The script never runs in the caller's process: execute_script fork/execs `hive-py --json`, which
// runs it in its own sandboxed child, and returns hive-py's JSON result as a dict. The GIL is released
// while it waits, so other Python threads keep running (and several scripts can run at once).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "policy/policy.h"
#include "policy/schema.h"

namespace py = pybind11;
namespace schema = hive::schema;
namespace fs = std::filesystem;

extern char** environ;

namespace {

// Config keys of the API itself; every other key is a policy key of the schema, by its last name.
const std::vector<std::pair<const char*, const char*>> kApiKeys = {
    {"policy", "a policy file, used as is (no policy key may be given with it)"},
    {"quarantine_dir", "the run's working directory and, without a policy, its only writable path"},
    {"log_dir", "the audit log directory (default: $HIVE_LOG_DIR, else hive-py's)"},
    {"hive_py", "the hive-py binary (default: $HIVE_PY, then PATH)"},
};

const schema::Key* policy_key(const std::string& name) {
    for (const schema::Key& k : schema::keys())
        if (k.leaf() == name) return &k;
    return nullptr;
}

std::string known_keys() {
    std::string s;
    for (auto& [name, help] : kApiKeys) s += std::string(s.empty() ? "" : ", ") + name;
    for (const schema::Key& k : schema::keys()) s += ", " + std::string(k.leaf());
    return s;
}

std::string shown(const py::handle& v) { return py::repr(v).cast<std::string>(); }

// A str (or, for a path, an os.PathLike) as text. NB: hive-py takes paths and arguments as C strings;
// a NUL would cut one short or, made absolute first, turn '/tmp/x\0/../../etc' into '/etc'.
std::string text(const py::handle& v, const std::string& what, bool path) {
    py::object s = py::reinterpret_borrow<py::object>(v);
    if (path && !py::isinstance<py::str>(s) && py::hasattr(s, "__fspath__")) s = s.attr("__fspath__")();
    if (!py::isinstance<py::str>(s))
        throw py::type_error("hive_sandbox: " + what + " must be a " + (path ? "path" : "string") + ", got " +
                             shown(v));
    std::string t = s.cast<std::string>();
    if (t.find('\0') != std::string::npos)
        throw py::value_error("hive_sandbox: " + what +
                              " contains a NUL character, which no path or argument can hold: " + shown(v));
    return t;
}

// Made absolute against the caller's cwd now, as the caller meant it; "~" is left for the policy's
// parser to refuse (hive-py expands nothing).
std::string absolute(const std::string& p) { return p.empty() || p[0] == '~' ? p : hive::normalize_path(p, ""); }

bool is_int(const py::handle& v) { return py::isinstance<py::int_>(v) && !py::isinstance<py::bool_>(v); }

// A config value for policy key `k`, as its schema type says.
schema::Value policy_value(const schema::Key& k, const py::handle& v, const std::string& what) {
    using schema::Type;
    auto items = [&](bool path) {
        schema::Strings out;
        if (py::isinstance<py::str>(v) || (path && py::hasattr(v, "__fspath__"))) {
            out.push_back(text(v, what, path));
        } else if (py::isinstance<py::iterable>(v)) {
            size_t i = 0;
            for (auto item : v) out.push_back(text(item, what + "[" + std::to_string(i++) + "]", path));
        } else {
            throw py::type_error("hive_sandbox: " + what + " must be a list of " + (path ? "paths" : "strings") +
                                 ", got " + shown(v));
        }
        if (path)
            for (auto& p : out) p = absolute(p);
        return out;
    };
    auto integer = [&](const py::handle& x, const std::string& w) -> std::int64_t {
        if (!is_int(x)) throw py::type_error("hive_sandbox: " + w + " must be an int, got " + shown(x));
        try {
            return x.cast<std::int64_t>();
        } catch (const py::cast_error&) {
            throw py::value_error("hive_sandbox: " + w + " is out of range: " + shown(x));
        }
        return 0;  // not reached
    };
    switch (k.spec.type) {
        case Type::integer: return integer(v, what);
        case Type::boolean:
            if (!py::isinstance<py::bool_>(v))
                throw py::type_error("hive_sandbox: " + what + " must be True or False, got " + shown(v));
            return v.cast<bool>();
        case Type::number:
            if (!is_int(v) && !py::isinstance<py::float_>(v))
                throw py::type_error("hive_sandbox: " + what + " must be a number, got " + shown(v));
            return v.cast<double>();
        case Type::string:
        case Type::choice: return text(v, what, false);
        case Type::path: return absolute(text(v, what, true));
        case Type::paths: return items(true);
        case Type::strings:
        case Type::flags: return items(false);
        case Type::integers: {
            if (!py::isinstance<py::iterable>(v) || py::isinstance<py::str>(v))
                throw py::type_error("hive_sandbox: " + what + " must be a list of ints, got " + shown(v));
            schema::Integers out;
            size_t i = 0;
            for (auto item : v) out.push_back(integer(item, what + "[" + std::to_string(i++) + "]"));
            return out;
        }
    }
    throw py::type_error("hive_sandbox: " + what + ": a key of an unknown type");
}

py::object to_python(const schema::Value& v) {
    return std::visit([](const auto& x) -> py::object { return py::cast(x); }, v);
}

bool executable(const std::string& p) {
    struct stat st{};
    return !p.empty() && stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}

// config['hive_py'], else $HIVE_PY, else `hive-py` on PATH, else the install prefix's, else the build dir's.
std::optional<std::string> find_hive_py(const std::string& configured, std::string* tried) {
    std::vector<std::string> candidates;
    if (!configured.empty()) {
        *tried = "config['hive_py'] = " + configured;
        return executable(configured) ? std::optional<std::string>(fs::absolute(configured).string()) : std::nullopt;
    }
    if (const char* e = std::getenv("HIVE_PY"); e && *e) {
        *tried = std::string("$HIVE_PY = ") + e;
        return executable(e) ? std::optional<std::string>(fs::absolute(e).string()) : std::nullopt;
    }
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::stringstream ss(p);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty()) continue;
        std::string c = dir + "/hive-py";
        if (executable(c)) return c;
    }
    for (const char* c : {HIVE_PY_INSTALL_BIN, HIVE_PY_BUILD_BIN})
        if (executable(c)) return std::string(c);
    *tried = "config['hive_py'], $HIVE_PY, PATH (" + p + "), " HIVE_PY_INSTALL_BIN ", " HIVE_PY_BUILD_BIN;
    return std::nullopt;
}

struct Config {
    std::string policy_file;                 // config['policy']: used as is
    std::string quarantine_dir;              // cwd of the run (+ its only writable path without a policy)
    std::string log_dir, hive_py;
    std::vector<schema::Setting> settings;   // the policy keys given, as the schema types them
    std::string policy_yaml;                 // the policy they make ("" with config['policy'])
};

// The policy a config without 'policy' stands for: the built-in default (BIP-025's values) with the
// config's keys; quarantine_dir, when given, is the first and (with no allowed_paths) only writable path.
std::string policy_yaml(const Config& c) {
    std::vector<schema::Setting> s = schema::builtin_settings();
    const schema::Key* allowed = schema::find("security.filesystem.allowed_paths");
    if (!c.quarantine_dir.empty()) {
        for (auto& x : s)
            if (x.key == allowed) x.value = schema::Strings{};
    }
    for (const auto& given : c.settings) {
        bool replaced = false;
        for (auto& x : s)
            if (x.key == given.key) x.value = given.value, replaced = true;
        if (!replaced) s.push_back(given);
    }
    if (!c.quarantine_dir.empty()) {
        for (auto& x : s) {
            if (x.key != allowed) continue;
            auto& paths = std::get<schema::Strings>(x.value);
            paths.insert(paths.begin(), c.quarantine_dir);
        }
    }
    return "# written by hive_sandbox for one run\n" + schema::yaml_document(s, true);
}

// A policy error (`SRC:L:C: security.x.y[i]: what`) as the config key that caused it.
std::string config_error(const std::string& message) {
    size_t at = message.find(": security.");
    if (at == std::string::npos) return "hive_sandbox: the config makes an invalid policy: " + message;
    size_t end = message.find(": ", at + 2);
    std::string path = message.substr(at + 2, end - at - 2), index;
    if (size_t b = path.find('['); b != std::string::npos) index = path.substr(b), path = path.substr(0, b);
    const schema::Key* k = schema::find(path);
    std::string what = k ? "config['" + std::string(k->leaf()) + "']" + index + " (" + path + index + ")" : path;
    return "hive_sandbox: " + what + ": " + (end == std::string::npos ? "" : message.substr(end + 2));
}

Config parse_config(const py::object& obj) {
    Config c;
    if (!obj.is_none() && !py::isinstance<py::dict>(obj))
        throw py::type_error(
            "hive_sandbox: config must be a dict (e.g. {'timeout_seconds': 30} or {'policy': 'policy.yml'})");
    py::dict d = obj.is_none() ? py::dict() : obj.cast<py::dict>();
    for (auto [k, v] : d) {
        if (!py::isinstance<py::str>(k)) throw py::type_error("hive_sandbox: config keys are strings, got " + shown(k));
        std::string key = k.cast<std::string>();
        const std::string what = "config['" + key + "']";
        if (key == "policy") c.policy_file = hive::normalize_path(text(v, what, true), "");
        else if (key == "quarantine_dir") c.quarantine_dir = hive::normalize_path(text(v, what, true), "");
        else if (key == "log_dir") c.log_dir = hive::normalize_path(text(v, what, true), "");
        else if (key == "hive_py") c.hive_py = text(v, what, true);
        else if (const schema::Key* pk = policy_key(key)) c.settings.push_back({pk, policy_value(*pk, v, what)});
        else throw py::value_error("hive_sandbox: unknown config key '" + key + "' (known: " + known_keys() + ")");
    }
    if (!c.policy_file.empty() && !c.settings.empty())
        throw py::value_error("hive_sandbox: config['policy'] cannot be combined with policy keys (" +
                              std::string(c.settings.front().key->leaf()) + " is " + c.settings.front().key->name +
                              "): put them in the policy file");
    if (c.policy_file.empty()) {
        c.policy_yaml = policy_yaml(c);
        // The same checks as a policy file gets, now rather than at the run.
        auto parsed = hive::parse_policy(c.policy_yaml, "hive_sandbox config", "");
        if (!parsed.ok()) throw py::value_error(config_error(parsed.error().message));
    }
    return c;
}

// A private directory for the generated policy, outside the paths the script may write.
struct PolicyDir {
    std::string dir, file;
    explicit PolicyDir(const std::string& yaml) {
        std::vector<std::string> bases;
        if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) bases.emplace_back(x);
        bases.emplace_back("/var/tmp");
        bases.emplace_back("/tmp");
        for (auto& b : bases) {
            std::string t = b + "/hive-sandbox-XXXXXX";
            std::vector<char> buf(t.begin(), t.end());
            buf.push_back('\0');
            if (mkdtemp(buf.data())) { dir = buf.data(); break; }
        }
        if (dir.empty()) throw std::runtime_error("hive_sandbox: cannot create a temporary directory for the policy");
        file = dir + "/security_policy.yml";
        int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) throw std::runtime_error("hive_sandbox: cannot write " + file + ": " + std::strerror(errno));
        size_t off = 0;
        while (off < yaml.size()) {
            ssize_t w = write(fd, yaml.data() + off, yaml.size() - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { close(fd); throw std::runtime_error("hive_sandbox: cannot write " + file); }
            off += size_t(w);
        }
        close(fd);
    }
    ~PolicyDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

struct Child {
    int status = 0;
    std::string out, err;
    bool interrupted = false;
};

// Run argv in cwd, capture stdout/stderr, with the GIL released. A pending Python signal (Ctrl-C)
// ends hive-py (SIGTERM: it stops the script and records the run) and is re-raised by the caller.
Child spawn_and_wait(const std::vector<std::string>& argv, const std::string& cwd) {
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    int out[2], err[2], exec_err[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(exec_err, O_CLOEXEC))
        throw std::runtime_error(std::string("hive_sandbox: pipe: ") + std::strerror(errno));
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("hive_sandbox: fork: ") + std::strerror(errno));
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec.
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        int e = 0;
        if (!cwd.empty() && chdir(cwd.c_str()) != 0) e = errno;
        else { execve(cargv[0], cargv.data(), environ); e = errno; }
        ssize_t ignored = write(exec_err[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    close(exec_err[1]);
    Child c;
    int exec_errno = 0;
    {
        py::gil_scoped_release nogil;
        bool out_open = true, err_open = true, terminated = false;
        char buf[65536];
        while (out_open || err_open) {
            pollfd fds[2];
            int n = 0;
            if (out_open) fds[n++] = {out[0], POLLIN, 0};
            if (err_open) fds[n++] = {err[0], POLLIN, 0};
            int r = poll(fds, nfds_t(n), 250);
            if (!terminated) {
                py::gil_scoped_acquire gil;
                if (PyErr_CheckSignals() != 0) {
                    // Leave the exception set; stop hive-py and collect what it says.
                    c.interrupted = true;
                    terminated = true;
                    kill(pid, SIGTERM);
                }
            }
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) continue;
            for (int i = 0; i < n; ++i) {
                if (!fds[i].revents) continue;
                ssize_t got = read(fds[i].fd, buf, sizeof buf);
                if (got > 0) (fds[i].fd == out[0] ? c.out : c.err).append(buf, size_t(got));
                else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                    if (fds[i].fd == out[0]) out_open = false; else err_open = false;
                }
            }
        }
        while (waitpid(pid, &c.status, 0) < 0 && errno == EINTR) {}
        if (read(exec_err[0], &exec_errno, sizeof exec_errno) != sizeof exec_errno) exec_errno = 0;
    }
    close(out[0]);
    close(err[0]);
    close(exec_err[0]);
    if (c.interrupted) throw py::error_already_set();
    if (exec_errno)
        throw std::runtime_error("hive_sandbox: cannot run " + argv[0] + (cwd.empty() ? "" : " in " + cwd) + ": " +
                                 std::strerror(exec_errno));
    return c;
}

std::string first_hive_line(const std::string& err) {
    std::istringstream is(err);
    std::string l, last;
    while (std::getline(is, l))
        if (!l.empty()) { if (l.rfind("hive-py:", 0) == 0) return l; last = l; }
    return last;
}

class SecureScriptExecutor {
public:
    explicit SecureScriptExecutor(py::object config) : config_(config), cfg_(parse_config(config)) {
        if (!cfg_.quarantine_dir.empty() && !fs::is_directory(cfg_.quarantine_dir))
            throw py::value_error("hive_sandbox: quarantine_dir '" + cfg_.quarantine_dir +
                                  "' is not a directory: create it first (it is the script's working directory)");
    }

    py::dict execute_script(py::object script_path_arg, py::object args) const {
        const std::string script_path = text(script_path_arg, "script_path", true);
        std::vector<std::string> script_args;
        if (!args.is_none()) {
            if (py::isinstance<py::str>(args))
                throw py::type_error("hive_sandbox: args must be a list of strings, not a string");
            size_t i = 0;
            for (auto a : args) script_args.push_back(text(py::str(a), "args[" + std::to_string(i++) + "]", false));
        }
        std::string tried;
        auto bin = find_hive_py(cfg_.hive_py, &tried);
        if (!bin)
            throw py::value_error("hive_sandbox: hive-py not found (tried " + tried +
                                  "): install it, or pass config['hive_py'] or set $HIVE_PY to its path");

        std::optional<PolicyDir> generated;
        std::string policy = cfg_.policy_file;
        if (policy.empty()) {
            generated.emplace(cfg_.policy_yaml);
            policy = generated->file;
        }
        // The script is named by an absolute path: the run's cwd is quarantine_dir.
        std::string script = fs::absolute(script_path).string();
        std::vector<std::string> argv{*bin, "--json", "--policy", policy};
        if (!cfg_.log_dir.empty()) { argv.push_back("--log-dir"); argv.push_back(cfg_.log_dir); }
        argv.push_back("--");
        argv.push_back(script);
        argv.insert(argv.end(), script_args.begin(), script_args.end());

        Child c = spawn_and_wait(argv, cfg_.quarantine_dir);
        int code = WIFEXITED(c.status) ? WEXITSTATUS(c.status) : 128 + WTERMSIG(c.status);
        py::object parsed = py::none();
        if (!c.out.empty()) {
            try {
                parsed = py::module_::import("json").attr("loads")(py::bytes(c.out));
            } catch (py::error_already_set&) {
                parsed = py::none();
            }
        }
        if (!py::isinstance<py::dict>(parsed)) {
            // Nothing ran: a usage or policy error (exit 2) or a sandbox set-up failure (125). hive-py's
            // own message is one line on stderr.
            std::string why = first_hive_line(c.err);
            if (why.empty()) why = "hive-py ended with exit " + std::to_string(code) + " and no result";
            py::dict r;
            r["success"] = false;
            r["stdout"] = "";
            r["stderr"] = c.err;
            r["return_code"] = code;
            r["execution_time"] = 0.0;
            r["error"] = why;
            r["hive_exit_code"] = code;
            return r;
        }
        py::dict r = parsed.cast<py::dict>();
        r["hive_exit_code"] = code;
        // hive-py's own lines (why a run was killed, alerts) stay out of the script's stderr.
        py::list msgs;
        std::istringstream is(c.err);
        for (std::string l; std::getline(is, l);)
            if (!l.empty()) msgs.append(l);
        r["hive_messages"] = msgs;
        return r;
    }

    py::object config() const { return config_; }
    std::string policy_text() const { return cfg_.policy_yaml; }

private:
    py::object config_;
    Config cfg_;
};

// The API's default of a policy key: the built-in default policy's value (BIP-025's), which a config
// without the key gets.
const schema::Value& api_default(const schema::Key& k) { return k.in_builtin() ? k.builtin_value() : k.def; }

// "  timeout_seconds (integer 1..86400, default 300): wall-clock limit, enforced by the parent", per key.
std::string keys_doc() {
    std::string out;
    for (auto& [name, help] : kApiKeys) out += std::string("  ") + name + ": " + help + "\n";
    for (const schema::Key& k : schema::keys()) {
        std::string bounds;
        if (k.spec.type == schema::Type::integer || k.spec.type == schema::Type::integers)
            bounds = " " + std::to_string(k.spec.lo) + ".." + std::to_string(k.spec.hi);
        for (const auto& c : k.spec.choices) {
            bounds += &c == &k.spec.choices.front() ? " of " : "|";
            bounds += c.name;
        }
        out += "  " + std::string(k.leaf()) + " (" + schema::type_name(k.spec.type) + bounds + ", default " +
               schema::flow_text(k, api_default(k)) + "): " + k.name + "\n";
    }
    return out;
}

}  // namespace

PYBIND11_MODULE(hive_sandbox, m) {
    m.doc() =
        "Run Python governance scripts under the hive-py sandbox (BIP-025's SecureScriptExecutor).\n\n"
        "The script runs in its own sandboxed child process (the hive-py binary), never in the caller's;\n"
        "the GIL is released while it runs.";
    m.attr("__version__") = HIVE_VERSION;

    static const std::string class_doc =
        "SecureScriptExecutor(config=None)\n\n"
        "config: a dict of policy keys -- BIP-025's timeout_seconds, cpu_seconds, memory_mb, file_size_mb,\n"
        "max_processes and every other key of the policy schema, by its last name -- plus quarantine_dir\n"
        "(the run's working directory and its writable path); or {'policy': 'security_policy.yml'} (with\n"
        "optional quarantine_dir as the working directory). Either form may add 'log_dir' and 'hive_py'.\n"
        "Keys not given take the built-in default policy's values (BIP-025's). The policy is checked when\n"
        "the executor is made: a wrong type is a TypeError, a bad value (or a NUL in any string) a ValueError.\n\n"
        "Keys:\n" + keys_doc();
    py::class_<SecureScriptExecutor>(m, "SecureScriptExecutor", class_doc.c_str())
        .def(py::init<py::object>(), py::arg("config") = py::none())
        .def("execute_script", &SecureScriptExecutor::execute_script, py::arg("script_path"),
             py::arg("args") = py::none(),
             "execute_script(script_path, args=None) -> dict\n\n"
             "Run script_path with args under hive-py. Returns {'success', 'stdout', 'stderr',\n"
             "'return_code', 'execution_time', 'run_id', 'policy_source', 'layers', 'log_dir',\n"
             "'resource_usage', 'hive_exit_code', 'hive_messages'} plus 'error' when the run did not end normally\n"
             "('timeout' for the wall-clock limit). If nothing could run (a policy or usage error, exit 2),\n"
             "'error' holds hive-py's one-line reason.")
        .def_property_readonly("config", &SecureScriptExecutor::config)
        .def_property_readonly("policy_text", &SecureScriptExecutor::policy_text,
                               "the policy YAML this config generates ('' with config['policy'])");

    m.def(
        "run",
        [](py::object script_path, py::object args, py::kwargs config) {
            py::dict d;
            for (auto [k, v] : config) d[k] = v;
            return SecureScriptExecutor(d).execute_script(script_path, args);
        },
        py::arg("script_path"), py::arg("args") = py::none(),
        "run(script_path, args=None, **config) -> dict: SecureScriptExecutor(config).execute_script(...)\n\n"
        "The keyword arguments are SecureScriptExecutor's config keys (see policy_keys()).");

    m.def(
        "policy_keys",
        []() {
            py::dict out;
            for (const schema::Key& k : schema::keys()) {
                py::dict d;
                d["key"] = k.name;
                d["type"] = schema::type_name(k.spec.type);
                d["default"] = to_python(api_default(k));
                if (k.spec.type == schema::Type::integer || k.spec.type == schema::Type::integers) {
                    d["lo"] = k.spec.lo;
                    d["hi"] = k.spec.hi;
                }
                if (!k.spec.choices.empty()) {
                    py::list c;
                    for (const auto& x : k.spec.choices) c.append(x.name);
                    d["choices"] = c;
                }
                d["help"] = k.help;
                out[py::str(std::string(k.leaf()))] = d;
            }
            return out;
        },
        "policy_keys() -> {name: {'key': dotted policy key, 'type', 'default', ['lo', 'hi'], ['choices'], 'help'}}:\n"
        "the policy keys a config (or run()'s keyword arguments) may set, from the policy schema's table.");

    m.def(
        "find_hive_py",
        []() -> py::object {
            std::string tried;
            auto b = find_hive_py("", &tried);
            if (!b) return py::none();
            return py::str(*b);
        },
        "the hive-py binary execute_script would use without config['hive_py'], or None");
}
