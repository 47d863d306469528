// control/api/metrics.cpp — Prometheus exposition over a deliberately tiny HTTP server: one
// request per connection, bounded request size, a 5 s deadline, then close.
#include "control/api/metrics.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <map>
#include <stdexcept>
#include <vector>

namespace rsfwd::api {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Json = nlohmann::ordered_json;

namespace {

std::string sanitise(const std::string& s) {
    std::string out;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        out += ok ? c : '_';
    }
    return out;
}

std::string escape_label(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string number(const Json& v) {
    if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
    if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
    return buf;
}

using Series = std::map<std::string, std::vector<std::string>>; // name → sample lines

void walk(const Json& v, const std::string& name, const std::string& labels, Series& out) {
    if (v.is_number() || v.is_boolean()) {
        out[name].push_back(name + (labels.empty() ? "" : "{" + labels + "}") + " " + number(v));
        return;
    }
    if (v.is_object()) {
        for (const auto& [k, e] : v.items()) walk(e, name + "_" + sanitise(k), labels, out);
        return;
    }
    if (v.is_array()) {
        for (std::size_t i = 0; i < v.size(); ++i) {
            const auto& e = v[i];
            if (e.is_object()) {
                std::string l = labels;
                bool labelled = false;
                for (const auto& [k, f] : e.items()) {
                    if (!f.is_string()) continue;
                    if (!l.empty()) l += ',';
                    l += sanitise(k) + "=\"" + escape_label(f.get<std::string>()) + "\"";
                    labelled = true;
                }
                if (!labelled) {
                    if (!l.empty()) l += ',';
                    l += "index=\"" + std::to_string(i) + "\"";
                }
                walk(e, name, l, out);
            } else if (e.is_number()) {
                std::string l = labels;
                if (!l.empty()) l += ',';
                l += "index=\"" + std::to_string(i) + "\"";
                walk(e, name, l, out);
            }
        }
    }
}

} // namespace

std::string to_prometheus(const Json& stats, const std::string& prefix) {
    Series series;
    walk(stats, sanitise(prefix), "", series);
    std::string text;
    for (const auto& [name, lines] : series) {
        text += "# TYPE " + name + " gauge\n";
        for (const auto& l : lines) text += l + "\n";
    }
    return text;
}

namespace {

tcp::endpoint parse_endpoint(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos)
        throw std::runtime_error("metrics: expected ADDRESS:PORT, got '" + listen + "'");
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error("metrics: not an address: '" + host + "'");
    int port = -1;
    try {
        port = std::stoi(listen.substr(colon + 1));
    } catch (...) {
    }
    if (port < 0 || port > 65535) throw std::runtime_error("metrics: bad port in '" + listen + "'");
    return {addr, static_cast<unsigned short>(port)};
}

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
    const auto ep = parse_endpoint(listen);
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

void MetricsServer::accept() {
    acceptor_.async_accept(
        [this, alive = alive_](const boost::system::error_code& ec, tcp::socket s) {
            if (!*alive) return;
            if (!ec) std::make_shared<HttpConn>(std::move(s), render_)->start();
            if (acceptor_.is_open()) accept();
        });
}

} // namespace rsfwd::api
