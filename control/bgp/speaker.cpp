// control/bgp/speaker.cpp — listeners and the peer registry. Why: sessions are per peer, but a
// listening socket is per local address (several peers share one Route Server instance IP), so
// the speaker accepts, identifies the peer by (local address, remote address), and hands the
// socket over. Unknown sources are closed before a byte is read ("only configured peers").
#include "control/bgp/speaker.hpp"

#include "control/bgp/session.hpp"
#include "control/log_limit.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <map>
#include <stdexcept>
#include <system_error>

namespace rsfwd::bgp {

bool set_md5_key(int fd, const IpAddr& peer, const std::string& key, std::string& error);
asio::ip::address to_asio_address(const IpAddr& a);
IpAddr from_asio_address(const asio::ip::address& a);

namespace {

struct Listener {
    Listener(asio::io_context& io, IpAddr a) : acceptor(io), addr(a) {}
    tcp::acceptor acceptor;
    IpAddr addr;
    bool stopped = false;
};

} // namespace

struct Speaker::Impl {
    Impl(asio::io_context& i, SpeakerHandler& h, SpeakerOptions o) : io(i), handler(h), opts(o) {}

    asio::io_context& io;
    SpeakerHandler& handler;
    SpeakerOptions opts;
    bool started = false;
    std::map<std::string, std::shared_ptr<Session>> sessions;
    std::map<IpAddr, std::shared_ptr<Listener>> listeners;
    std::shared_ptr<TransitStore> transit = std::make_shared<TransitStore>(); // RFC 4271 §5
    // Connections from unconfigured sources: closed before any session state exists, counted,
    // and logged once per source and window (a scan must not flood the log).
    std::uint64_t refused_unconfigured = 0;
    TimedLogLimit log_limit{io, std::chrono::seconds(10), 64};

    std::shared_ptr<Session> find(const std::string& name) const {
        auto it = sessions.find(name);
        return it == sessions.end() ? nullptr : it->second;
    }

    void open_listener(const IpAddr& addr) {
        if (!opts.listen || listeners.count(addr)) return;
        auto l = std::make_shared<Listener>(io, addr);
        const tcp::endpoint ep(to_asio_address(addr), opts.listen_port);
        boost::system::error_code ec;
        l->acceptor.open(ep.protocol(), ec);
        if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) l->acceptor.bind(ep, ec);
        if (!ec) {
            // The SYN-ACK leaves with the listener's TTL: 255, so that GTSM peers (RFC 5082)
            // accept it. Each accepted socket gets its peer's TTL right after accept.
            const int ttl = 255;
            const int fd = l->acceptor.native_handle();
            if (addr.is_v4())
                ::setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
            else
                ::setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
            l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            throw std::system_error(
                ec.value(), std::generic_category(),
                fmt::format("bgp: cannot listen on {} port {}", addr.str(), opts.listen_port));
        }
        listeners[addr] = l;
        for (const auto& [name, s] : sessions) {
            if (s->config().local_address == addr) set_listener_key(*l, s->config());
        }
        spdlog::info("bgp: listening on {} port {}", addr.str(), opts.listen_port);
        accept(l);
    }

    static void set_listener_key(Listener& l, const PeerConfig& cfg) {
        if (cfg.md5_key.empty()) return;
        std::string error;
        if (!set_md5_key(l.acceptor.native_handle(), cfg.remote_address, cfg.md5_key, error)) {
            spdlog::warn("bgp {}: listener: {}", cfg.name, error);
        }
    }

    void accept(const std::shared_ptr<Listener>& l) {
        l->acceptor.async_accept([this, l](const boost::system::error_code& ec, tcp::socket sock) {
            if (l->stopped) return;
            if (ec) {
                spdlog::warn("bgp: accept on {}: {}", l->addr.str(), ec.message());
                if (ec == asio::error::operation_aborted) return;
            } else {
                dispatch(l->addr, std::move(sock));
            }
            accept(l);
        });
    }

    void dispatch(const IpAddr& local, tcp::socket sock) {
        boost::system::error_code ec;
        const auto remote_ep = sock.remote_endpoint(ec);
        if (ec) return;
        const IpAddr remote = from_asio_address(remote_ep.address());
        for (const auto& [name, s] : sessions) {
            const auto& cfg = s->config();
            if (cfg.remote_address == remote && cfg.local_address == local) {
                s->accept(std::move(sock));
                return;
            }
        }
        ++refused_unconfigured;
        sock.close(ec);
        (void)log_limit.log(spdlog::level::info, remote.str(),
                            fmt::format("bgp: connection from unconfigured {} to {} refused ({} "
                                        "refused so far)",
                                        remote.str(), local.str(), refused_unconfigured));
    }
};

