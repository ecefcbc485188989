// Secret-free system data the stdlib reads works under the built-in default policy as under python3 -I
// (#18): sysconfig's build-time data (and zoneinfo on it), ssl's CA store and OpenSSL's configuration,
// mimetypes, the OS's name, time zones, locale data. What stays closed is tried with raw system calls
// under a policy that allows ctypes: /etc/ssl/private (directly and through /usr/lib/ssl's link), the
// user database.
#include <catch2/catch.hpp>

#include <string>

#include "run.h"

using namespace hivetest;

namespace {

const char* const kStdlib = R"PY(
import datetime, locale, mimetypes, platform, ssl, sysconfig, zoneinfo
print("TZPATH", bool(sysconfig.get_config_var("TZPATH")))
print("config vars", len(sysconfig.get_config_vars()) > 100)
print("berlin", datetime.datetime(2026, 12, 4, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")).utcoffset())
print("mime", mimetypes.guess_type("votes.csv"))
print("ca", ssl.create_default_context().cert_store_stats()["x509_ca"] > 0)
print("os", platform.freedesktop_os_release().get("ID"))
print("locale", locale.setlocale(locale.LC_ALL, "C.UTF-8"))
)PY";

}  // namespace

TEST_CASE("system data: sysconfig, zoneinfo, ssl's CA store, mimetypes, os-release and locales as under python3", "[compat]") {
    Outcome h = hive_logged({"-c", kStdlib});
    if (!sandbox_set_up(h)) return;
    Outcome p = python({"-c", kStdlib});
    INFO("hive-py:\n" << h.out << h.err << "\npython3 -I:\n" << p.out << p.err);
    REQUIRE(p.exit_code == 0);
    CHECK(h.exit_code == 0);
    CHECK(h.out == p.out);
    CHECK(h.err.empty());  // no closing line: nothing was denied
}

TEST_CASE("attack: the private keys beside the CA store stay closed to raw system calls", "[attack][compat]") {
    const std::string code = R"PY(
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
O_DIRECTORY = 0o200000
for path in ["/etc/ssl/private", "/usr/lib/ssl/private", "/etc/passwd", "/etc/shadow"]:
    fd = libc.syscall(ctypes.c_long(257), ctypes.c_long(-100), ctypes.c_char_p(path.encode()),
                      ctypes.c_long(O_DIRECTORY if "private" in path else 0), ctypes.c_long(0))
    print(path, fd, ctypes.get_errno() if fd < 0 else 0)
)PY";
    Outcome h = hive_logged({"--policy", policy_fixture("attack/ctypes_default.yml"), "-c", code});
    if (!sandbox_set_up(h)) return;
    INFO(h.out << h.err);
    REQUIRE(h.exit_code == 0);
    // EACCES from Landlock (root's DAC override does not reach past it); ENOENT where this machine
    // lacks the path (bootstrap.sh installs openssl and ca-certificates, which make them).
    std::string want;
    for (const char* p : {"/etc/ssl/private", "/usr/lib/ssl/private", "/etc/passwd", "/etc/shadow"})
        want += std::string(p) + " -1 " + (exists(p) ? "13" : "2") + "\n";
    CHECK(h.out == want);
}

TEST_CASE("the user's name and a home: getpass.getuser() as under python3, Path.home() a writable directory of the run's own", "[compat]") {
    const std::string code = R"PY(
import getpass, os, pathlib
print("user", getpass.getuser())
home = pathlib.Path.home()
print("home is expanduser", str(home) == os.path.expanduser("~"))
(home / ".cache").mkdir(exist_ok=True)
(home / ".cache" / "x").write_text("ok")
print("home writable", (home / ".cache" / "x").read_text())
)PY";
    RunOptions opts;
    opts.env_extra = {{"USER", "alice"}, {"LOGNAME", "alice"}, {"HOME", "/nonexistent-home"}};
    Outcome h = hive_logged({"-c", code}, opts);
    if (!sandbox_set_up(h)) return;
    INFO(h.out << h.err);
    REQUIRE(h.exit_code == 0);
    CHECK(h.out == "user alice\nhome is expanduser True\nhome writable ok\n");
    // The caller's HOME is not the run's: nothing was written there, and the script saw the private /tmp.
    CHECK_FALSE(exists("/nonexistent-home"));
}
