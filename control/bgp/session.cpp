// control/bgp/session.cpp — the per-peer FSM. Why it looks like this:
// - Connections, not the session, carry OpenSent/OpenConfirm: during a collision (§6.8) two
//   connections to one peer live side by side until the BGP identifiers decide.
// - Every asynchronous completion re-checks `closed`/`stopped_` first: a handler callback may
//   remove the peer, and a peer may close at any moment. Nothing a peer sends can throw out of
//   here; decode errors become NOTIFICATIONs or withdrawals (RFC 7606), never exceptions.
// - The hold timer is not re-armed per message (that would queue a cancelled wait per UPDATE
//   during a full-table feed): it fires at the deadline and re-arms for the time still left.
#include "control/bgp/session.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace rsfwd::bgp {

namespace {

constexpr std::chrono::seconds open_hold{240}; // §8: large hold timer while waiting for OPEN
constexpr std::size_t read_buffer = 64 * 1024;

asio::ip::address to_asio(const IpAddr& a) {
    if (a.is_v4()) return asio::ip::address_v4(a.v4_host());
    asio::ip::address_v6::bytes_type b;
    std::copy(a.bytes.begin(), a.bytes.end(), b.begin());
    return asio::ip::address_v6(b);
}

IpAddr from_asio(const asio::ip::address& a) {
    if (a.is_v4()) return IpAddr::v4(a.to_v4().to_uint());
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped())
        return IpAddr::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_uint());
    std::array<std::uint8_t, 16> b{};
    auto bytes = v6.to_bytes();
    std::copy(bytes.begin(), bytes.end(), b.begin());
    return IpAddr::v6(b);
}

std::string errno_text(int e) {
    return std::error_code(e, std::generic_category()).message();
}

} // namespace

// Exposed to speaker.cpp through these declarations (defined here, used for the listener too).
bool set_md5_key(int fd, const IpAddr& peer, const std::string& key, std::string& error);
asio::ip::address to_asio_address(const IpAddr& a) {
    return to_asio(a);
}
IpAddr from_asio_address(const asio::ip::address& a) {
    return from_asio(a);
}

bool set_md5_key(int fd, const IpAddr& peer, const std::string& key, std::string& error) {
    tcp_md5sig sig{};
    if (key.size() > TCP_MD5SIG_MAXKEYLEN) {
        error = "TCP MD5 key longer than 80 bytes";
        return false;
    }
    if (peer.is_v4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&sig.tcpm_addr);
        sin->sin_family = AF_INET;
        std::memcpy(&sin->sin_addr, peer.bytes.data(), 4);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&sig.tcpm_addr);
        sin6->sin6_family = AF_INET6;
        std::memcpy(&sin6->sin6_addr, peer.bytes.data(), 16);
    }
    sig.tcpm_keylen = static_cast<std::uint16_t>(key.size());
    std::memcpy(sig.tcpm_key, key.data(), key.size());
    if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) != 0) {
        error = "setsockopt(TCP_MD5SIG): " + errno_text(errno);
        return false;
    }
    return true;
}

std::string_view to_string(SessionState s) noexcept {
    switch (s) {
    case SessionState::idle:
        return "Idle";
    case SessionState::connect:
        return "Connect";
    case SessionState::active:
        return "Active";
    case SessionState::open_sent:
        return "OpenSent";
    case SessionState::open_confirm:
        return "OpenConfirm";
    case SessionState::established:
        return "Established";
    }
    return "?";
}

Connection::Connection(asio::io_context& io, tcp::socket s, bool out, std::uint64_t i)
    : sock(std::move(s)), outgoing(out), id(i), rbuf(read_buffer), last_rx(Clock::now()),
      hold_timer(io), keepalive_timer(io), close_timer(io) {}

// ---------------------------------------------------------------------------------------------
// Transit attributes (RFC 4271 §5)
// ---------------------------------------------------------------------------------------------

void TransitStore::put(const void* from, const Route& r, const Attrs& attrs) {
    auto& v = by_prefix_[r.prefix];
    std::erase_if(v, [&](const Entry& e) { return e.from == from; });
    v.push_back(Entry{from, r.as_path.str(), attrs});
}

void TransitStore::erase(const void* from, const Prefix& p) {
    auto it = by_prefix_.find(p);
    if (it == by_prefix_.end()) return;
    std::erase_if(it->second, [&](const Entry& e) { return e.from == from; });
    if (it->second.empty()) by_prefix_.erase(it);
}

void TransitStore::erase_all(const void* from) {
    for (auto it = by_prefix_.begin(); it != by_prefix_.end();) {
        std::erase_if(it->second, [&](const Entry& e) { return e.from == from; });
        it = it->second.empty() ? by_prefix_.erase(it) : std::next(it);
    }
}

