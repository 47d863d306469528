// control/api/metrics.hpp — counters and BGP session states in Prometheus text format, served
// over a minimal HTTP/1.1 listener (GET /metrics), besides DPDK telemetry and the JSON API.
//
// Thread: the io_context given (the control thread); render() is called there per scrape.
// Security: binds only where told (e.g. 127.0.0.1:9100); serves GET /metrics and nothing else.
#pragma once

#include <nlohmann/json.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

namespace rsfwd::api {

// Turns a JSON stats document into Prometheus text exposition format:
//   numbers and booleans become samples named prefix_<path> (path elements joined with '_');
//   an array of objects becomes one series per element, labelled with its string fields
//   ("name", "state", ...), e.g. rsfwd_ports_rx_pkts{name="vms"} 42.
// Strings that are not labels are dropped. Names are sanitised to [a-zA-Z0-9_].
std::string to_prometheus(const nlohmann::ordered_json& stats, const std::string& prefix = "rsfwd");

class MetricsServer {
public:
    // listen: "ADDRESS:PORT" (IPv4 or [IPv6]:PORT). Throws std::runtime_error on a bad address
    // or when the port cannot be bound.
    MetricsServer(boost::asio::io_context& io, const std::string& listen,
                  std::function<std::string()> render);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    [[nodiscard]] unsigned short port() const;

private:
    void accept();
    boost::asio::ip::tcp::acceptor acceptor_;
    std::function<std::string()> render_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace rsfwd::api
