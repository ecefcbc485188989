#include "run.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hivetest {

namespace {
void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
}  // namespace

Outcome run(const std::vector<std::string>& argv, const RunOptions& opts) {
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
        throw std::runtime_error("pipe2 failed");
    auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        setpgid(0, 0);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (!opts.cwd.empty() && chdir(opts.cwd.c_str()) != 0) _exit(126);
        std::vector<std::string> envs;
        if (opts.inherit_env)
            for (char** e = environ; *e; ++e) envs.emplace_back(*e);
        else
            envs = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};
        for (auto& [k, v] : opts.env_extra) envs.push_back(k + "=" + v);
        std::vector<char*> cargv, cenv;
        for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
        cargv.push_back(nullptr);
        for (auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
        cenv.push_back(nullptr);
        execve(cargv[0], cargv.data(), cenv.data());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    set_nonblock(in[1]);
    set_nonblock(out[0]);
    set_nonblock(err[0]);
    Outcome o;
    size_t written = 0;
    if (opts.stdin_data.empty()) { close(in[1]); in[1] = -1; }
    bool out_open = true, err_open = true;
    auto deadline = start + std::chrono::seconds(opts.timeout_seconds);
    bool killed = false;
    while (out_open || err_open || in[1] >= 0) {
        pollfd fds[3];
        int n = 0;
        if (out_open) fds[n++] = {out[0], POLLIN, 0};
        if (err_open) fds[n++] = {err[0], POLLIN, 0};
        if (in[1] >= 0) fds[n++] = {in[1], POLLOUT, 0};
        int r = poll(fds, n, 200);
        if (std::chrono::steady_clock::now() > deadline && !killed) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = true;
        }
        if (r <= 0) continue;
        char buf[65536];
        for (int i = 0; i < n; ++i) {
            if (!fds[i].revents) continue;
            if (fds[i].fd == in[1]) {
                ssize_t w = write(in[1], opts.stdin_data.data() + written, opts.stdin_data.size() - written);
                if (w > 0) written += size_t(w);
                if (w < 0 || written == opts.stdin_data.size()) { close(in[1]); in[1] = -1; }
                continue;
            }
            ssize_t got = read(fds[i].fd, buf, sizeof buf);
            if (got > 0) (fds[i].fd == out[0] ? o.out : o.err).append(buf, size_t(got));
            else if (got == 0 || errno != EAGAIN) {
                if (fds[i].fd == out[0]) out_open = false; else err_open = false;
            }
        }
    }
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    close(out[0]);
    close(err[0]);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    o.max_rss_kb = ru.ru_maxrss;
    if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) { o.term_signal = WTERMSIG(status); o.exit_code = 128 + o.term_signal; }
    if (killed) o.err += "\n[test harness: killed after " + std::to_string(opts.timeout_seconds) + " s]\n";
    return o;
}

namespace {

// Whether `path` lies where test policies let the script write (/tmp, /var/tmp, /dev/shm). hive-py
// refuses to run when its own executable or its policy file lies inside a writable path, so a checkout
// under /tmp would make every such test fail for the checkout's place, not for hive-py.
bool in_scratch(const std::string& path) {
    char real[PATH_MAX];
    const std::string p = realpath(path.c_str(), real) ? real : path;
    for (const char* d : {"/tmp/", "/var/tmp/", "/dev/shm/"})
        if (p.rfind(d, 0) == 0) return true;
    return false;
}

// A copy of `src` under /var/cache/hive-py-tests (made once, by whichever test process comes first:
// written aside, then renamed), keeping its mode. `key` tells copies of different files apart.
std::string stable_copy(const std::string& src, const std::string& name, const std::string& key) {
    struct stat st {};
    if (stat(src.c_str(), &st) != 0) return src;
    const std::string dir = "/var/cache/hive-py-tests/" + key + "-" + std::to_string(st.st_ino) + "-" +
                            std::to_string(st.st_mtim.tv_sec) + "-" + std::to_string(st.st_mtim.tv_nsec);
    const std::string dst = dir + "/" + name;
    if (access(dst.c_str(), F_OK) == 0) return dst;
    std::filesystem::create_directories(dir);
    chmod("/var/cache/hive-py-tests", 0755);
    chmod(dir.c_str(), 0755);
    const std::string tmp = dst + ".tmp." + std::to_string(getpid());
    std::filesystem::copy_file(src, tmp, std::filesystem::copy_options::overwrite_existing);
    chmod(tmp.c_str(), st.st_mode & 07777);
    std::filesystem::rename(tmp, dst);
    return dst;
}

}  // namespace

