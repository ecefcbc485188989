// The network allow-list by domain (issue: allowed_domains at the kernel level): with a local server on
// 127.0.0.1 and `localhost` allowed, an allowed connection round-trips data; a blocked port, an address
// not in the list, UDP, and a name not in the list all fail with a clear error and a logged event; raw
// connects through ctypes are decided by the parent, and racing the address buffer gets nowhere.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "run.h"

using namespace hivetest;

namespace {

// A TCP socket listening on 127.0.0.1 on a free port, with this accept backlog; its port in `port`.
int loopback_listener(int backlog, int& port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t l = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    port = ntohs(a.sin_port);
    REQUIRE(listen(fd, backlog) == 0);
    return fd;
}

// A TCP server on 127.0.0.1 in the test process: answers every connection with a small HTTP response
// and counts them. Stops by itself after `seconds`.
struct Server {
    int fd = -1;
    int port = 0;
    std::atomic<int> accepted{0};
    std::atomic<bool> stop{false};
    std::thread th;
    explicit Server(int seconds = 60) {
        fd = loopback_listener(64, port);
        th = std::thread([this, seconds] {
            for (int i = 0; i < seconds * 10 && !stop; ++i) {
                pollfd p{fd, POLLIN, 0};
                if (poll(&p, 1, 100) != 1) continue;
                int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
                if (c < 0) continue;
                ++accepted;
                char buf[1024];
                pollfd q{c, POLLIN, 0};
                if (poll(&q, 1, 1000) == 1) {
                    [[maybe_unused]] ssize_t n = read(c, buf, sizeof buf);
                }
                const char resp[] = "HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\nhello hive\n";
                [[maybe_unused]] ssize_t w = write(c, resp, sizeof resp - 1);
                close(c);
            }
        });
    }
    ~Server() {
        stop = true;
        th.join();
        close(fd);
    }
};


std::string policy_for(const TempDir& dir, int blocked_port, bool ctypes = false) {
    return dir.file("policy.yml", std::string("security:\n") +
                                      (ctypes ? "  imports: {allow: [ctypes, _ctypes]}\n" : "") +
                                      "  network:\n    allowed_domains: [localhost]\n    blocked_ports: [22, " +
                                      std::to_string(blocked_port) + "]\n");
}

// libc through ctypes, and sa(port, ip): a struct sockaddr_in, for connects the audit hook never sees.
const std::string kRawPrelude =
    "import ctypes, socket, struct, threading\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "def sa(port, ip='127.0.0.1'):\n"
    "    return struct.pack('<H', 2) + struct.pack('>H', port) + socket.inet_aton(ip) + bytes(8)\n";

// Two local servers (one on a blocked port), a log dir and a policy that allows ctypes and `localhost`.
struct RawSetup {
    Server ok, blocked;
    TempDir dir;
    LogDir logs;
    std::string policy = policy_for(dir, blocked.port, /*ctypes=*/true);
    std::string b = std::to_string(blocked.port), p = std::to_string(ok.port);
};

}  // namespace

TEST_CASE("network: an allowed domain round-trips data with urllib and a raw socket", "[network]") {
    Server ok;
    Server blocked;
    TempDir dir;
    LogDir logs;
    auto pol = policy_for(dir, blocked.port);
    std::string p = std::to_string(ok.port);
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "import urllib.request, socket\n"
                   "print(urllib.request.urlopen('http://localhost:" + p + "/', timeout=5).read().decode().strip())\n"
                   "s = socket.create_connection(('localhost', " + p + "), timeout=5)\n"
                   "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
                   "print(s.recv(100).split(b'\\r\\n')[0].decode())\n"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "hello hive\nHTTP/1.0 200 OK\n");
    CHECK(ok.accepted >= 2);
    // Each connection is an audit event with the domain, the address, the port and the verdict.
    auto ev = grep(logs.events(), "\"event\":\"network.connect\"");
    REQUIRE(ev.size() >= 2);
    CHECK(ev[0].find("\"args\":[\"localhost\",\"127.0.0.1\",\"" + p + "\",\"connected by the parent\"]") != std::string::npos);
    CHECK(ev[0].find("\"decision\":\"allowed\"") != std::string::npos);
    // The run record names the domains and what they resolved to.
    CHECK(read_file(logs.path + "/execution_audit.log").find("\"network\":{\"localhost\":[") != std::string::npos);
}