Speaker::Speaker(asio::io_context& io, SpeakerHandler& handler, SpeakerOptions opts)
    : impl_(std::make_unique<Impl>(io, handler, opts)) {}

Speaker::~Speaker() {
    for (auto& [addr, l] : impl_->listeners) {
        l->stopped = true;
        boost::system::error_code ig;
        l->acceptor.close(ig);
    }
    for (auto& [name, s] : impl_->sessions) s->stop(err::admin_shutdown);
}

void Speaker::add_peer(const PeerConfig& cfg) {
    if (cfg.name.empty()) throw std::invalid_argument("bgp: peer without a name");
    if (impl_->sessions.count(cfg.name)) {
        throw std::invalid_argument("bgp: duplicate peer name " + cfg.name);
    }
    if (!cfg.local_address.valid() || !cfg.remote_address.valid()) {
        throw std::invalid_argument("bgp " + cfg.name + ": local and remote address required");
    }
    if (cfg.local_address.family != cfg.remote_address.family) {
        throw std::invalid_argument("bgp " + cfg.name + ": local/remote address family differ");
    }
    if (cfg.remote_as == 0 || cfg.local_as == 0) {
        throw std::invalid_argument("bgp " + cfg.name + ": local and remote AS required");
    }
    if (cfg.router_id == 0 && !cfg.local_address.is_v4()) {
        throw std::invalid_argument("bgp " + cfg.name + ": router id required with IPv6");
    }
    if (cfg.hold_time == 1 || cfg.hold_time == 2) {
        throw std::invalid_argument("bgp " + cfg.name + ": hold time must be 0 or >= 3");
    }
    for (const auto& [name, s] : impl_->sessions) {
        if (s->config().remote_address == cfg.remote_address &&
            s->config().local_address == cfg.local_address) {
            throw std::invalid_argument("bgp " + cfg.name + ": same addresses as peer " + name);
        }
    }
    auto s = std::make_shared<Session>(impl_->io, impl_->handler, cfg, impl_->transit);
    impl_->sessions[cfg.name] = s;
    if (impl_->started) {
        if (auto it = impl_->listeners.find(cfg.local_address); it != impl_->listeners.end()) {
            Impl::set_listener_key(*it->second, cfg);
        } else {
            impl_->open_listener(cfg.local_address);
        }
        s->start();
    }
}

void Speaker::remove_peer(const std::string& name) {
    auto it = impl_->sessions.find(name);
    if (it == impl_->sessions.end()) return;
    auto s = it->second;
    impl_->sessions.erase(it);
    s->stop(err::peer_deconfigured);
}

void Speaker::start() {
    if (impl_->started) return;
    impl_->started = true;
    for (const auto& [name, s] : impl_->sessions) impl_->open_listener(s->config().local_address);
    for (const auto& [name, s] : impl_->sessions) s->start();
}

void Speaker::stop() {
    for (auto& [addr, l] : impl_->listeners) {
        l->stopped = true;
        boost::system::error_code ig;
        l->acceptor.close(ig);
    }
    impl_->listeners.clear();
    for (auto& [name, s] : impl_->sessions) s->stop(err::admin_shutdown);
    impl_->started = false;
}

bool Speaker::advertise(const std::string& peer, std::span<const Route> routes) {
    auto s = impl_->find(peer);
    return s && s->advertise(routes);
}

bool Speaker::withdraw(const std::string& peer, std::span<const Prefix> prefixes) {
    auto s = impl_->find(peer);
    return s && s->withdraw(prefixes);
}

bool Speaker::request_refresh(const std::string& peer) {
    auto s = impl_->find(peer);
    return s && s->request_refresh();
}

bool Speaker::reset_peer(const std::string& peer) {
    auto s = impl_->find(peer);
    if (!s) return false;
    s->reset();
    return true;
}

std::uint64_t Speaker::refused_unconfigured() const noexcept {
    return impl_->refused_unconfigured;
}

std::vector<SessionInfo> Speaker::sessions() const {
    std::vector<SessionInfo> out;
    out.reserve(impl_->sessions.size());
    for (const auto& [name, s] : impl_->sessions) out.push_back(s->info());
    return out;
}

std::optional<SessionInfo> Speaker::session(const std::string& peer) const {
    auto s = impl_->find(peer);
    if (!s) return std::nullopt;
    return s->info();
}

} // namespace rsfwd::bgp
