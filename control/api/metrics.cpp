// control/api/metrics.cpp — Prometheus exposition (prometheus-cpp's text serializer) over a
// deliberately tiny HTTP server: one request per connection, bounded request size, a 5 s
// deadline, then close.
#include "control/api/metrics.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <stdexcept>
#include <vector>

namespace rsfwd::api {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
MetricsBuilder::MetricsBuilder() = default;
MetricsBuilder::~MetricsBuilder() = default;

void MetricsBuilder::family(std::string_view name, std::string_view help, MetricType type) {
    prometheus::MetricFamily f;
    f.name = std::string(name);
    f.help = std::string(help);
    switch (type) {
    case MetricType::counter:
        f.type = prometheus::MetricType::Counter;
        break;
    case MetricType::gauge:
        f.type = prometheus::MetricType::Gauge;
        break;
    case MetricType::histogram:
        f.type = prometheus::MetricType::Histogram;
        break;
    }
    families_.push_back(std::move(f));
}

namespace {

prometheus::ClientMetric client_metric(const MetricLabels& labels) {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : labels) m.label.push_back({k, v});
    return m;
}

} // namespace

void MetricsBuilder::sample(const MetricLabels& labels, double value) {
    if (families_.empty()) throw std::logic_error("metrics: sample before family");
    auto& f = families_.back();
    auto m = client_metric(labels);
    if (f.type == prometheus::MetricType::Counter)
        m.counter.value = value;
    else
        m.gauge.value = value;
    f.metric.push_back(std::move(m));
}

void MetricsBuilder::histogram(const MetricLabels& labels, const std::vector<double>& le,
                               const std::vector<std::uint64_t>& cumulative, std::uint64_t count,
                               double sum) {
    if (families_.empty()) throw std::logic_error("metrics: sample before family");
    auto m = client_metric(labels);
    m.histogram.sample_count = count;
    m.histogram.sample_sum = sum;
    for (std::size_t i = 0; i < le.size() && i < cumulative.size(); ++i)
        m.histogram.bucket.push_back({cumulative[i], le[i]});
    families_.back().metric.push_back(std::move(m));
}

std::string MetricsBuilder::text() const {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families_);
    return out.str();
}

tcp::endpoint parse_listen(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos)
        throw std::invalid_argument("expected ADDRESS:PORT, got '" + listen + "'");
    std::string host = listen.substr(0, colon);
    const std::string port_text = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string::npos) {
        throw std::invalid_argument("an IPv6 address goes in brackets, [ADDRESS]:PORT: '" + listen +
                                    "'");
    }
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(host, ec);
    if (ec) throw std::invalid_argument("not an IP address: '" + host + "'");
    unsigned long port = 0;
    const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                        port_text.find_first_not_of("0123456789") == std::string::npos;
    if (digits) port = std::stoul(port_text);
    if (!digits || port > 65535)
        throw std::invalid_argument("the port in '" + listen + "' is not a number 0-65535");
    return {addr, static_cast<unsigned short>(port)};
}

namespace {

struct HttpConn : std::enable_shared_from_this<HttpConn> {
    HttpConn(tcp::socket s, std::function<std::string()> render)
        : sock(std::move(s)), timer(sock.get_executor()), buf(8192), render(std::move(render)) {}
    tcp::socket sock;
    asio::steady_timer timer;
    asio::streambuf buf;
    std::function<std::string()> render; // a copy: the server may go first
    std::string out;

    void start() {
        auto self = shared_from_this();
        timer.expires_after(std::chrono::seconds(5));
        timer.async_wait([self](const boost::system::error_code& ec) {
            if (!ec) {
                boost::system::error_code ignored;
                self->sock.close(ignored);
            }
        });
        asio::async_read_until(sock, buf, "\r\n\r\n",
                               [self](const boost::system::error_code& ec, std::size_t) {
                                   if (ec) {
                                       self->reply("400 Bad Request", "bad request\n");
                                       return;
                                   }
                                   std::istream in(&self->buf);
                                   std::string method, target;
                                   in >> method >> target;
                                   if (method != "GET") {
                                       self->reply("405 Method Not Allowed", "GET only\n");
                                   } else if (target != "/metrics") {
                                       self->reply("404 Not Found", "try /metrics\n");
                                   } else {
                                       self->reply("200 OK", self->render());
                                   }
                               });
    }

    void reply(const std::string& status, const std::string& body) {
        out = "HTTP/1.1 " + status +
              "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        auto self = shared_from_this();
        asio::async_write(sock, asio::buffer(out),
                          [self](const boost::system::error_code&, std::size_t) {
                              boost::system::error_code ignored;
                              self->sock.shutdown(tcp::socket::shutdown_both, ignored);
                              self->sock.close(ignored);
                              self->timer.cancel();
                          });
    }
};

} // namespace

MetricsServer::MetricsServer(asio::io_context& io, const std::string& listen,
                             std::function<std::string()> render)
    : acceptor_(io), render_(std::move(render)) {
    tcp::endpoint ep;
    try {
        ep = parse_listen(listen);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("metrics: ") + e.what());
    }
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("metrics: cannot listen on " + listen + ": " + ec.message());
    accept();
}

MetricsServer::~MetricsServer() {
    *alive_ = false;
    boost::system::error_code ec;
    acceptor_.close(ec);
}

unsigned short MetricsServer::port() const {
    return acceptor_.local_endpoint().port();
}

std::string MetricsServer::address() const {
    const auto ep = acceptor_.local_endpoint();
    const auto a = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
}

void MetricsServer::accept() {
    acceptor_.async_accept(
        [this, alive = alive_](const boost::system::error_code& ec, tcp::socket s) {
            if (!*alive) return;
            if (!ec) std::make_shared<HttpConn>(std::move(s), render_)->start();
            if (acceptor_.is_open()) accept();
        });
}

} // namespace rsfwd::api