TransitStore::Attrs TransitStore::find(const void* to, const Route& r) const {
    auto it = by_prefix_.find(r.prefix);
    if (it == by_prefix_.end()) return nullptr;
    const auto out = r.as_path.str();
    for (const auto& e : it->second) {
        if (e.from == to) continue; // never back to where it came from
        const bool suffix = e.path.empty() || out == e.path ||
                            (out.size() > e.path.size() &&
                             out.compare(out.size() - e.path.size(), e.path.size(), e.path) == 0 &&
                             out[out.size() - e.path.size() - 1] == ' ');
        if (suffix) return e.attrs;
    }
    return nullptr;
}

Session::Session(asio::io_context& io, SpeakerHandler& handler, PeerConfig cfg,
                 std::shared_ptr<TransitStore> transit)
    : io_(io), handler_(handler), cfg_(std::move(cfg)), ebgp_(cfg_.local_as != cfg_.remote_as),
      retry_timer_(io), transit_(transit ? std::move(transit) : std::make_shared<TransitStore>()) {}

Session::~Session() = default;

std::uint32_t Session::router_id() const noexcept {
    if (cfg_.router_id != 0) return cfg_.router_id;
    return cfg_.local_address.is_v4() ? cfg_.local_address.v4_host() : 0;
}

SessionState Session::state() const noexcept {
    if (est_) return SessionState::established;
    SessionState s = base_state_;
    bool any = false;
    for (const auto& c : conns_) {
        if (!any || c->state > s) s = c->state;
        any = true;
    }
    return s;
}

void Session::start() {
    if (!stopped_) return;
    stopped_ = false;
    since_ = Clock::now();
    if (cfg_.passive)
        base_state_ = SessionState::active;
    else
        start_connect();
}

void Session::stop(std::uint8_t cease_subcode) {
    if (stopped_) return;
    stopped_ = true;
    retry_timer_.cancel();
    if (connecting_) {
        boost::system::error_code ig;
        connecting_->close(ig);
        connecting_.reset();
    }
    auto all = conns_;
    for (const auto& c : all) {
        c->closed = true; // no on_down: the owner stopped us
        close_conn(c, Notification{err::cease, cease_subcode, {}}, "stopped");
    }
    conns_.clear();
    est_.reset();
    held_.clear();
    advertised_.clear();
    pending_.clear();
    pending_transit_.clear();
    base_state_ = SessionState::idle;
}

void Session::reset() {
    if (stopped_) return;
    auto all = conns_;
    for (const auto& c : all) {
        close_conn(c, Notification{err::cease, err::admin_reset, {}}, "administrative reset",
                   cfg_.connect_retry);
    }
}

// ---------------------------------------------------------------------------------------------
// Connecting and accepting
// ---------------------------------------------------------------------------------------------

void Session::apply_socket_options(tcp::socket& sock, bool before_connect) {
    const int fd = sock.native_handle();
    const bool v6 = cfg_.remote_address.is_v6();
    std::string error;
    if (before_connect && !cfg_.md5_key.empty() &&
        !set_md5_key(fd, cfg_.remote_address, cfg_.md5_key, error)) {
        (void)log_limit_.log(spdlog::level::warn, "md5",
                             fmt::format("bgp {}: {}", cfg_.name, error));
        last_error_ = error;
    }
    // E3 / RFC 5082: the TTL we send with, and the minimum we accept.
    int ttl = cfg_.gtsm ? 255 : cfg_.multihop_ttl > 0 ? cfg_.multihop_ttl : ebgp_ ? 1 : 64;
    ttl = std::clamp(ttl, 1, 255);
    if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, &ttl,
                   sizeof ttl) != 0) {
        (void)log_limit_.log(
            spdlog::level::warn, "ttl",
            fmt::format("bgp {}: cannot set TTL {}: {}", cfg_.name, ttl, errno_text(errno)));
    }
    if (cfg_.gtsm) {
        int min = std::clamp(256 - std::max(cfg_.gtsm_hops, 1), 1, 255);
        if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MINHOPCOUNT : IP_MINTTL, &min,
                       sizeof min) != 0) {
            (void)log_limit_.log(
                spdlog::level::warn, "minttl",
                fmt::format("bgp {}: cannot set minimum TTL: {}", cfg_.name, errno_text(errno)));
        }
    }
    if (!before_connect) {
        boost::system::error_code ig;
        sock.set_option(tcp::no_delay(true), ig);
    }
}

