// bench/fwd/hooks.hpp — what `rsfwd run` does only for benchmarks: load a route file straight into
// a view (--bench-routes), stamp random covered destinations on RX (--bench-random-dst), and
// churn routes at a fixed rate while forwarding (--bench-churn). They live here, not in the
// daemon's code, so that a reader of control/ and dataplane/ sees only the product; `rsfwd run`
// links them because the harness measures the real daemon (docs/benchmarks.md).
// Thread: control thread (the RX callback runs on the worker that polls queue 0 of a port).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/daemon/control_plane.hpp"
#include "control/model.hpp"
#include "dataplane/engine/engine.hpp"

namespace rsfwd {
struct Config;
}

namespace rsfwd::bench {

// `--bench-routes FILE`: "PREFIX NEXT_HOP" per line ('#' comments), installed straight into the
// vnet view — bypassing the policy — so that benchmarks can forward on 1M-route FIBs without a
// 1M-route YAML. view: the vnet view's id (RouteServer::views()). Malformed lines throw with the
// line number.
std::vector<ViewChange> read_bench_routes(const std::string& path, ViewId view);

// `--bench-random-dst N`: N (rounded up to a power of two) random IPv4 destinations covered by
// the bench routes (else the config's static IPv4 routes); install_random_destinations() adds
// the RX callback that stamps them on queue 0 of every port (after Engine::start()). Returns how
// many destinations are stamped in turn.
std::vector<std::uint32_t> random_destinations(const std::vector<ViewChange>& bench,
                                               const Config& cfg, std::size_t n);
std::size_t install_random_destinations(dp::Engine& engine, std::vector<std::uint32_t> dsts);

// `--bench-churn RATE` (benchmarks only): while forwarding, the control thread re-announces the
// --bench-routes table round-robin at RATE changes/s, each time flipping the route's next hop
// between its own and --bench-churn-next-hop (a second resolved neighbour on the same port), so
// every change is a real FIB update while every destination keeps a valid route: any drop counted
// meanwhile (no_route, arp_unresolved, no_adjacency) is caused by an update. Reported in the
// stats JSON as "churn" (the harness's rsfwd-churn cells read it).
class ChurnDriver {
public:
    ChurnDriver(std::vector<ViewChange> routes, const IpAddr& alt, double rate)
        : routes_(std::move(routes)), alt_(alt), rate_(rate) {
        flipped_.assign(routes_.size(), false);
    }
    // Applies the changes due by now (at most rate/50 per call: bursts stay small). While
    // `paused`, applies nothing; time paused is owed nothing (no catch-up burst on resume) and
    // does not count in achieved_rate().
    void poll(ForwardingSink& sink, bool paused = false) {
        const auto now = std::chrono::steady_clock::now();
        if (!started_) {
            start_ = now;
            started_ = true;
        }
        // The control thread's CPU while churning (all its work: compile, publish, the rest),
        // between consecutive polls that both found the driver running.
        const std::uint64_t cpu = thread_cpu_ns();
        if (!paused && !paused_ && polled_) {
            cpu_ns_ += cpu - last_cpu_;
            wall_ns_ += static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_poll_).count());
        }
        last_cpu_ = cpu;
        last_poll_ = now;
        polled_ = true;
        if (paused != paused_) {
            if (paused)
                pause_start_ = now;
            else
                start_ += now - pause_start_;
            paused_ = paused;
        }
        if (paused_) return;
        const double secs = std::chrono::duration<double>(now - start_).count();
        auto due = static_cast<std::uint64_t>(secs * rate_);
        const auto cap = static_cast<std::uint64_t>(std::max(1.0, rate_ / 50));
        if (due > applied_ + cap) due = applied_ + cap;
        if (due <= applied_) return;
        batch_.clear();
        for (; applied_ < due; ++applied_) {
            const std::size_t i = next_++ % routes_.size();
            ViewChange c = routes_[i];
            flipped_[i] = !flipped_[i];
            if (flipped_[i] && c.route) c.route->next_hops = {alt_};
            batch_.push_back(std::move(c));
        }
        sink.apply(batch_);
        last_ = now;
    }
    [[nodiscard]] std::uint64_t applied() const noexcept { return applied_; }
    [[nodiscard]] double achieved_rate() const noexcept {
        const double s = std::chrono::duration<double>(last_ - start_).count();
        return s > 0 ? static_cast<double>(applied_) / s : 0;
    }
    [[nodiscard]] double rate() const noexcept { return rate_; }
    [[nodiscard]] bool active() const noexcept { return !paused_; }
    // Share of a core the control thread used while churning, and its CPU per applied change.
    [[nodiscard]] double control_cpu_share() const noexcept {
        return wall_ns_ ? static_cast<double>(cpu_ns_) / static_cast<double>(wall_ns_) : 0;
    }
    [[nodiscard]] double control_cpu_ns_per_change() const noexcept {
        return applied_ ? static_cast<double>(cpu_ns_) / static_cast<double>(applied_) : 0;
    }

private:
    std::vector<ViewChange> routes_;
    std::vector<bool> flipped_;
    std::vector<ViewChange> batch_;
    IpAddr alt_;
    double rate_;
    static std::uint64_t thread_cpu_ns() noexcept {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
               static_cast<std::uint64_t>(ts.tv_nsec);
    }

    bool started_ = false, paused_ = false, polled_ = false;
    std::chrono::steady_clock::time_point start_, last_, pause_start_, last_poll_;
    std::uint64_t cpu_ns_ = 0, wall_ns_ = 0, last_cpu_ = 0;
    std::uint64_t applied_ = 0, next_ = 0;
};

// Drops an update can cause (no_route, arp_unresolved, no_adjacency), summed.
std::uint64_t update_drops(const dp::Stats& s);
// The stats JSON's "churn" object (the harness's rsfwd-churn cells read it).
nlohmann::json churn_report(const ChurnDriver& churn, const dp::Stats& before,
                            const dp::Stats& after, const std::string& churn_port);

} // namespace rsfwd::bench