std::string hive_bin() {
    static const std::string bin = in_scratch(HIVE_PY_BIN) ? stable_copy(HIVE_PY_BIN, "hive-py", "bin") : HIVE_PY_BIN;
    return bin;
}

std::string build_dir() { return std::filesystem::path(HIVE_PY_BIN).parent_path().string(); }

std::string policy_fixture(const std::string& rel) {
    const std::string src = source_dir() + "/policy/tests/" + rel;
    if (!in_scratch(src)) return src;
    const auto slash = rel.rfind('/');
    return stable_copy(src, slash == std::string::npos ? rel : rel.substr(slash + 1),
                       "policy-" + (slash == std::string::npos ? std::string("top") : rel.substr(0, slash)));
}
std::string tests_dir() { return HIVE_TESTS_DIR; }
std::string source_dir() { return HIVE_SOURCE_DIR; }

bool sandbox_set_up(const Outcome& o) {
    if (o.exit_code == 125 && o.err.find("cannot be set up on this machine") != std::string::npos) {
        WARN("SKIPPED: the sandbox cannot be set up on this machine: " << o.err);
        return false;
    }
    return true;
}

const std::string& shared_log_dir() {
    static LogDir logs;
    return logs.path;
}

Outcome hive_logged(const std::vector<std::string>& args, const RunOptions& opts) {
    std::vector<std::string> a{"--log-dir", shared_log_dir()};
    a.insert(a.end(), args.begin(), args.end());
    return hive(a, opts);
}

std::map<std::string, std::string> module_env() {
#ifdef HIVE_ASAN_PRELOAD
    return {{"LD_PRELOAD", HIVE_ASAN_PRELOAD}, {"ASAN_OPTIONS", "detect_leaks=0"}};
#else
    return {};
#endif
}

Outcome hive(const std::vector<std::string>& args, const RunOptions& opts) {
    std::vector<std::string> argv{hive_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, opts);
}

Outcome python(const std::vector<std::string>& args, const RunOptions& opts) {
    std::vector<std::string> argv{"/usr/bin/python3.11", "-I"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, opts);
}

TempDir::TempDir() : TempDir("/tmp/hive-test-XXXXXX") {}

TempDir::TempDir(const std::string& mkdtemp_template) {
    std::string t = mkdtemp_template;
    if (!mkdtemp(t.data())) throw std::runtime_error("mkdtemp " + mkdtemp_template + " failed");
    path = t;
}

std::string without_closing_line(const std::string& err) {
    static const std::regex closing("(^|\n)hive-py: run [0-9a-f]{16}: [0-9]+ denied [^\n]*; see: hive-py audit show [^\n]*\n$");
    return std::regex_replace(err, closing, "$1");
}

LogDir::LogDir() : TempDir("/var/tmp/hive-test-logs-XXXXXX") {}
PolicyDir::PolicyDir() : TempDir("/var/tmp/hive-test-policy-XXXXXX") {}
std::string LogDir::read(const std::string& name) const { return read_file(path + "/" + name); }
std::string LogDir::runs() const { return read("execution_audit.log"); }
std::string LogDir::events() const { return read("audit_events.log"); }
std::string LogDir::security() const { return read("security_events.log"); }

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

std::string TempDir::file(const std::string& name, const std::string& contents, int mode) const {
    std::string p = path + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << contents;
    chmod(p.c_str(), mode_t(mode));
    return p;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> v;
    std::istringstream is(text);
    std::string l;
    while (std::getline(is, l)) v.push_back(l);
    return v;
}

std::vector<std::string> grep(const std::string& text, const std::string& needle) {
    std::vector<std::string> v;
    for (auto& l : lines(text))
        if (l.find(needle) != std::string::npos) v.push_back(l);
    return v;
}

}  // namespace hivetest