void Session::start_connect() {
    if (stopped_ || cfg_.passive || est_ || connecting_) return;
    if (Clock::now() < idle_until_) {
        schedule_restart(
            std::chrono::duration_cast<std::chrono::seconds>(idle_until_ - Clock::now()) +
            std::chrono::seconds(1));
        return;
    }
    if (conns_.empty()) {
        base_state_ = SessionState::connect;
        since_ = Clock::now();
    }
    auto sock = std::make_shared<tcp::socket>(io_);
    boost::system::error_code ec;
    const auto local = to_asio(cfg_.local_address);
    sock->open(local.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (!ec) {
        apply_socket_options(*sock, true);
        sock->bind(tcp::endpoint(local, 0), ec);
    }
    if (ec) {
        last_error_ = "connect: " + ec.message();
        // Every connect_retry while the address is missing: one line per window.
        (void)log_limit_.log(spdlog::level::warn, "connect",
                             fmt::format("bgp {}: {}", cfg_.name, last_error_));
        schedule_restart(cfg_.connect_retry);
        return;
    }
    connecting_ = sock;
    auto self = shared_from_this();
    sock->async_connect(
        tcp::endpoint(to_asio(cfg_.remote_address), cfg_.remote_port),
        [self, sock](const boost::system::error_code& e) { self->on_connected(sock, e); });
    // ConnectRetry timer: abandons a hanging connect and tries again.
    retry_timer_.expires_after(cfg_.connect_retry);
    retry_timer_.async_wait([self](const boost::system::error_code& e) {
        if (e || self->stopped_) return;
        if (self->connecting_) {
            boost::system::error_code ig;
            self->connecting_->close(ig);
            self->connecting_.reset();
        }
        self->start_connect();
    });
}

void Session::on_connected(const std::shared_ptr<tcp::socket>& sock,
                           const boost::system::error_code& ec) {
    if (sock != connecting_) return; // abandoned attempt
    connecting_.reset();
    if (stopped_) return;
    if (ec) {
        last_error_ = "connect: " + ec.message();
        spdlog::debug("bgp {}: {}", cfg_.name, last_error_);
        if (conns_.empty() && !est_) {
            base_state_ = SessionState::active; // the retry timer will try again
        }
        return;
    }
    retry_timer_.cancel();
    if (est_) { // a connection was accepted and got Established meanwhile
        boost::system::error_code ig;
        sock->close(ig);
        return;
    }
    add_connection(std::move(*sock), true);
}

void Session::accept(tcp::socket sock) {
    auto reject = [&](std::uint8_t subcode, const char* why) {
        (void)log_limit_.log(
            spdlog::level::info, why,
            fmt::format("bgp {}: incoming connection rejected: {}", cfg_.name, why));
        auto c = std::make_shared<Connection>(io_, std::move(sock), false, next_conn_id_++);
        c->closed = true;
        c->push(encode_notification(Notification{err::cease, subcode, {}}));
        c->close_after_write = true;
        do_write(c);
    };
    if (stopped_) return reject(err::admin_shutdown, "session stopped");
    if (Clock::now() < idle_until_) return reject(err::connection_rejected, "idle hold");
    if (est_) {
        ++collisions_;
        note_event("incoming connection refused with Cease / Connection Collision Resolution: "
                   "already Established (§6.8)");
        return reject(err::collision_resolution, "already Established (§6.8)");
    }
    // At most one connection per direction: a new incoming one replaces an older incoming one.
    for (const auto& c : std::vector<ConnPtr>(conns_)) {
        if (!c->outgoing) close_conn(c, std::nullopt, "replaced by a new incoming connection");
    }
    apply_socket_options(sock, false);
    add_connection(std::move(sock), false);
}

void Session::add_connection(tcp::socket sock, bool outgoing) {
    if (outgoing) apply_socket_options(sock, false);
    auto c = std::make_shared<Connection>(io_, std::move(sock), outgoing, next_conn_id_++);
    c->dctx.ebgp = ebgp_;
    conns_.push_back(c);
    since_ = Clock::now();
    spdlog::debug("bgp {}: TCP up ({}), sending OPEN", cfg_.name,
                  outgoing ? "outgoing" : "incoming");
    send(c, encode_open(make_open()));
    c->state = SessionState::open_sent;
    arm_hold(c, open_hold);
    read(c);
}

void Session::schedule_restart(std::chrono::seconds delay) {
    if (stopped_) return;
    if (cfg_.passive) {
        base_state_ = SessionState::active;
        return;
    }
    base_state_ = SessionState::idle;
    auto self = shared_from_this();
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([self](const boost::system::error_code& e) {
        if (!e && !self->stopped_) self->start_connect();
    });
}

OpenMsg Session::make_open() const {
    OpenMsg o;
    o.my_as = cfg_.local_as > 0xFFFF ? as_trans : static_cast<std::uint16_t>(cfg_.local_as);
    o.hold_time = cfg_.hold_time;
    o.bgp_id = router_id();
    o.caps.multiprotocol = cfg_.families;
    o.caps.route_refresh = true;
    o.caps.enhanced_route_refresh = cfg_.enhanced_route_refresh;
    o.caps.four_octet_as = cfg_.local_as;
    return o;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

void Session::read(const ConnPtr& c) {
    if (c->closed) return;
    auto self = shared_from_this();
    c->sock.async_read_some(
        asio::buffer(c->rbuf.data() + c->rlen, c->rbuf.size() - c->rlen),
        [self, c](const boost::system::error_code& ec, std::size_t n) { self->on_read(c, ec, n); });
}

void Session::on_read(const ConnPtr& c, const boost::system::error_code& ec, std::size_t n) {
    if (c->closed) return;
    if (ec) {
        close_conn(c, std::nullopt,
                   ec == asio::error::eof ? "peer closed the connection" : "read: " + ec.message());
        return;
    }
    c->rlen += n;
    c->last_rx = Clock::now();
    std::size_t off = 0;
    while (!c->closed && c->rlen - off >= header_len) {
        auto hc = check_header(std::span(c->rbuf.data() + off, header_len));
        if (hc.error) {
            close_conn(c, hc.error->notification, hc.error->problems.front());
            return;
        }
        if (c->rlen - off < hc.length) break;
        handle_message(c, std::span(c->rbuf.data() + off, hc.length));
        off += hc.length;
    }
    if (c->closed) return;
    std::memmove(c->rbuf.data(), c->rbuf.data() + off, c->rlen - off);
    c->rlen -= off;
    read(c);
}

void Session::fsm_error(const ConnPtr& c, const char* what) {
    // RFC 6608 subcodes: 1 OpenSent, 2 OpenConfirm, 3 Established.
    const std::uint8_t sub = c->state == SessionState::open_sent      ? 1
                             : c->state == SessionState::open_confirm ? 2
                                                                      : 3;
    close_conn(c, Notification{err::fsm, sub, {}},
               fmt::format("unexpected {} in {}", what, to_string(c->state)));
}

void Session::handle_message(const ConnPtr& c, std::span<const std::uint8_t> msg) {
    ++msgs_in_;
    auto res = decode_message(msg, c->dctx);
    if (res.action == ErrorAction::session_reset) {
        close_conn(c, res.notification,
                   res.problems.empty() ? std::string("malformed message") : res.problems.front());
        return;
    }
    auto& m = *res.message;
    if (auto* o = std::get_if<OpenMsg>(&m)) {
        if (c->state != SessionState::open_sent) return fsm_error(c, "OPEN");
        return on_open(c, *o);
    }
    if (std::holds_alternative<KeepaliveMsg>(m)) {
        if (c->state == SessionState::open_sent) return fsm_error(c, "KEEPALIVE");
        if (c->state == SessionState::open_confirm) on_established(c);
        return;
    }
    if (auto* u = std::get_if<UpdateMsg>(&m)) {
        if (c->state != SessionState::established) return fsm_error(c, "UPDATE");
        return on_update(c, std::move(*u), res);
    }
    if (auto* n = std::get_if<Notification>(&m)) {
        // The peer resolving a collision against this connection (§6.8) is an event.
        const bool collision =
            c != est_ && n->code == err::cease && n->subcode == err::collision_resolution;
        close_conn(c, std::nullopt,
                   (collision ? "replaced by the peer's other connection: received NOTIFICATION "
                              : "received NOTIFICATION ") +
                       n->str());
        return;
    }
    if (auto* rr = std::get_if<RouteRefreshMsg>(&m)) {
        if (c->state != SessionState::established) return fsm_error(c, "ROUTE-REFRESH");
        return on_route_refresh(c, *rr);
    }
}

void Session::on_open(const ConnPtr& c, const OpenMsg& o) {
    if (auto n = validate_open(o, cfg_.remote_as, router_id())) {
        close_conn(
            c, *n,
            fmt::format("OPEN from AS {} id {} rejected", o.asn(), IpAddr::v4(o.bgp_id).str()));
        return;
    }
    c->peer_open = o;
    c->hold = std::min(cfg_.hold_time, o.hold_time); // E4: RFC 4271 negotiation
    c->dctx.four_octet_as = o.caps.four_octet_as.has_value();
    c->dctx.ebgp = ebgp_;
    c->dctx.peer_as = ebgp_ && cfg_.enforce_first_as ? cfg_.remote_as : 0;
    c->state = SessionState::open_confirm;
    send(c, encode_keepalive());
    if (c->hold > 0)
        arm_hold(c, std::chrono::seconds(c->hold));
    else
        c->hold_timer.cancel();
    arm_keepalive(c);

    // §6.8 connection collision: the connection opened by the side with the higher BGP
    // identifier survives.
    for (const auto& other : std::vector<ConnPtr>(conns_)) {
        if (other == c || other->closed) continue;
        if (other->state == SessionState::established) {
            close_conn(c, Notification{err::cease, err::collision_resolution, {}},
                       "collision with an Established connection");
            return;
        }
        if (other->state != SessionState::open_confirm) continue;
        ConnPtr loser;
        if (c->outgoing == other->outgoing) {
            loser = other; // same direction: keep the newer one
        } else {
            const bool local_lower = router_id() < o.bgp_id;
            loser = local_lower ? (c->outgoing ? c : other) : (c->outgoing ? other : c);
        }
        close_conn(loser, Notification{err::cease, err::collision_resolution, {}},
                   "connection collision resolution");
        if (loser == c) return;
    }
}

void Session::on_established(const ConnPtr& c) {
    c->state = SessionState::established;
    for (const auto& other : std::vector<ConnPtr>(conns_)) {
        if (other != c) {
            close_conn(other, Notification{err::cease, err::collision_resolution, {}},
                       "connection collision resolution");
        }
    }
    if (connecting_) {
        boost::system::error_code ig;
        connecting_->close(ig);
        connecting_.reset();
    }
    retry_timer_.cancel();
    est_ = c;
    since_ = Clock::now();
    ++established_count_;
    held_.clear();
    advertised_.clear();
    pending_.clear();
    pending_transit_.clear();
    stalled_ = false;
    prefixes_received_ = 0;
    const auto& o = *c->peer_open;
    remote_id_ = o.bgp_id;
    ectx_.four_octet_as = c->dctx.four_octet_as;
    ectx_.ebgp = ebgp_;
    families_.clear();
    // RFC 4760 §8: a peer without the MP capability speaks IPv4 unicast only.
    const auto peer_fams = o.caps.multiprotocol.empty()
                               ? std::vector<AfiSafi>{AfiSafi{afi_ipv4, safi_unicast}}
                               : o.caps.multiprotocol;
    for (const auto& f : cfg_.families) {
        if (std::find(peer_fams.begin(), peer_fams.end(), f) != peer_fams.end()) {
            families_.push_back(f);
        }
    }
    peer_rr_ = o.caps.route_refresh;
    enhanced_rr_ = cfg_.enhanced_route_refresh && o.caps.enhanced_route_refresh;
    spdlog::info("bgp {}: Established with AS {} id {} (hold {} s)", cfg_.name, o.asn(),
                 IpAddr::v4(o.bgp_id).str(), c->hold);
    send_eor_ = true; // RFC 4724: End-of-RIB after the initial table
    handler_.on_established(cfg_.name);
    if (!c->closed && est_ == c) post_flush();
}

void Session::on_update(const ConnPtr& c, UpdateMsg u, const DecodeResult& res) {
    ++updates_in_;
    if (!res.problems.empty()) {
        // One line per kind of problem and window, with a count: a peer sending a bad attribute
        // on every UPDATE of a feed must not write a line per UPDATE.
        (void)log_limit_.log(spdlog::level::warn, fmt::format("update {}", to_string(res.action)),
                             fmt::format("bgp {}: UPDATE {}: {}", cfg_.name, to_string(res.action),
                                         fmt::join(res.problems, "; ")));
    }
    if (res.action == ErrorAction::treat_as_withdraw) ++taw_;
    std::vector<Prefix> withdrawn;
    for (const auto& p : u.withdrawn) {
        if (held_.erase(p) != 0) withdrawn.push_back(p);
        if (!transit_->empty()) transit_->erase(this, p);
    }
    // E8: routes held from the peer plus the routes in this UPDATE (re-announcements count).
    if (cfg_.max_prefixes != 0 && held_.size() + u.announced.size() > cfg_.max_prefixes) {
        std::vector<std::uint8_t> data{0, 1, 1}; // RFC 4486: AFI, SAFI, upper bound
        if (!u.announced.empty() && u.announced.front().prefix.family() == Family::v6) data[1] = 2;
        for (int s = 24; s >= 0; s -= 8) {
            data.push_back(static_cast<std::uint8_t>(cfg_.max_prefixes >> s));
        }
        close_conn(c, Notification{err::cease, err::max_prefixes, std::move(data)},
                   fmt::format("maximum number of prefixes reached ({} held + {} in UPDATE > {})",
                               held_.size(), u.announced.size(), cfg_.max_prefixes),
                   cfg_.max_prefix_restart);
        return;
    }
    std::vector<Route> announced;
    announced.reserve(u.announced.size());
    // RFC 4271 §5: unknown optional transitive attributes travel on with these routes (the
    // decoder already set their Partial bit). Stored before the handler runs, because the
    // owner re-advertises from inside on_routes.
    TransitStore::Attrs transit;
    if (!u.unknown_transitive.empty()) {
        transit = std::make_shared<const std::vector<RawAttr>>(std::move(u.unknown_transitive));
    }
    for (auto& r : u.announced) {
        if (!family_ok(r.prefix.family())) continue; // family not negotiated: ignore
        held_[r.prefix] = false;
        if (transit)
            transit_->put(this, r, transit);
        else if (!transit_->empty())
            transit_->erase(this, r.prefix); // implicit withdraw of the earlier attributes
        announced.push_back(std::move(r));
    }
    prefixes_received_ += announced.size();
    if (announced.empty() && withdrawn.empty()) return;
    handler_.on_routes(cfg_.name, std::move(announced), std::move(withdrawn));
}

void Session::on_route_refresh(const ConnPtr& c, const RouteRefreshMsg& rr) {
    const auto it = std::find(families_.begin(), families_.end(), rr.family);
    if (it == families_.end()) return; // RFC 2918 §4: ignore a family not negotiated
    const Family fam = rr.family.afi == afi_ipv6 ? Family::v6 : Family::v4;
    if (rr.subtype == 1) { // BoRR: everything held in the family becomes stale
        for (auto& [p, stale] : held_) {
            if (p.family() == fam) stale = true;
        }
        return;
    }
    if (rr.subtype == 2) { // EoRR: whatever is still stale is withdrawn
        std::vector<Prefix> gone;
        for (auto i = held_.begin(); i != held_.end();) {
            if (i->second && i->first.family() == fam) {
                if (!transit_->empty()) transit_->erase(this, i->first);
                gone.push_back(i->first);
                i = held_.erase(i);
            } else {
                ++i;
            }
        }
        if (!gone.empty()) handler_.on_routes(cfg_.name, {}, std::move(gone));
        return;
    }
    spdlog::info("bgp {}: ROUTE-REFRESH received, re-sending Adj-RIB-Out", cfg_.name);
    if (enhanced_rr_) send(c, encode_route_refresh(RouteRefreshMsg{rr.family, 1}));
    // A10: the owner re-sends the whole Adj-RIB-Out; previously advertised prefixes are sent
    // again even when unchanged.
    advertised_.clear();
    handler_.on_route_refresh(cfg_.name);
    if (c->closed || est_ != c) return;
    flush();
    if (enhanced_rr_) send(c, encode_route_refresh(RouteRefreshMsg{rr.family, 2}));
}

// ---------------------------------------------------------------------------------------------
// Writing, timers, closing
// ---------------------------------------------------------------------------------------------

void Session::send(const ConnPtr& c, std::vector<std::uint8_t> bytes) {
    if (c->closed) return;
    ++msgs_out_;
    c->push(std::move(bytes));
    // The hard cap: flush() keeps UPDATEs near write_queue_high, so only what it does not pace
    // (one oversized batch, ROUTE-REFRESH replies, EoRs to a peer that never reads) gets here.
    // Memory is not given to such a peer: Cease / Out of Resources (RFC 4486), this session
    // only; close_conn() drops the unsent messages.
    if (c->wq_bytes > cfg_.write_queue_max) {
        ++write_queue_resets_;
        close_conn(c, Notification{err::cease, err::out_of_resources, {}},
                   fmt::format("write queue over {} bytes (the peer does not read)",
                               cfg_.write_queue_max));
        return;
    }
    if (c->in_flight == 0) do_write(c);
}

void Session::do_write(const ConnPtr& c) {
    if (c->wq.empty()) {
        if (c->close_after_write) {
            boost::system::error_code ig;
            c->sock.shutdown(tcp::socket::shutdown_both, ig);
            c->sock.close(ig);
            c->close_timer.cancel();
        }
        return;
    }
    std::vector<asio::const_buffer> bufs;
    std::size_t n = std::min<std::size_t>(c->wq.size(), 64);
    bufs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) bufs.push_back(asio::buffer(c->wq[i]));
    c->in_flight = n;
    std::weak_ptr<Session> weak = weak_from_this();
    asio::async_write(c->sock, bufs, [weak, c](const boost::system::error_code& ec, std::size_t) {
        const auto n = c->in_flight;
        c->in_flight = 0;
        for (std::size_t i = 0; i < n && !c->wq.empty(); ++i) c->pop_front();
        if (ec) {
            c->clear_queue();
            auto self = weak.lock();
            if (self && !c->closed) {
                self->close_conn(c, std::nullopt, "write: " + ec.message());
            } else {
                boost::system::error_code ig;
                c->sock.close(ig);
            }
            return;
        }
        auto self = weak.lock();
        // The write-queue cap: UPDATE generation paused at write_queue_high resumes once the
        // peer has read enough (flush() runs on the next loop turn, after this write restarts).
        if (self && self->stalled_ && c == self->est_ && !c->closed &&
            c->wq_bytes <= self->cfg_.write_queue_low) {
            self->stalled_ = false;
            self->post_flush();
        }
        // Session-free path: the write loop only needs the connection.
        if (c->wq.empty() && !c->close_after_write) return;
        if (self) {
            self->do_write(c);
        } else {
            boost::system::error_code ig;
            c->sock.close(ig);
        }
    });
}

void Session::arm_hold(const ConnPtr& c, std::chrono::seconds d) {
    auto self = shared_from_this();
    c->hold_timer.expires_at(c->last_rx + d);
    c->hold_timer.async_wait([self, c, d](const boost::system::error_code& ec) {
        if (ec || c->closed) return;
        const auto deadline = c->last_rx + d;
        if (Clock::now() < deadline) return self->arm_hold(c, d); // traffic came in meanwhile
        self->close_conn(c, Notification{err::hold_timer, 0, {}}, "hold timer expired");
    });
}

void Session::arm_keepalive(const ConnPtr& c) {
    if (c->hold == 0) return;
    const auto every = std::chrono::seconds(std::max(1, c->hold / 3));
    auto self = shared_from_this();
    c->keepalive_timer.expires_after(every);
    c->keepalive_timer.async_wait([self, c](const boost::system::error_code& ec) {
        if (ec || c->closed) return;
        // Any message resets the peer's hold timer: a KEEPALIVE behind queued messages adds
        // nothing, and skipping it keeps a non-reading peer's queue from growing (the cap).
        if (c->wq.empty()) self->send(c, encode_keepalive());
        self->arm_keepalive(c);
    });
}

void Session::note_event(std::string what) {
    spdlog::info("bgp {}: {}", cfg_.name, what);
    last_event_ = std::move(what);
}

void Session::close_conn(const ConnPtr& c, std::optional<Notification> n, const std::string& reason,
                         std::optional<std::chrono::seconds> idle) {
    const bool was_processing = !c->closed;
    c->closed = true;
    c->hold_timer.cancel();
    c->keepalive_timer.cancel();
    // §6.8: closing the losing connection of a collision (or a duplicate one) is how a healthy
    // session is kept, not a failure: an event, not last_error.
    const bool collision =
        c != est_ && (n ? n->code == err::cease && n->subcode == err::collision_resolution
                        : reason.rfind("replaced by", 0) == 0);
    std::string& note = collision ? last_event_ : last_error_;
    if (collision) ++collisions_;
    if (n) {
        note = fmt::format("sent {}: {}", n->str(), reason);
        // Keep what is being written, drop the rest, then the NOTIFICATION, then close.
        while (c->wq.size() > c->in_flight) c->pop_back();
        ++msgs_out_;
        c->push(encode_notification(*n));
        c->close_after_write = true;
        c->close_timer.expires_after(std::chrono::seconds(2));
        c->close_timer.async_wait([c](const boost::system::error_code& ec) {
            if (ec) return;
            boost::system::error_code ig;
            c->sock.close(ig);
        });
        if (c->in_flight == 0) do_write(c);
    } else {
        note = reason;
        boost::system::error_code ig;
        c->sock.shutdown(tcp::socket::shutdown_both, ig);
        c->sock.close(ig);
        c->clear_queue();
    }
    if (was_processing) {
        spdlog::info("bgp {}: connection closed: {}", cfg_.name, note);
    }
    std::erase(conns_, c);
    if (c == est_) {
        est_.reset();
        held_.clear();
        advertised_.clear();
        pending_.clear();
        pending_transit_.clear();
        transit_->erase_all(this);
        stalled_ = false;
        since_ = Clock::now();
        if (!stopped_) {
            schedule_restart(idle.value_or(cfg_.connect_retry));
            if (idle) idle_until_ = Clock::now() + *idle;
            auto self = shared_from_this();
            handler_.on_down(cfg_.name, reason);
        }
        return;
    }
    if (idle) idle_until_ = Clock::now() + *idle;
    if (conns_.empty() && !est_ && !stopped_) {
        since_ = Clock::now();
        if (!connecting_) schedule_restart(idle.value_or(cfg_.connect_retry));
    }
}

// ---------------------------------------------------------------------------------------------
// Advertising
// ---------------------------------------------------------------------------------------------

bool Session::family_ok(Family f) const {
    const std::uint16_t afi = f == Family::v6 ? afi_ipv6 : afi_ipv4;
    return std::any_of(families_.begin(), families_.end(),
                       [&](const AfiSafi& x) { return x.afi == afi && x.safi == safi_unicast; });
}

std::optional<Route> Session::export_route(const Route& r) const {
    if (!family_ok(r.prefix.family())) return std::nullopt;
    Route e = r;
    const Family fam = r.prefix.family();
    if (ebgp_) {
        // RFC 4271 §5.1.2 / E13: prepend our AS; §5.1.3: next hop self when configured.
        if (cfg_.prepend_local_as) e.as_path.prepend(cfg_.local_as);
        if (cfg_.next_hop_self && (cfg_.next_hop_self->family == fam || fam == Family::v4)) {
            e.next_hop = *cfg_.next_hop_self;
        }
        e.local_pref.reset();
    }
    if (!e.next_hop.valid()) {
        if (cfg_.local_address.family == fam)
            e.next_hop = cfg_.local_address;
        else
            return std::nullopt;
    }
    if (fam == Family::v6 && !e.next_hop.is_v6()) return std::nullopt;
    return e;
}

bool Session::advertise(std::span<const Route> routes) {
    if (!est_) return false;
    const bool transit = !transit_->empty();
    for (const auto& r : routes) {
        auto e = export_route(r);
        if (!e) continue;
        pending_[r.prefix] = std::move(*e);
        if (!transit) continue;
        // Matched on the path as the owner gives it (before our own prepend).
        if (auto a = transit_->find(this, r))
            pending_transit_[r.prefix] = std::move(a);
        else
            pending_transit_.erase(r.prefix);
    }
    post_flush();
    return true;
}

bool Session::withdraw(std::span<const Prefix> prefixes) {
    if (!est_) return false;
    for (const auto& p : prefixes) {
        pending_[p] = std::nullopt;
        if (!pending_transit_.empty()) pending_transit_.erase(p);
    }
    post_flush();
    return true;
}

bool Session::request_refresh() {
    if (!est_ || !peer_rr_) return false;
    const auto c = est_;
    for (const auto& f : families_) send(c, encode_route_refresh(RouteRefreshMsg{f, 0}));
    return true;
}

void Session::post_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    auto self = shared_from_this();
    asio::post(io_, [self] { self->flush(); });
}