TEST_CASE("network: blocked port, other address, other name and UDP all fail with a clear error", "[network]") {
    Server ok;
    Server blocked;
    TempDir dir;
    LogDir logs;
    auto pol = policy_for(dir, blocked.port);
    std::string b = std::to_string(blocked.port), p = std::to_string(ok.port);
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "import socket\n"
                   "for t in [('localhost', " + b + "), ('127.0.0.2', " + p + "), ('example.com', 80)]:\n"
                   "    try:\n"
                   "        socket.create_connection(t, timeout=3); print('CONNECTED', t)\n"
                   "    except OSError as e: print(type(e).__name__, e)\n"
                   "try:\n"
                   "    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 53))\n"
                   "except OSError as e: print(type(e).__name__, e)\n"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("CONNECTED") == std::string::npos);
    CHECK(r.out.find("PermissionError [Errno 1] hive-py: port " + b + " is in security.network.blocked_ports") != std::string::npos);
    CHECK(r.out.find("PermissionError [Errno 1] hive-py: '127.0.0.2' is not in security.network.allowed_domains") != std::string::npos);
    CHECK(r.out.find("PermissionError [Errno 1] hive-py: 'example.com' is not in security.network.allowed_domains") != std::string::npos);
    CHECK(r.out.find("no UDP or raw sockets") != std::string::npos);
    CHECK(blocked.accepted == 0);
    CHECK(grep(logs.security(), "\"kind\":\"denied\"").size() >= 4);
}

TEST_CASE("network: raw connects through ctypes are decided by the parent", "[network][attack]") {
    RawSetup net;
    Server& blocked = net.blocked;
    LogDir& logs = net.logs;
    const std::string &pol = net.policy, &b = net.b, &p = net.p;
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   kRawPrelude +
                   "for name, port, ip in [('blocked', " + b + ", '127.0.0.1'), ('other', " + p + ", '127.0.0.2'), ('ok', " + p + ", '127.0.0.1')]:\n"
                   "    fd = libc.socket(2, 1, 0)\n"
                   "    rc = libc.connect(fd, ctypes.create_string_buffer(sa(port, ip), 16), 16)\n"
                   "    print(name, rc, ctypes.get_errno() if rc else 0)\n"
                   "print('udp', libc.socket(2, 2, 0), ctypes.get_errno())\n"
                   "print('unix', libc.socket(1, 1, 0), ctypes.get_errno())\n"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "blocked -1 1\nother -1 1\nok 0 0\nudp -1 1\nunix -1 1\n");
    CHECK(blocked.accepted == 0);
    auto denied = grep(logs.events(), "\"decision\":\"denied_by_kernel\"");
    REQUIRE(denied.size() == 2);
    CHECK(denied[0].find("port is in security.network.blocked_ports") != std::string::npos);
    CHECK(denied[1].find("address is not one of security.network.allowed_domains") != std::string::npos);
    CHECK(grep(logs.security(), "refused: port is in security.network.blocked_ports").size() == 1);
}

TEST_CASE("network: a thread racing the address buffer cannot reach a blocked port", "[network][attack]") {
    RawSetup net;
    Server& blocked = net.blocked;
    LogDir& logs = net.logs;
    const std::string &pol = net.policy, &b = net.b, &p = net.p;
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   kRawPrelude +
                   "good, bad = sa(" + p + "), sa(" + b + ")\n"
                   "buf = ctypes.create_string_buffer(good, 16)\n"
                   "stop = False\n"
                   "def flip():\n"
                   "    while not stop:\n"
                   "        ctypes.memmove(buf, bad, 16); ctypes.memmove(buf, good, 16)\n"
                   "t = threading.Thread(target=flip); t.start()\n"
                   "n = 0\n"
                   "for i in range(200):\n"
                   "    fd = libc.socket(2, 1, 0)\n"
                   "    n += libc.connect(fd, buf, 16) == 0\n"
                   "    libc.close(fd)\n"
                   "stop = True; t.join()\n"
                   "print('connected', n)\n"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind("connected ", 0) == 0);
    // Whatever the race did, nothing ever reached the blocked port.
    CHECK(blocked.accepted == 0);
}

