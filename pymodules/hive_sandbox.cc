// hive_sandbox: BIP-025's SecureScriptExecutor for Debian's python3, backed by the hive-py host.
//
//     import hive_sandbox
//     ex = hive_sandbox.SecureScriptExecutor({'timeout_seconds': 30, 'memory_mb': 256,
//                                             'quarantine_dir': '/srv/gov/quarantine'})
//     r = ex.execute_script('/srv/gov/tally.py', ['--round', '3'])
//     r['success'], r['stdout'], r['stderr'], r['return_code'], r['execution_time'], r.get('error')
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

namespace py = pybind11;
namespace fs = std::filesystem;

extern char** environ;

namespace {

// The spec's config keys (BIP-025 SecureScriptExecutor) and the policy key each one sets.
const std::vector<std::pair<std::string, std::string>> kExecutionKeys = {
    {"timeout_seconds", "timeout_seconds"}, {"cpu_seconds", "cpu_seconds"},
    {"memory_mb", "memory_mb"},             {"file_size_mb", "file_size_mb"},
    {"max_processes", "max_processes"},
};
const char* kKnownKeys =
    "timeout_seconds, cpu_seconds, memory_mb, file_size_mb, max_processes, quarantine_dir, "
    "allowed_paths, read_only_paths, policy, log_dir, hive_py";

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

// A YAML double-quoted scalar.
std::string yq(const std::string& s) {
    std::string r = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') r += '\\';
        if (c == '\n') { r += "\\n"; continue; }
        r += c;
    }
    return r + "\"";
}

std::vector<std::string> path_list(const py::handle& v, const char* key) {
    std::vector<std::string> out;
    if (py::isinstance<py::str>(v)) {
        out.push_back(fs::absolute(v.cast<std::string>()).lexically_normal().string());
        return out;
    }
    try {
        for (auto item : v) out.push_back(fs::absolute(py::str(item).cast<std::string>()).lexically_normal().string());
    } catch (const py::error_already_set&) {
        throw py::type_error(std::string("hive_sandbox: config['") + key + "'] must be a path or a list of paths");
    }
    return out;
}

struct Config {
    std::string policy_file;                          // config['policy']: used as is
    std::map<std::string, long long> execution;       // spec keys -> security.execution
    std::string quarantine_dir;                       // cwd of the run (+ allowed path without a policy)
    std::vector<std::string> allowed_paths, read_only_paths;
    std::string log_dir, hive_py;
};

Config parse_config(const py::object& obj) {
    Config c;
    if (obj.is_none()) return c;
    if (!py::isinstance<py::dict>(obj))
        throw py::type_error("hive_sandbox: config must be a dict (e.g. {'timeout_seconds': 30} or {'policy': 'policy.yml'})");
    py::dict d = obj.cast<py::dict>();
    for (auto [k, v] : d) {
        std::string key = py::str(k).cast<std::string>();
        bool known = false;
        for (auto& [spec, pol] : kExecutionKeys) {
            if (key != spec) continue;
            known = true;
            if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v))
                throw py::type_error("hive_sandbox: config['" + key + "'] must be an int (seconds / MB / count), got " +
                                     py::repr(v).cast<std::string>());
            c.execution[pol] = v.cast<long long>();
        }
        if (known) continue;
        auto str = [&]() {
            if (!py::isinstance<py::str>(v) && !py::hasattr(v, "__fspath__"))
                throw py::type_error("hive_sandbox: config['" + key + "'] must be a path string");
            return py::str(v).cast<std::string>();
        };
        if (key == "policy") c.policy_file = fs::absolute(str()).string();
        else if (key == "quarantine_dir") c.quarantine_dir = fs::absolute(str()).lexically_normal().string();
        else if (key == "log_dir") c.log_dir = fs::absolute(str()).string();
        else if (key == "hive_py") c.hive_py = str();
        else if (key == "allowed_paths") c.allowed_paths = path_list(v, "allowed_paths");
        else if (key == "read_only_paths") c.read_only_paths = path_list(v, "read_only_paths");
        else
            throw py::value_error("hive_sandbox: unknown config key '" + key + "' (known: " + kKnownKeys + ")");
    }
    if (!c.policy_file.empty() && (!c.execution.empty() || !c.allowed_paths.empty() || !c.read_only_paths.empty()))
        throw py::value_error(
            "hive_sandbox: config['policy'] cannot be combined with limit or path keys: put them in the policy file "
            "(security.execution / security.filesystem)");
    return c;
}

