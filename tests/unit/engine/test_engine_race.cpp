// tests/unit/engine/test_engine_race.cpp — Engine::stats() and the /rsfwd/* telemetry commands
// hammered from other threads while Engine::stop() runs and the engine is destroyed.
//
// What it catches: stats() reading a port's PMD counters while stop() closes it (it checked a
// plain bool first), and a telemetry callback still inside an engine that stop() had left, or
// that was destroyed (the callbacks cannot be unregistered). Under ASan the second one is a
// heap-use-after-free report; either may also crash. The windows are microseconds wide, so the
// test makes crossing them likely, not certain: the fix's guarantee is the locking itself
// (dataplane/engine/telemetry.cpp, close_ports()), this test keeps it exercised under ASan.
//
// How: an Engine owns its EAL objects for the whole process (mempool, rings), so each round is
// one child process: EAL init (--no-huge, net_null ports, its own --file-prefix), start, threads
// calling stats() and querying the telemetry socket, stop(), destroy, exit status to the parent.
// Needs root for EAL; skips (77 through GTEST_SKIP) without it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <rte_eal.h>

#include "dataplane/engine/engine.hpp"

namespace {

using namespace rsfwd;
using namespace rsfwd::dp;

constexpr int rounds = 12;
constexpr unsigned telemetry_clients = 3;

// One client of DPDK's telemetry socket: connect, read the greeting, then ask commands.
class TelemetryClient {
public:
    explicit TelemetryClient(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            close();
            return;
        }
        (void)::recv(fd_, buf_.data(), buf_.size(), 0); // {"version": ..., "max_output_len": ...}
    }
    ~TelemetryClient() { close(); }
    TelemetryClient(const TelemetryClient&) = delete;
    TelemetryClient& operator=(const TelemetryClient&) = delete;

    [[nodiscard]] bool ok() const { return fd_ >= 0; }
    // True when a reply came back (an error reply counts: the engine may be gone).
    bool ask(const std::string& cmd) {
        if (::send(fd_, cmd.data(), cmd.size(), MSG_NOSIGNAL) < 0) return false;
        return ::recv(fd_, buf_.data(), buf_.size(), 0) > 0;
    }

private:
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    int fd_ = -1;
    std::vector<char> buf_ = std::vector<char>(1 << 16);
};

PortSpec null_port(int round, int i) {
    PortSpec p;
    p.name = fmt::format("p{}", i);
    p.device = fmt::format("net_null{},no-rx=1", i);
    p.subnet4 = *Prefix::parse(fmt::format("10.9.{}.0/24", i));
    p.addr4 = *IpAddr::parse(fmt::format("10.9.{}.1", i));
    p.mac = fib::Mac{2, 0, 0, 0, static_cast<std::uint8_t>(round), static_cast<std::uint8_t>(i)};
    return p;
}

// One round in a child process; returns its exit status (0 = clean, 77 = no EAL).
int one_round(int round) {
    const std::string prefix = fmt::format("rsfwd_race_{}_{}", ::getppid(), round);
    std::vector<std::string> args{"test", "--no-huge",     "-m",   "256",         "--no-pci", "-l",
                                  "0-1",  "--file-prefix", prefix, "--log-level", "*:error"};
    try {
        eal_init(args);
    } catch (const std::exception&) {
        return 77;
    }
    const std::string sock = fmt::format("{}/dpdk_telemetry.v2", rte_eal_get_runtime_dir());
    auto engine =
        std::make_unique<Engine>(std::vector<PortSpec>{null_port(round, 0), null_port(round, 1)},
                                 std::vector<NeighbourSpec>{}, [] {
                                     EngineOptions o;
                                     o.rx_desc = o.tx_desc = 256;
                                     o.idle_sleep_us =
                                         20; // a 2-core VM: leave the hammering threads some CPU
                                     return o;
                                 }());
    engine->start();

    std::atomic<bool> stats_stop{false}, tel_stop{false};
    std::atomic<std::uint64_t> stats_calls{0}, tel_replies{0};
    std::vector<std::thread> threads;
    threads.reserve(2);
    // stats() callers: allowed while the Engine exists, stop() included.
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&] {
            while (!stats_stop.load()) {
                const Stats s = engine->stats();
                if (s.ports.size() != 2) std::abort();
                stats_calls.fetch_add(1);
            }
        });
    // Telemetry clients: across stop() and the engine's destruction.
    std::vector<std::thread> tel;
    tel.reserve(telemetry_clients);
    for (unsigned t = 0; t < telemetry_clients; ++t)
        tel.emplace_back([&, t] {
            TelemetryClient c(sock);
            if (!c.ok()) return;
            const char* cmds[] = {"/rsfwd/stats", "/rsfwd/ports", "/rsfwd/workers", "/rsfwd/fib",
                                  "/rsfwd/drops"};
            for (unsigned k = t; !tel_stop.load(); ++k)
                if (c.ask(cmds[k % 5])) tel_replies.fetch_add(1);
        });
    // Let everyone get going, then stop with the readers in full swing.
    const auto t0 = std::chrono::steady_clock::now();
    auto since = [&] { return std::chrono::steady_clock::now() - t0; };
    while (
        since() < std::chrono::milliseconds(150) ||
        ((tel_replies.load() < std::uint64_t{20} * telemetry_clients || stats_calls.load() < 100) &&
         since() < std::chrono::seconds(5)))
        std::this_thread::yield();
    engine->stop();
    const Stats after = engine->stats(); // still fine: ports read as closed
    stats_stop.store(true);
    for (auto& t : threads) t.join();
    engine.reset(); // telemetry keeps asking
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    tel_stop.store(true);
    for (auto& t : tel) t.join();
    if (after.ports.size() != 2) return 3;
    if (tel_replies.load() == 0) return 4; // the telemetry socket never answered
    eal_cleanup();
    return 0;
}

TEST(EngineRace, StatsAndTelemetryAcrossStop) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for DPDK EAL init";
    for (int r = 0; r < rounds; ++r) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) ::_exit(one_round(r));
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        // DPDK leaves its runtime directory (telemetry socket, config) behind.
        std::error_code ec;
        std::filesystem::remove_all(fmt::format("/var/run/dpdk/rsfwd_race_{}_{}", ::getpid(), r),
                                    ec);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77) GTEST_SKIP() << "EAL init failed";
        ASSERT_TRUE(WIFEXITED(status)) << "round " << r << ": killed by signal "
                                       << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        ASSERT_EQ(WEXITSTATUS(status), 0) << "round " << r
                                          << " (3: stats after stop, 4: telemetry never answered, "
                                             "5: DPDK telemetry threads not found)";
    }
}

} // namespace
