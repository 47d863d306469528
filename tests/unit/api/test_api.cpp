// The API server over a real Unix socket, and the real `rsctl` binary against it.
// argv[1] is the path of the rsctl binary (meson passes it).
#include "control/api/metrics.hpp"
#include "control/api/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <array>
#include <cstdio>
#include <filesystem>
#include <future>
#include <limits>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using rsfwd::api::ApiError;
using rsfwd::api::Json;
using rsfwd::api::Server;

namespace {

std::string g_rsctl;

std::string temp_socket(const char* tag) {
    return "/tmp/rsfwd-test-" + std::string(tag) + "-" + std::to_string(::getpid()) + ".sock";
}

// Runs a server on its own io_context thread (the daemon runs it on the control thread).
struct LiveServer {
    boost::asio::io_context io;
    std::unique_ptr<Server> server;
    std::thread thread;
    bool b2b = false;

    explicit LiveServer(const std::string& path) {
        server = std::make_unique<Server>(io, path);
        server->on("peers", "peers", [](const Json&) {
            return Json::array({{{"name", "nva1@ars0"}, {"state", "Established"}, {"received", 3}},
                                {{"name", "er/c1"}, {"state", "Idle"}, {"received", 0}}});
        });
        server->on("set.branch_to_branch", "b2b", [this](const Json& args) {
            const auto v = rsfwd::api::arg_string(args, "value");
            if (v != "on" && v != "off") throw ApiError("value must be on or off");
            b2b = v == "on";
            return Json{{"branch_to_branch", b2b}};
        });
        server->on("boom", "throws", [](const Json&) -> Json { throw std::logic_error("bad"); });
        thread = std::thread([this] {
            auto guard = boost::asio::make_work_guard(io);
            io.run();
        });
    }
    ~LiveServer() {
        // Destroy the server on its own thread, then stop.
        std::promise<void> done;
        boost::asio::post(io, [&] {
            server.reset();
            done.set_value();
        });
        done.get_future().wait();
        io.stop();
        thread.join();
    }
};

struct RunResult {
    int status = -1;
    std::string out;
};

RunResult run(const std::string& cmdline) {
    RunResult r;
    FILE* p = ::popen((cmdline + " 2>&1").c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) r.out += buf.data();
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

} // namespace

TEST(ApiServer, DispatchesAndReportsErrors) {
    const auto path = temp_socket("dispatch");
    LiveServer s(path);
    auto ok = rsfwd::api::call(path, "set.branch_to_branch", {{"value", "on"}});
    EXPECT_TRUE(ok.at("ok").get<bool>());
    EXPECT_TRUE(ok.at("result").at("branch_to_branch").get<bool>());

    auto bad_value = rsfwd::api::call(path, "set.branch_to_branch", {{"value", "maybe"}});
    EXPECT_FALSE(bad_value.at("ok").get<bool>());
    EXPECT_EQ(bad_value.at("error"), "value must be on or off");

    auto missing = rsfwd::api::call(path, "set.branch_to_branch", Json::object());
    EXPECT_EQ(missing.at("error"), "missing argument 'value'");

    auto unknown = rsfwd::api::call(path, "nope");
    EXPECT_NE(unknown.at("error").get<std::string>().find("unknown command 'nope'"),
              std::string::npos);

    auto internal = rsfwd::api::call(path, "boom");
    EXPECT_EQ(internal.at("error"), "internal error: bad");

    auto help = rsfwd::api::call(path, "help");
    EXPECT_EQ(help.at("result").size(), 4u); // help, peers, set.branch_to_branch, boom
}

TEST(ApiServer, SocketIsPrivateAndSecondDaemonRefused) {
    const auto path = temp_socket("mode");
    LiveServer s(path);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    boost::asio::io_context other;
    EXPECT_THROW(Server(other, path), std::runtime_error);
}

TEST(ApiServer, StaleSocketFileIsReplaced) {
    const auto path = temp_socket("stale");
    {
        // A socket file with nobody listening, as a crashed daemon leaves it.
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
        ::close(fd);
    }
    ASSERT_TRUE(std::filesystem::exists(path));
    LiveServer s(path);
    EXPECT_TRUE(rsfwd::api::call(path, "peers").at("ok").get<bool>());
}

TEST(ApiServer, SurvivesGarbageAndOversizedRequests) {
    const auto path = temp_socket("garbage");
    LiveServer s(path);
    for (const std::string& payload : {std::string("not json\n"), std::string("[1,2]\n"),
                                       std::string(Server::max_request_bytes + 10, 'x')}) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
        (void)::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
        char buf[256] = {};
        const auto n = ::recv(fd, buf, sizeof buf - 1, 0);
        ::close(fd);
        ASSERT_GT(n, 0);
        EXPECT_NE(std::string(buf).find("\"ok\":false"), std::string::npos) << buf;
    }
    // Still serving.
    EXPECT_TRUE(rsfwd::api::call(path, "peers").at("ok").get<bool>());
}