// The policy a config without 'policy' stands for: BIP-025's default with the config's values.
std::string policy_yaml(const Config& c) {
    std::map<std::string, long long> ex = {{"timeout_seconds", 300}, {"cpu_seconds", 60}, {"memory_mb", 512},
                                           {"file_size_mb", 100}, {"max_processes", 5}};
    for (auto& [k, v] : c.execution) ex[k] = v;
    std::ostringstream y;
    y << "# written by hive_sandbox for one run\nsecurity:\n  execution:\n";
    for (auto& [k, v] : ex) y << "    " << k << ": " << v << "\n";
    std::vector<std::string> allowed = c.allowed_paths;
    if (!c.quarantine_dir.empty()) allowed.insert(allowed.begin(), c.quarantine_dir);
    else if (allowed.empty()) allowed = {"/tmp", "./data", "./logs"};
    y << "  filesystem:\n    allowed_paths:\n";
    for (auto& p : allowed) y << "      - " << yq(p) << "\n";
    if (!c.read_only_paths.empty()) {
        y << "    read_only_paths:\n";
        for (auto& p : c.read_only_paths) y << "      - " << yq(p) << "\n";
    }
    y << "    blocked_operations: [\"delete\", \"chmod\", \"chown\"]\n"
         "  network:\n    allowed_domains: []\n    blocked_ports: [22, 23, 3389]\n";
    return y.str();
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

    py::dict execute_script(const std::string& script_path, py::object args) const {
        std::vector<std::string> script_args;
        if (!args.is_none()) {
            if (py::isinstance<py::str>(args))
                throw py::type_error("hive_sandbox: args must be a list of strings, not a string");
            for (auto a : args) script_args.push_back(py::str(a).cast<std::string>());
        }
        std::string tried;
        auto bin = find_hive_py(cfg_.hive_py, &tried);
        if (!bin)
            throw py::value_error("hive_sandbox: hive-py not found (tried " + tried +
                                  "): install it, or pass config['hive_py'] or set $HIVE_PY to its path");

        std::optional<PolicyDir> generated;
        std::string policy = cfg_.policy_file;
        if (policy.empty()) {
            generated.emplace(policy_yaml(cfg_));
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
    std::string policy_text() const { return cfg_.policy_file.empty() ? policy_yaml(cfg_) : ""; }

private:
    py::object config_;
    Config cfg_;
};

}  // namespace

PYBIND11_MODULE(hive_sandbox, m) {
    m.doc() =
        "Run Python governance scripts under the hive-py sandbox (BIP-025's SecureScriptExecutor).\n\n"
        "The script runs in its own sandboxed child process (the hive-py binary), never in the caller's;\n"
        "the GIL is released while it runs.";
    m.attr("__version__") = HIVE_VERSION;

    py::class_<SecureScriptExecutor>(m, "SecureScriptExecutor",
        "SecureScriptExecutor(config=None)\n\n"
        "config: a dict with BIP-025's keys -- timeout_seconds, cpu_seconds, memory_mb, file_size_mb,\n"
        "max_processes (ints) and quarantine_dir (the run's working directory and its writable path) --\n"
        "plus allowed_paths / read_only_paths (lists of paths); or {'policy': 'security_policy.yml'}\n"
        "(with optional quarantine_dir as the working directory). Either form may add 'log_dir' (audit\n"
        "logs; default $HIVE_LOG_DIR, else hive-py's) and 'hive_py' (the binary; default $HIVE_PY, then\n"
        "PATH). Without a policy, unspecified keys take BIP-025's defaults.")
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
        [](const std::string& script_path, py::object args, py::kwargs config) {
            py::dict d;
            for (auto [k, v] : config) d[k] = v;
            return SecureScriptExecutor(d).execute_script(script_path, args);
        },
        py::arg("script_path"), py::arg("args") = py::none(),
        "run(script_path, args=None, **config) -> dict: SecureScriptExecutor(config).execute_script(...)");

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