TEST_CASE("network: while one connect waits on the network, the run goes on (output, other connects, the end)",
          "[network]") {
    // A listener whose accept queue is full: the kernel drops further SYNs, so a connect to it waits.
    int stuck_port = 0;
    int lfd = loopback_listener(0, stuck_port);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(std::uint16_t(stuck_port));
    std::vector<int> fillers;
    for (int i = 0; i < 4; ++i) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
        fillers.push_back(c);
    }
    const std::string stuck = std::to_string(stuck_port);
    Server ok, blocked;
    TempDir dir;
    LogDir logs;
    const std::string pol = dir.file("policy.yml", "security:\n  execution: {timeout_seconds: 8}\n"
                                                   "  network:\n    allowed_domains: [localhost]\n"
                                                   "    blocked_ports: [22, " + std::to_string(blocked.port) + "]\n");
    // One thread's connect waits (up to 30 s); meanwhile the main thread connects elsewhere, writes more
    // than a pipe holds (the parent must relay it) and ends the run.
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "import os, socket, sys, threading, time\n"
                   "def wait():\n"
                   "    try: socket.create_connection(('localhost', " + stuck + "), timeout=30)\n"
                   "    except OSError: pass\n"
                   "threading.Thread(target=wait, daemon=True).start()\n"
                   "time.sleep(0.5)\n"
                   "s = socket.create_connection(('localhost', " + std::to_string(ok.port) + "), timeout=5)\n"
                   "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
                   "print(s.recv(100).split(b'\\r\\n')[0].decode(), flush=True)\n"
                   "sys.stdout.write('x' * 300000 + '\\n')\n"
                   "print('done', flush=True)\n"
                   "os._exit(0)\n"});
    for (int c : fillers) close(c);
    close(lfd);
    INFO(r.err);
    CHECK(r.exit_code == 0);  // a parent stuck on the first connect let the wall-clock limit end the run: 124
    CHECK(r.out.rfind("HTTP/1.0 200 OK\n", 0) == 0);
    CHECK(r.out.size() == std::string("HTTP/1.0 200 OK\n").size() + 300001 + 5);
    CHECK(r.out.substr(r.out.size() - 5) == "done\n");
    // Both connects are in the audit trail: the one that went through, and the one the run's end cut off.
    auto ev = grep(logs.events(), "\"event\":\"network.connect\"");
    CHECK(ev.size() == 2);
    bool cut = false;
    for (auto& e : ev) cut = cut || (e.find("\"" + stuck + "\"") != std::string::npos &&
                                     e.find("the run ended before the connect completed") != std::string::npos);
    CHECK(cut);
}

TEST_CASE("network: the socket the parent installs keeps the script's blocking mode", "[network]") {
    Server ok, blocked;
    TempDir dir;
    LogDir logs;
    auto pol = policy_for(dir, blocked.port);
    const std::string p = std::to_string(ok.port);
    // The parent reads the mode of the script's socket from /proc/<pid>/fdinfo and gives its own the same.
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c",
                   "import os, socket\n"
                   "for blocking in (True, False):\n"
                   "    s = socket.socket()\n"
                   "    s.setblocking(blocking)\n"
                   "    try: s.connect(('127.0.0.1', " + p + "))\n"
                   "    except BlockingIOError: pass\n"
                   "    print(blocking, os.get_blocking(s.fileno()))\n"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "True True\nFalse False\n");
}