void Session::flush() {
    flush_posted_ = false;
    if (!est_ || est_->closed) {
        pending_.clear();
        pending_transit_.clear();
        return;
    }
    // Encode in batches and stop at the write-queue cap: a peer that stops reading holds at
    // most write_queue_high bytes + one batch of ours; the rest stays in pending_, where later
    // changes to a prefix replace earlier ones (so it is bounded by the Adj-RIB-Out's size).
    // do_write() resumes us once the queue drained below write_queue_low.
    constexpr std::size_t batch = 8192;
    std::vector<Route> ann;
    std::vector<Prefix> wd;
    std::vector<const std::vector<RawAttr>*> transit; // parallel to ann, when any
    std::vector<TransitStore::Attrs> keep;            // holds them while encoding
    while (!pending_.empty()) {
        if (!est_ || est_->closed) return; // reset at the hard cap (send())
        if (est_->wq_bytes >= cfg_.write_queue_high) {
            if (!stalled_) {
                stalled_ = true;
                ++write_stalls_;
                spdlog::debug("bgp {}: write queue at {} bytes, {} changes wait for the peer",
                              cfg_.name, est_->wq_bytes, pending_.size());
            }
            return;
        }
        ann.clear();
        wd.clear();
        transit.clear();
        keep.clear();
        auto it = pending_.begin();
        for (std::size_t k = 0; k < batch && it != pending_.end(); ++k) {
            auto& [p, r] = *it;
            if (r) {
                advertised_.insert(p);
                if (!pending_transit_.empty()) {
                    const std::vector<RawAttr>* t = nullptr;
                    if (auto x = pending_transit_.find(p); x != pending_transit_.end()) {
                        keep.push_back(std::move(x->second));
                        t = keep.back().get();
                        pending_transit_.erase(x);
                    }
                    transit.resize(ann.size(), nullptr);
                    transit.push_back(t);
                }
                ann.push_back(std::move(*r));
            } else if (advertised_.erase(p) != 0) {
                wd.push_back(p);
            }
            it = pending_.erase(it);
        }
        std::size_t dropped = 0;
        if (!transit.empty()) transit.resize(ann.size(), nullptr);
        auto msgs = encode_updates(ann, transit, wd, ectx_, &dropped);
        if (dropped != 0) {
            (void)log_limit_.log(spdlog::level::warn, "oversized",
                                 fmt::format("bgp {}: {} routes not sent: attributes exceed "
                                             "4096 bytes",
                                             cfg_.name, dropped));
        }
        updates_out_ += msgs.size();
        const auto c = est_;
        for (auto& m : msgs) send(c, std::move(m));
    }
    if (!est_ || est_->closed) return;
    stalled_ = false;
    if (send_eor_) {
        send_eor_ = false;
        const auto c = est_;
        for (const auto& f : families_) send(c, encode_end_of_rib(f));
    }
}

SessionInfo Session::info() const {
    SessionInfo i;
    i.name = cfg_.name;
    i.remote_address = cfg_.remote_address;
    i.remote_as = cfg_.remote_as;
    i.state = state();
    i.uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - since_);
    i.remote_router_id = remote_id_;
    i.hold_time = est_ ? est_->hold : 0;
    i.route_refresh = peer_rr_;
    i.msgs_in = msgs_in_;
    i.msgs_out = msgs_out_;
    i.updates_in = updates_in_;
    i.updates_out = updates_out_;
    i.prefixes_received = prefixes_received_;
    i.prefixes_held = held_.size();
    i.prefixes_advertised = advertised_.size();
    i.treat_as_withdraw = taw_;
    i.established_count = established_count_;
    i.last_error = last_error_;
    i.last_event = last_event_;
    i.collisions = collisions_;
    i.write_stalls = write_stalls_;
    i.write_queue_resets = write_queue_resets_;
    i.write_queue_bytes = est_ ? est_->wq_bytes : 0;
    i.pending_changes = pending_.size();
    return i;
}

} // namespace rsfwd::bgp