namespace {
int connect_unix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}
// Everything the server sends until it closes (5 s at most), then closes `fd`.
std::string read_to_eof(int fd) {
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string got;
    char buf[256];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, std::size_t(n));
    ::close(fd);
    return got;
}
} // namespace

TEST(ApiServer, ConcurrentClientsAreCapped) {
    // Issue #24: every connection used to be served, so idle clients grew without limit. Now
    // max_clients are served; one more gets a JSON error and EOF; a freed slot is usable again.
    const auto path = temp_socket("clients");
    LiveServer s(path);
    std::vector<int> idle;
    for (std::size_t i = 0; i < Server::max_clients; ++i) {
        idle.push_back(connect_unix(path));
        ASSERT_GE(idle.back(), 0);
    }
    // The idle ones are accepted (the server counts them) before the extra one connects.
    for (int i = 0; i < 200 && s.server->clients() < Server::max_clients; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(s.server->clients(), Server::max_clients);
    const int extra = connect_unix(path);
    ASSERT_GE(extra, 0);
    const auto got = read_to_eof(extra);
    EXPECT_NE(got.find("\"ok\":false"), std::string::npos) << got;
    EXPECT_NE(got.find("too many clients"), std::string::npos) << got;
    EXPECT_EQ(s.server->clients_refused(), 1u);
    // One idle client leaves: the next request is served.
    ::close(idle.back());
    idle.pop_back();
    for (int i = 0; i < 200 && s.server->clients() >= Server::max_clients; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(rsfwd::api::call(path, "peers").at("ok").get<bool>());
    for (int fd : idle) ::close(fd);
}

TEST(ApiServer, OversizedRequestWithoutNewlineGetsErrorAndClose) {
    // More than max_request_bytes and no newline at all: an error line, then EOF; never a
    // crash, and the server keeps serving.
    const auto path = temp_socket("oversize");
    LiveServer s(path);
    const int fd = connect_unix(path);
    ASSERT_GE(fd, 0);
    const std::string big(Server::max_request_bytes + 4096, '{');
    (void)::send(fd, big.data(), big.size(), MSG_NOSIGNAL);
    const auto got = read_to_eof(fd);
    EXPECT_NE(got.find("request too long"), std::string::npos) << got;
    EXPECT_TRUE(rsfwd::api::call(path, "peers").at("ok").get<bool>());
}

TEST(Rsctl, TablesJsonAndExitCodes) {
    ASSERT_FALSE(g_rsctl.empty());
    const auto path = temp_socket("rsctl");
    LiveServer s(path);
    const std::string base = g_rsctl + " --socket " + path;

    auto table = run(base + " peers");
    EXPECT_EQ(table.status, 0) << table.out;
    EXPECT_NE(table.out.find("NAME"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("nva1@ars0"), std::string::npos);
    EXPECT_NE(table.out.find("Established"), std::string::npos);

    auto json = run(base + " --json peers");
    EXPECT_EQ(json.status, 0);
    auto parsed = Json::parse(json.out);
    EXPECT_EQ(parsed.at(1).at("name"), "er/c1");

    auto set = run(base + " set branch-to-branch on");
    EXPECT_EQ(set.status, 0) << set.out;
    EXPECT_TRUE(s.b2b);

    auto usage = run(base + " set branch-to-branch maybe");
    EXPECT_EQ(usage.status, 2) << usage.out;

    auto refused = run(base + " stats"); // the test server has no "stats"
    EXPECT_EQ(refused.status, 1);
    EXPECT_NE(refused.out.find("unknown command 'stats'"), std::string::npos);

    auto down = run(g_rsctl + " --socket /tmp/rsfwd-test-nobody-here.sock peers");
    EXPECT_EQ(down.status, 3);
    EXPECT_NE(down.out.find("rsfwd is not running"), std::string::npos) << down.out;

    auto help = run(g_rsctl + " --help");
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("announce"), std::string::npos);
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (argc > 1) g_rsctl = argv[1];
    return RUN_ALL_TESTS();
}

TEST(Prometheus, BuilderWritesHelpTypeLabelsAndHistograms) {
    using rsfwd::api::MetricType;
    rsfwd::api::MetricsBuilder m;
    m.family("rsfwd_port_rx_packets_total", "Packets received", MetricType::counter);
    m.sample({{"port", "vms"}}, 42);
    m.sample({{"port", "er\"x"}}, 7);
    m.family("rsfwd_fib_neighbours", "Neighbours", MetricType::gauge);
    m.family("rsfwd_fib_publish_latency_seconds", "Latency", MetricType::histogram);
    m.histogram({}, {0.001, std::numeric_limits<double>::infinity()}, {3, 5}, 5, 0.25);
    const auto text = m.text();
    EXPECT_NE(text.find("# HELP rsfwd_port_rx_packets_total Packets received\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE rsfwd_port_rx_packets_total counter\n"), std::string::npos);
    EXPECT_NE(text.find("rsfwd_port_rx_packets_total{port=\"vms\"} 42"), std::string::npos);
    EXPECT_NE(text.find("rsfwd_port_rx_packets_total{port=\"er\\\"x\"} 7"), std::string::npos);
    EXPECT_NE(text.find("# TYPE rsfwd_fib_neighbours gauge\n"), std::string::npos);
    EXPECT_NE(text.find("rsfwd_fib_publish_latency_seconds_bucket{le=\"+Inf\"} 5"),
              std::string::npos);
    EXPECT_NE(text.find("rsfwd_fib_publish_latency_seconds_count 5"), std::string::npos);
    EXPECT_NE(text.find("rsfwd_fib_publish_latency_seconds_sum 0.25"), std::string::npos);
}

TEST(Prometheus, ListenAddressIsStrict) {
    using rsfwd::api::parse_listen;
    EXPECT_EQ(parse_listen("127.0.0.1:9177").port(), 9177);
    EXPECT_EQ(parse_listen("[::1]:9177").address().to_string(), "::1");
    for (const char* bad : {"127.0.0.1:9177x", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                            "127.0.0.1: 9177", "::1:9177", "localhost:9177", "9177", ""})
        EXPECT_THROW(parse_listen(bad), std::invalid_argument) << bad;
}

TEST(Prometheus, ServesGetMetricsOnly) {
    boost::asio::io_context io;
    rsfwd::api::MetricsServer m(io, "127.0.0.1:0", [] { return std::string("rsfwd_up 1\n"); });
    const auto port = m.port();
    std::thread t([&] { io.run_for(std::chrono::seconds(3)); });
    auto get = [port](const std::string& req) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(0x7f000001);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return std::string();
        (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
        std::string out;
        char buf[1024];
        ssize_t n;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
            out.append(buf, static_cast<std::size_t>(n));
        ::close(fd);
        return out;
    };
    const auto ok = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(ok.find("200 OK"), std::string::npos) << ok;
    EXPECT_NE(ok.find("rsfwd_up 1"), std::string::npos);
    EXPECT_NE(get("GET / HTTP/1.1\r\n\r\n").find("404"), std::string::npos);
    EXPECT_NE(get("POST /metrics HTTP/1.1\r\n\r\n").find("405"), std::string::npos);
    EXPECT_THROW(rsfwd::api::MetricsServer(io, "nonsense", [] { return std::string(); }),
                 std::invalid_argument);
    io.stop();
    t.join();
}
