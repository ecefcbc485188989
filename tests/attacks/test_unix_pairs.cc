// Unix socket pairs inside the run (#18: asyncio's self-pipe, multiprocessing's Pipe) without a way out.
// A datagram pair was one: `_socket.socketpair(AF_UNIX, SOCK_DGRAM)` and `sendmsg(..., address)` sent
// from pure Python, under the built-in default policy, a datagram to any host unix socket the caller's
// uid may write (/dev/log, journald's socket): the network namespace does not cover pathname sockets.
// Now seccomp allows socketpair for AF_UNIX SOCK_STREAM only, whose connected sockets refuse an address.
// Each case has a host socket listening outside, and checks that nothing reached it.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "run.h"

using namespace hivetest;

namespace {

// A datagram socket of the host, writable by anyone (as /dev/log is), outside every path the sandbox
// may read or write.
struct HostSocket {
    TempDir dir{"/var/tmp/hive-unix-XXXXXX"};
    std::string path = dir.path + "/host.sock";
    int fd = -1;
    HostSocket() {
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        REQUIRE(fd >= 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(chmod(path.c_str(), 0666) == 0);
        REQUIRE(chmod(dir.path.c_str(), 0755) == 0);
    }
    ~HostSocket() { close(fd); }
    std::string received() {
        char buf[256];
        std::string got;
        for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) got += std::string(buf, std::size_t(n)) + ";";
        return got;
    }
};

}  // namespace

TEST_CASE("attack: a datagram socket pair cannot reach a host unix socket under the default policy", "[attack][network]") {
    HostSocket host;
    const std::string code = "import _socket\nP = '" + host.path + R"PY('
try:
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    print('dgram pair made')
except OSError as e:
    print('dgram pair', e.errno)
a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
for how, f in [('sendto', lambda: a.sendto(b'out', P)), ('sendmsg', lambda: a.sendmsg([b'out'], [], 0, P))]:
    try:
        f()
        print(how, 'sent')
    except OSError as e:
        print(how, e.errno)
)PY";
    Outcome h = hive_logged({"-c", code});
    if (!sandbox_set_up(h)) return;
    INFO(h.out << h.err);
    CHECK(h.exit_code == 0);
    CHECK(h.out == "dgram pair 1\nsendto 1\nsendmsg 1\n");  // EPERM: seccomp, then the hook
    CHECK(host.received().empty());
}

TEST_CASE("attack: raw socketpair and sendto past the hook reach no host unix socket", "[attack][network]") {
    HostSocket host;
    const std::string code = "P = b'" + host.path + R"PY('
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
class sockaddr_un(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("path", ctypes.c_char * 108)]
addr = sockaddr_un(1, P)
for kind, t in [("dgram", 2), ("seqpacket", 5), ("stream", 1)]:
    sv = (ctypes.c_int * 2)()
    if libc.socketpair(1, t, 0, sv) != 0:
        print(kind, "socketpair", ctypes.get_errno())
        continue
    n = libc.sendto(sv[0], b"out", 3, 0, ctypes.byref(addr), ctypes.sizeof(addr))
    print(kind, "sendto", n, ctypes.get_errno() if n < 0 else 0)
    r = libc.connect(sv[0], ctypes.byref(addr), ctypes.sizeof(addr))
    print(kind, "connect", r, ctypes.get_errno() if r < 0 else 0)
fd = libc.socket(1, 2, 0)
print("socket", fd, ctypes.get_errno() if fd < 0 else 0)
)PY";
    for (const char* pol : {"attack/ctypes_default.yml", "attack/ctypes_network.yml"}) {
        Outcome h = hive_logged({"--policy", policy_fixture(pol), "-c", code});
        if (!sandbox_set_up(h)) return;
        INFO(pol << "\n" << h.out << h.err);
        CHECK(h.exit_code == 0);
        // EPERM (1) from seccomp for the datagram and seqpacket pairs and for socket(AF_UNIX); the
        // stream pair's sendto with an address is EISCONN (106); its connect fails too (EPROTOTYPE
        // against this datagram socket; EPERM where connect goes to the parent's network guard).
        const auto out = lines(h.out);
        REQUIRE(out.size() == 5);
        CHECK(out[0] == "dgram socketpair 1");
        CHECK(out[1] == "seqpacket socketpair 1");
        CHECK(out[2] == "stream sendto -1 106");
        CHECK(out[3].rfind("stream connect -1 ", 0) == 0);
        CHECK(out[4] == "socket -1 1");
        CHECK(host.received().empty());
    }
}

TEST_CASE("unix stream pairs work under the default policy: asyncio, selectors, multiprocessing.Pipe", "[compat][network]") {
    const std::string code = R"PY(
import asyncio, multiprocessing, selectors, socket
async def main():
    await asyncio.sleep(0)
    return 42
print("asyncio", asyncio.run(main()))
a, b = socket.socketpair()
a.sendall(b"ping")
with selectors.DefaultSelector() as sel:
    sel.register(b, selectors.EVENT_READ)
    print("selectors", len(sel.select(1)), b.recv(4))
r, w = multiprocessing.Pipe()
w.send({"votes": 3})
print("pipe", r.recv())
)PY";
    Outcome h = hive_logged({"-c", code});
    if (!sandbox_set_up(h)) return;
    Outcome p = python({"-c", code});
    INFO(h.out << h.err << "\n--- python3\n" << p.out << p.err);
    REQUIRE(p.exit_code == 0);
    CHECK(h.exit_code == 0);
    CHECK(h.out == p.out);
    CHECK(h.err.empty());
}
