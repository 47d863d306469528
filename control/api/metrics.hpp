// control/api/metrics.hpp — Prometheus /metrics: a builder the counter tables fill and a
// minimal HTTP/1.1 listener that serves what it renders (GET /metrics only).
//
// What: MetricsBuilder collects metric families (name, help, type) and their samples and
// serialises them with prometheus-cpp's TextSerializer (text format 0.0.4: HELP and TYPE on
// every family, label escaping, histogram _bucket/_sum/_count). The families come from the
// tables that also make the JSON and the telemetry (dataplane/engine/counter_table.hpp, the
// control plane's own counters in control/daemon/control_plane.cpp).
// Why our own listener and not prometheus-cpp-pull's Exposer: the Exposer collects on
// civetweb's threads, and what a scrape reads (BGP sessions, the policy's RIB counts) belongs
// to the control thread; this listener runs on the control thread's io_context, bounded (one
// request per connection, 8 KiB, 5 s).
// Thread: the io_context given (the control thread); render() is called there per scrape.
// Security: binds only where told (e.g. 127.0.0.1:9177); serves GET /metrics and nothing else.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prometheus {
struct MetricFamily;
}

namespace rsfwd::api {

enum class MetricType : std::uint8_t { counter, gauge, histogram };
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsBuilder {
public:
    MetricsBuilder();
    ~MetricsBuilder();
    MetricsBuilder(const MetricsBuilder&) = delete;
    MetricsBuilder& operator=(const MetricsBuilder&) = delete;

    // Starts a family; the samples that follow belong to it. A family without samples is
    // still exposed (HELP and TYPE), so dashboards see every metric from the first scrape.
    void family(std::string_view name, std::string_view help, MetricType type);
    // A counter or gauge sample of the current family.
    void sample(const MetricLabels& labels, double value);
    // A histogram sample of the current family: upper bounds `le` (ascending, +Inf last) and
    // the cumulative count at each.
    void histogram(const MetricLabels& labels, const std::vector<double>& le,
                   const std::vector<std::uint64_t>& cumulative, std::uint64_t count, double sum);
    // The text exposition of everything added.
    [[nodiscard]] std::string text() const;

private:
    std::vector<prometheus::MetricFamily> families_;
};

// "ADDRESS:PORT" (IPv4, or [IPv6]:PORT) as an endpoint; the port is 0-65535, digits only.
// Throws std::invalid_argument with a message naming what is wrong.
boost::asio::ip::tcp::endpoint parse_listen(const std::string& listen);

class MetricsServer {
public:
    // listen: as parse_listen(). Throws std::invalid_argument on a bad address and
    // std::runtime_error when it cannot be bound.
    MetricsServer(boost::asio::io_context& io, const std::string& listen,
                  std::function<std::string()> render);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    [[nodiscard]] unsigned short port() const;
    // The bound address, "127.0.0.1:9177" or "[::1]:9177" (the real port when given 0).
    [[nodiscard]] std::string address() const;

private:
    void accept();
    boost::asio::ip::tcp::acceptor acceptor_;
    std::function<std::string()> render_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace rsfwd::api
