// tests/unit/bgp/test_session.cpp — the FSM over real loopback TCP sockets: two speakers talking
// to each other, and a hand-driven "raw" peer that sends exactly the bytes a test wants
// (wrong AS, malformed messages, too many prefixes, silence until the hold timer fires).
// Everything runs on one thread: the raw peer polls its socket between io_context turns.
#include "control/bgp/speaker.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>

using namespace rsfwd;
using namespace rsfwd::bgp;
using namespace std::chrono_literals;

namespace {

// Ports differ per process so parallel test runs do not collide.
std::uint16_t base_port() {
    static const std::uint16_t p = static_cast<std::uint16_t>(20000 + (::getpid() * 7) % 30000);
    return p;
}

struct Recorder : SpeakerHandler {
    std::map<std::string, int> established, downs, refreshes;
    std::map<std::string, std::map<Prefix, Route>> rib;
    std::map<std::string, std::string> last_down;
    std::function<void(const std::string&)> on_est_hook, on_refresh_hook;
    std::function<void(const std::string&, const std::vector<Route>&)> on_routes_hook;
    void on_established(const std::string& p) override {
        ++established[p];
        if (on_est_hook) on_est_hook(p);
    }
    void on_routes(const std::string& p, std::vector<Route> a, std::vector<Prefix> w) override {
        for (const auto& x : w) rib[p].erase(x);
        for (auto& r : a) rib[p][r.prefix] = r;
        if (on_routes_hook) on_routes_hook(p, a);
    }
    void on_down(const std::string& p, const std::string& reason) override {
        ++downs[p];
        last_down[p] = reason;
        rib[p].clear();
    }
    void on_route_refresh(const std::string& p) override {
        ++refreshes[p];
        if (on_refresh_hook) on_refresh_hook(p);
    }
};

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        io.run_one_for(20ms);
    }
    return true;
}

PeerConfig peer(const std::string& name, const char* local, std::uint32_t las, const char* remote,
                std::uint32_t ras, std::uint16_t rport) {
    PeerConfig p;
    p.name = name;
    p.local_address = *IpAddr::parse(local);
    p.local_as = las;
    p.remote_address = *IpAddr::parse(remote);
    p.remote_as = ras;
    p.remote_port = rport;
    p.connect_retry = 1s;
    return p;
}

Route route(const char* prefix, const char* nh, const char* path = "") {
    Route r;
    r.prefix = *Prefix::parse(prefix);
    r.next_hop = *IpAddr::parse(nh);
    r.as_path = *AsPath::parse(path);
    return r;
}

// A peer driven byte by byte from the test.
class RawPeer {
public:
    // rcvbuf > 0: a small receive buffer (set before connecting, so the window stays small),
    // for a peer that stops reading.
    RawPeer(boost::asio::io_context& io, const char* local, std::uint16_t port, int rcvbuf = 0)
        : io_(io) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        sockaddr_in l{};
        l.sin_family = AF_INET;
        inet_pton(AF_INET, local, &l.sin_addr);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&l), sizeof l) != 0) ADD_FAILURE() << "bind";
        sockaddr_in r{};
        r.sin_family = AF_INET;
        r.sin_port = htons(port);
        inet_pton(AF_INET, "127.0.0.1", &r.sin_addr);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&r), sizeof r) == 0;
    }
    ~RawPeer() { ::close(fd_); }
    bool connected() const { return connected_; }
    void send(const std::vector<std::uint8_t>& m) {
        ASSERT_EQ(::write(fd_, m.data(), m.size()), static_cast<ssize_t>(m.size()));
    }
    // Next message, or nullopt on EOF / timeout. Runs the io_context while waiting.
    std::optional<std::vector<std::uint8_t>> read(std::chrono::milliseconds limit = 10s) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (auto m = take()) return m;
            if (eof_) return std::nullopt;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 0) > 0) {
                std::uint8_t b[8192];
                const auto n = ::read(fd_, b, sizeof b);
                if (n <= 0)
                    eof_ = true;
                else
                    buf_.insert(buf_.end(), b, b + n);
                continue;
            }
            io_.run_one_for(10ms);
        }
        return std::nullopt;
    }
    // Reads until a message of `type` arrives (skipping others).
    std::optional<DecodeResult> read_type(MsgType type, std::chrono::milliseconds limit = 10s) {
        while (auto m = read(limit)) {
            if ((*m)[18] == static_cast<std::uint8_t>(type)) {
                DecodeContext c;
                c.four_octet_as = true;
                c.ebgp = false;
                return decode_message(*m, c);
            }
        }
        return std::nullopt;
    }
    bool closed(std::chrono::milliseconds limit = 10s) {
        while (read(limit)) {
        }
        return eof_;
    }
    // OPEN + KEEPALIVE exchange; returns false when the speaker refuses.
    bool establish(std::uint32_t asn, std::uint16_t hold = 90, std::uint32_t id = 0x0A000002) {
        OpenMsg o;
        o.my_as = static_cast<std::uint16_t>(asn);
        o.hold_time = hold;
        o.bgp_id = id;
        o.caps.four_octet_as = asn;
        o.caps.route_refresh = true;
        o.caps.multiprotocol = {AfiSafi{afi_ipv4, safi_unicast}};
        send(encode_open(o));
        auto open = read_type(MsgType::open);
        if (!open) return false;
        auto ka = read(5s);
        if (!ka || (*ka)[18] != static_cast<std::uint8_t>(MsgType::keepalive)) return false;
        send(encode_keepalive());
        return true;
    }

private:
    std::optional<std::vector<std::uint8_t>> take() {
        if (buf_.size() < header_len) return std::nullopt;
        const std::size_t len = (std::size_t{buf_[16]} << 8) | buf_[17];
        if (len < header_len || buf_.size() < len) return std::nullopt;
        std::vector<std::uint8_t> m(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(len));
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(len));
        return m;
    }
    boost::asio::io_context& io_;
    int fd_ = -1;
    bool connected_ = false;
    bool eof_ = false;
    std::vector<std::uint8_t> buf_;
};

std::vector<std::uint8_t> update_with(std::span<const Route> routes) {
    UpdateMsg u;
    u.announced.assign(routes.begin(), routes.end());
    return encode_update(u, EncodeContext{true, true});
}

// A speaker at 127.0.0.1 (AS 65515, passive) with one peer at `remote` (AS 65001).
struct Fixture {
    boost::asio::io_context io;
    Recorder rec;
    std::uint16_t port;
    Speaker sp;
    Fixture(std::uint16_t port_offset, std::vector<PeerConfig> peers)
        : port(static_cast<std::uint16_t>(base_port() + port_offset)),
          sp(io, rec, SpeakerOptions{port, true}) {
        for (auto& p : peers) {
            p.passive = true;
            sp.add_peer(p);
        }
        sp.start();
    }
    SessionState state(const std::string& name) { return sp.session(name)->state; }
};

} // namespace

TEST(BgpSession, TwoSpeakersExchangeRoutes) {
    boost::asio::io_context io;
    Recorder ra, rb;
    const auto pa = base_port(), pb = static_cast<std::uint16_t>(base_port() + 1);
    Speaker a(io, ra, SpeakerOptions{pa, true});
    Speaker b(io, rb, SpeakerOptions{pb, true});
    auto ca = peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, pb);
    ca.next_hop_self = *IpAddr::parse("10.1.0.4"); // E13
    ca.hold_time = 30;
    auto cb = peer("ars", "127.0.0.2", 65001, "127.0.0.1", 65515, pa);
    a.add_peer(ca);
    b.add_peer(cb);
    const std::vector<Route> vnet{route("10.1.0.0/16", "10.1.0.4")};
    ra.on_est_hook = [&](const std::string& p) { a.advertise(p, vnet); };
    ra.on_refresh_hook = ra.on_est_hook;
    a.start();
    b.start();
    ASSERT_TRUE(run_until(io, [&] { return ra.established["nva1"] && rb.established["ars"]; }));
    EXPECT_EQ(a.session("nva1")->hold_time, 30); // E4: the lower hold time wins
    EXPECT_EQ(b.session("ars")->hold_time, 30);

    // E13: ARS → NVA: 65515 prepended, next hop the ARS address.
    ASSERT_TRUE(run_until(io, [&] { return rb.rib["ars"].size() == 1; }));
    const auto& got = rb.rib["ars"].begin()->second;
    EXPECT_EQ(got.as_path.str(), "65515");
    EXPECT_EQ(got.next_hop.str(), "10.1.0.4");

    // NVA → ARS with communities, large communities and MED, 4-octet path.
    Route r = route("192.168.10.0/24", "10.1.2.4", "65010 4200000001");
    r.communities = {communities::no_advertise, communities::ars_hairpin};
    r.large_communities = {LargeCommunity{65001, 1, 2}};
    r.med = 10;
    ASSERT_TRUE(b.advertise("ars", std::span(&r, 1)));
    ASSERT_TRUE(run_until(io, [&] { return ra.rib["nva1"].size() == 1; }));
    const auto& in = ra.rib["nva1"].begin()->second;
    EXPECT_EQ(in.as_path.str(), "65001 65010 4200000001");
    EXPECT_EQ(in.next_hop.str(), "10.1.2.4");
    EXPECT_EQ(in.communities, r.communities);
    EXPECT_EQ(in.large_communities, r.large_communities);
    EXPECT_EQ(in.med, 10u);
    EXPECT_EQ(a.session("nva1")->prefixes_held, 1u);

    // Withdraw.
    ASSERT_TRUE(b.withdraw("ars", std::vector<Prefix>{r.prefix}));
    ASSERT_TRUE(run_until(io, [&] { return ra.rib["nva1"].empty(); }));

    // Route refresh (A10): b asks, a's owner re-sends.
    ASSERT_TRUE(b.request_refresh("ars"));
    ASSERT_TRUE(run_until(io, [&] { return ra.refreshes["nva1"] == 1; }));
    ASSERT_TRUE(run_until(io, [&] { return a.session("nva1")->updates_out >= 2; }));

    // b goes away gracefully: a sees on_down with the Cease.
    b.stop();
    ASSERT_TRUE(run_until(io, [&] { return ra.downs["nva1"] == 1; }));
    EXPECT_NE(ra.last_down["nva1"].find("Cease"), std::string::npos);
    EXPECT_EQ(a.session("nva1")->prefixes_held, 0u);
}

TEST(BgpSession, CollisionLeavesOneSession) {
    // Both sides connect at once; §6.8 keeps exactly one connection.
    boost::asio::io_context io;
    Recorder ra, rb;
    const auto pa = static_cast<std::uint16_t>(base_port() + 2);
    const auto pb = static_cast<std::uint16_t>(base_port() + 3);
    Speaker a(io, ra, SpeakerOptions{pa, true});
    Speaker b(io, rb, SpeakerOptions{pb, true});
    a.add_peer(peer("b", "127.0.0.1", 65515, "127.0.0.3", 65003, pb));
    b.add_peer(peer("a", "127.0.0.3", 65003, "127.0.0.1", 65515, pa));
    a.start();
    b.start();
    ASSERT_TRUE(run_until(io, [&] {
        return a.session("b")->state == SessionState::established &&
               b.session("a")->state == SessionState::established;
    }));
    run_until(
        io, [] { return false; }, 1500ms); // let any late second connection settle
    EXPECT_EQ(a.session("b")->state, SessionState::established);
    EXPECT_EQ(b.session("a")->state, SessionState::established);
    EXPECT_EQ(ra.established["b"], 1);
    EXPECT_EQ(rb.established["a"], 1);
    EXPECT_EQ(ra.downs["b"], 0);
    // Collision resolution is how a healthy session is kept: an event, never last_error.
    for (const auto& info : {*a.session("b"), *b.session("a")}) {
        // (a "connect: Connection refused" from before the other side listened may remain)
        EXPECT_EQ(info.last_error.find("Collision"), std::string::npos) << info.last_error;
        if (info.collisions > 0) {
            EXPECT_NE(info.last_event, "") << info.name;
        }
    }
}

TEST(BgpSession, CollisionWithEstablishedIsAnEventNotAnError) {
    // §6.8: a second connection from an Established peer is refused with Cease / Connection
    // Collision Resolution; the session is healthy, so this shows as last_event.
    Fixture f(18, {peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179)});
    RawPeer p(f.io, "127.0.0.2", f.port);
    ASSERT_TRUE(p.establish(65001));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.established["nva1"] == 1; }));
    RawPeer second(f.io, "127.0.0.2", f.port);
    ASSERT_TRUE(second.connected());
    auto n = second.read_type(MsgType::notification);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::get<Notification>(*n->message).code, err::cease);
    EXPECT_EQ(std::get<Notification>(*n->message).subcode, err::collision_resolution);
    const auto info = *f.sp.session("nva1");
    EXPECT_EQ(info.state, SessionState::established);
    EXPECT_EQ(info.last_error, "");
    EXPECT_NE(info.last_event.find("Collision"), std::string::npos) << info.last_event;
    EXPECT_EQ(info.collisions, 1u);
    EXPECT_EQ(f.rec.downs["nva1"], 0);

    // Two incoming connections in OpenSent/OpenConfirm: the newer replaces the older, again an
    // event. (A fresh peer name so that nothing is Established.)
    Fixture g(19, {peer("nva2", "127.0.0.1", 65515, "127.0.0.3", 65002, 179)});
    RawPeer q1(g.io, "127.0.0.3", g.port);
    ASSERT_TRUE(q1.read_type(MsgType::open)); // the speaker's OPEN on the first connection
    RawPeer q2(g.io, "127.0.0.3", g.port);
    ASSERT_TRUE(q2.establish(65002));
    ASSERT_TRUE(run_until(g.io, [&] { return g.rec.established["nva2"] == 1; }));
    const auto info2 = *g.sp.session("nva2");
    EXPECT_EQ(info2.last_error, "");
    EXPECT_NE(info2.last_event, "");
    EXPECT_GE(info2.collisions, 1u);
}

TEST(BgpSession, WriteQueueCapPausesAndResumesForAPeerThatStopsReading) {
    // A peer that stops reading must not grow the speaker's memory: at write_queue_high the
    // session stops encoding UPDATEs (changes wait, coalesced, in pending), and resumes when the
    // peer drains the socket. Real socket with a small receive buffer; nothing is lost.
    auto cfg = peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179);
    cfg.write_queue_high = 64 * 1024;
    cfg.write_queue_low = 16 * 1024;
    Fixture f(20, {cfg});
    RawPeer p(f.io, "127.0.0.2", f.port, 4096);
    ASSERT_TRUE(p.establish(65001));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.established["nva1"] == 1; }));
    // 200,000 routes, one attribute set each (distinct MED): ~200k UPDATEs, ~11 MB encoded —
    // far more than the socket buffers hold.
    constexpr std::uint32_t n = 200000;
    std::vector<Route> routes;
    routes.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        Route r;
        r.prefix = Prefix{IpAddr::v4(0x0B000000u + (i << 8)), 24};
        r.next_hop = *IpAddr::parse("10.1.0.4");
        r.med = i;
        routes.push_back(r);
    }
    ASSERT_TRUE(f.sp.advertise("nva1", routes));
    // The peer reads nothing for a while.
    run_until(
        f.io, [] { return false; }, 1500ms);
    auto info = *f.sp.session("nva1");
    EXPECT_EQ(info.state, SessionState::established);
    EXPECT_GE(info.write_stalls, 1u);
    EXPECT_GT(info.pending_changes, 0u);
    // Bounded: the cap plus at most one encoding batch (8192 UPDATEs of < 64 bytes here).
    EXPECT_LE(info.write_queue_bytes, cfg.write_queue_high + 8192u * 64u);
    // Now the peer reads: every route arrives, the queue and pending drain.
    std::size_t got = 0;
    DecodeContext dc;
    dc.four_octet_as = true;
    dc.ebgp = true;
    const auto end = std::chrono::steady_clock::now() + 60s;
    while (got < n && std::chrono::steady_clock::now() < end) {
        auto m = p.read(5s);
        if (!m) break;
        if ((*m)[18] != static_cast<std::uint8_t>(MsgType::update)) continue;
        auto d = decode_message(*m, dc);
        if (auto* u = d.message ? std::get_if<UpdateMsg>(&*d.message) : nullptr)
            got += u->announced.size();
    }
    EXPECT_EQ(got, n);
    info = *f.sp.session("nva1");
    EXPECT_EQ(info.pending_changes, 0u);
    EXPECT_EQ(info.prefixes_advertised, n);
    EXPECT_EQ(info.state, SessionState::established);
    EXPECT_EQ(f.rec.downs["nva1"], 0);
}

// Captures what spdlog writes while alive (one line per record).
struct LogCapture {
    std::ostringstream out;
    std::shared_ptr<spdlog::logger> old = spdlog::default_logger();
    LogCapture() {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
        auto l = std::make_shared<spdlog::logger>("capture", sink);
        l->set_level(spdlog::level::debug);
        spdlog::set_default_logger(l);
    }
    ~LogCapture() { spdlog::set_default_logger(old); }
    std::size_t lines_with(const std::string& what) const {
        std::istringstream in(out.str());
        std::size_t n = 0;
        for (std::string line; std::getline(in, line);) n += line.find(what) != std::string::npos;
        return n;
    }
};

TEST(BgpSession, UnknownSourceIsClosed) {
    LogCapture log;
    Fixture f(4, {peer("nva", "127.0.0.1", 65515, "127.0.0.2", 65001, 179)});
    RawPeer stranger(f.io, "127.0.0.9", f.port);
    ASSERT_TRUE(stranger.connected());
    EXPECT_TRUE(stranger.closed(5s));
    EXPECT_EQ(f.rec.established.size(), 0u);
    EXPECT_EQ(f.sp.refused_unconfigured(), 1u);
    // Issue #24: a source that keeps connecting is counted, and logged once per window (it was
    // one line per connection). No session state is created for it.
    for (int i = 0; i < 30; ++i) {
        RawPeer again(f.io, "127.0.0.9", f.port);
        ASSERT_TRUE(again.connected());
        EXPECT_TRUE(again.closed(5s));
    }
    EXPECT_EQ(f.sp.refused_unconfigured(), 31u);
    EXPECT_EQ(log.lines_with("unconfigured 127.0.0.9"), 1u) << log.out.str();
    EXPECT_EQ(f.sp.sessions().size(), 1u);
    EXPECT_EQ(f.sp.session("nva")->msgs_in, 0u);
}

TEST(BgpSession, WriteQueueHardCapResetsOnlyThePeerThatStopsReading) {
    // Issue #24: past write_queue_max bytes queued for a peer that does not read, the session is
    // reset with Cease / Out of Resources (RFC 4486 subcode 8) and one log line; the other peer
    // keeps its session and gets all its routes. Before, the queue had no hard limit: one
    // encoding batch alone overshot write_queue_high by ~450 KB here.
    LogCapture log;
    auto slow = peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179);
    slow.write_queue_high = 64 * 1024;
    slow.write_queue_low = 16 * 1024;
    slow.write_queue_max = 256 * 1024;
    auto fast = peer("nva2", "127.0.0.1", 65515, "127.0.0.3", 65002, 179);
    Fixture f(21, {slow, fast});
    RawPeer p(f.io, "127.0.0.2", f.port, 4096);
    ASSERT_TRUE(p.establish(65001));
    RawPeer q(f.io, "127.0.0.3", f.port);
    ASSERT_TRUE(q.establish(65002));
    ASSERT_TRUE(run_until(
        f.io, [&] { return f.rec.established["nva1"] == 1 && f.rec.established["nva2"] == 1; }));
    constexpr std::uint32_t n = 20000;
    std::vector<Route> routes;
    routes.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        Route r;
        r.prefix = Prefix{IpAddr::v4(0x0B000000u + (i << 8)), 24};
        r.next_hop = *IpAddr::parse("10.1.0.4");
        r.med = i; // one UPDATE per route: ~1 MB encoded
        routes.push_back(r);
    }
    ASSERT_TRUE(f.sp.advertise("nva1", routes));
    ASSERT_TRUE(f.sp.advertise("nva2", routes));
    // nva2 reads everything (its queue is paced by write_queue_high, never near the cap).
    std::size_t got = 0;
    DecodeContext dc;
    dc.four_octet_as = true;
    dc.ebgp = true;
    while (got < n) {
        auto m = q.read(5s);
        if (!m) break;
        if ((*m)[18] != static_cast<std::uint8_t>(MsgType::update)) continue;
        auto d = decode_message(*m, dc);
        if (auto* u = d.message ? std::get_if<UpdateMsg>(&*d.message) : nullptr)
            got += u->announced.size();
    }
    EXPECT_EQ(got, n);
    ASSERT_TRUE(run_until(
        f.io, [&] { return f.rec.downs["nva1"] == 1; }, 5s));
    const auto info = *f.sp.session("nva1");
    EXPECT_EQ(info.write_queue_resets, 1u);
    EXPECT_NE(info.last_error.find("write queue over 262144 bytes"), std::string::npos)
        << info.last_error;
    // The slow peer, reading at last, finds what was already in flight, then the NOTIFICATION.
    bool cease8 = false;
    while (auto m = p.read(3s)) {
        if ((*m)[18] == static_cast<std::uint8_t>(MsgType::notification)) {
            cease8 = (*m)[19] == err::cease && (*m)[20] == err::out_of_resources;
            break;
        }
    }
    EXPECT_TRUE(cease8);
    EXPECT_EQ(log.lines_with("write queue over"), 1u) << log.out.str();
    const auto other = *f.sp.session("nva2");
    EXPECT_EQ(other.state, SessionState::established);
    EXPECT_EQ(other.write_queue_resets, 0u);
    EXPECT_EQ(f.rec.downs["nva2"], 0);
}

TEST(BgpSession, WrongAsGetsBadPeerAs) {
    Fixture f(5, {peer("nva", "127.0.0.1", 65515, "127.0.0.2", 65001, 179)});
    RawPeer p(f.io, "127.0.0.2", f.port);
    ASSERT_TRUE(p.connected());
    EXPECT_FALSE(p.establish(65099));
    // The NOTIFICATION came before the close; read it from a fresh attempt to be explicit.
    RawPeer q(f.io, "127.0.0.2", f.port);
    OpenMsg o;
    o.my_as = 65099;
    o.bgp_id = 0x0A000002;
    o.caps.four_octet_as = 65099;
    q.send(encode_open(o));
    auto n = q.read_type(MsgType::notification);
    ASSERT_TRUE(n);
    const auto& note = std::get<Notification>(*n->message);
    EXPECT_EQ(note.code, err::open);
    EXPECT_EQ(note.subcode, err::bad_peer_as);
    EXPECT_TRUE(q.closed(5s));
}

TEST(BgpSession, MalformedMessageResetsOnlyThatSession) {
    Fixture f(6, {peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179),
                  peer("nva2", "127.0.0.1", 65515, "127.0.0.3", 65002, 179)});
    RawPeer p1(f.io, "127.0.0.2", f.port), p2(f.io, "127.0.0.3", f.port);
    ASSERT_TRUE(p1.establish(65001));
    ASSERT_TRUE(p2.establish(65002));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.established.size() == 2; }));
    const Route r2 = route("192.168.20.0/24", "10.1.2.5", "65002");
    p2.send(update_with(std::span(&r2, 1)));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.rib["nva2"].size() == 1; }));

    auto bad = encode_keepalive();
    bad[0] = 0; // bad marker
    p1.send(bad);
    auto n = p1.read_type(MsgType::notification);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::get<Notification>(*n->message).code, err::header);
    EXPECT_EQ(std::get<Notification>(*n->message).subcode, err::conn_not_synchronized);
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.downs["nva1"] == 1; }));
    EXPECT_EQ(f.state("nva2"), SessionState::established);
    EXPECT_EQ(f.rec.rib["nva2"].size(), 1u);
    EXPECT_NE(f.sp.session("nva1")->last_error.find("Connection Not Synchronized"),
              std::string::npos);
}

TEST(BgpSession, UnknownWellKnownAttributeResets) {
    Fixture f(7, {peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179)});
    RawPeer p(f.io, "127.0.0.2", f.port);
    ASSERT_TRUE(p.establish(65001));
    const Route r = route("192.168.10.0/24", "10.1.2.4", "65001");
    auto m = update_with(std::span(&r, 1));
    // Append an unknown well-known attribute (flags 0x40, type 99, length 0) to the attributes.
    const std::size_t wlen = (std::size_t{m[19]} << 8) | m[20];
    const std::size_t alen_at = 21 + wlen;
    const std::size_t alen = (std::size_t{m[alen_at]} << 8) | m[alen_at + 1];
    const std::vector<std::uint8_t> extra{0x40, 99, 0};
    m.insert(m.begin() + static_cast<std::ptrdiff_t>(alen_at + 2 + alen), extra.begin(),
             extra.end());
    m[alen_at + 1] = static_cast<std::uint8_t>(alen + 3);
    m[17] = static_cast<std::uint8_t>(m.size());
    p.send(m);
    auto n = p.read_type(MsgType::notification);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::get<Notification>(*n->message).subcode, err::unrecognized_well_known);
    EXPECT_TRUE(f.rec.rib["nva1"].empty());
}

TEST(BgpSession, TreatAsWithdrawOverTheWire) {
    Fixture f(8, {peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179)});
    RawPeer p(f.io, "127.0.0.2", f.port);
    ASSERT_TRUE(p.establish(65001));
    const Route r = route("192.168.10.0/24", "10.1.2.4", "65001");
    p.send(update_with(std::span(&r, 1)));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.rib["nva1"].size() == 1; }));
    // Same prefix, AS 0 in the path (G4): the prefix is withdrawn, the session stays up.
    const Route bad = route("192.168.10.0/24", "10.1.2.4", "65001 0");
    p.send(update_with(std::span(&bad, 1)));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.rib["nva1"].empty(); }));
    EXPECT_EQ(f.state("nva1"), SessionState::established);
    EXPECT_EQ(f.sp.session("nva1")->treat_as_withdraw, 1u);
    // A path that does not start with the peer's AS is withdrawn too.
    p.send(update_with(std::span(&r, 1)));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.rib["nva1"].size() == 1; }));
    const Route other = route("192.168.10.0/24", "10.1.2.4", "65002");
    p.send(update_with(std::span(&other, 1)));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.rib["nva1"].empty(); }));
}

TEST(BgpSession, TreatAsWithdrawFloodIsOneLogLine) {
    // Issue #24: a peer whose every UPDATE is treat-as-withdraw wrote one warning per UPDATE;
    // now one per kind and 10 s window (the summary with the count follows at its end).
    LogCapture log;
    Fixture f(22, {peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179)});
    RawPeer p(f.io, "127.0.0.2", f.port);
    ASSERT_TRUE(p.establish(65001));
    for (std::uint32_t i = 0; i < 200; ++i) {
        Route bad = route("192.168.10.0/24", "10.1.2.4", "65001 0");
        bad.prefix = Prefix{IpAddr::v4(0xC0A80000u + (i << 8)), 24};
        p.send(update_with(std::span(&bad, 1)));
    }
    ASSERT_TRUE(run_until(f.io, [&] { return f.sp.session("nva1")->treat_as_withdraw == 200; }));
    EXPECT_EQ(f.state("nva1"), SessionState::established);
    EXPECT_EQ(log.lines_with("bgp nva1: UPDATE"), 1u) << log.out.str();
}

TEST(BgpSession, MaxPrefixCountsHeldPlusIncoming) {
    // E8: held + routes in the UPDATE > limit → Cease / Maximum Number of Prefixes Reached.
    auto cfg = peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179);
    cfg.max_prefixes = 4;
    Fixture f(9, {cfg});
    RawPeer p(f.io, "127.0.0.2", f.port);
    ASSERT_TRUE(p.establish(65001));
    std::vector<Route> three{route("10.10.1.0/24", "10.1.2.4", "65001"),
                             route("10.10.2.0/24", "10.1.2.4", "65001"),
                             route("10.10.3.0/24", "10.1.2.4", "65001")};
    p.send(update_with(three));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.rib["nva1"].size() == 3; }));
    // Re-sending the same three: 3 held + 3 incoming = 6 > 4, although only 3 distinct.
    p.send(update_with(three));
    auto n = p.read_type(MsgType::notification);
    ASSERT_TRUE(n);
    const auto& note = std::get<Notification>(*n->message);
    EXPECT_EQ(note.code, err::cease);
    EXPECT_EQ(note.subcode, err::max_prefixes);
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.downs["nva1"] == 1; }));
    EXPECT_TRUE(f.rec.rib["nva1"].empty()); // the owner withdrew the peer's routes on on_down
    EXPECT_NE(f.rec.last_down["nva1"].find("maximum number of prefixes"), std::string::npos);
    // Idle hold: an immediate reconnect is refused.
    RawPeer again(f.io, "127.0.0.2", f.port);
    EXPECT_FALSE(again.establish(65001));
}

TEST(BgpSession, HoldTimerExpiry) {
    auto cfg = peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179);
    cfg.hold_time = 3;
    Fixture f(10, {cfg});
    RawPeer p(f.io, "127.0.0.2", f.port);
    ASSERT_TRUE(p.establish(65001, 90));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.established["nva1"] == 1; }));
    EXPECT_EQ(f.sp.session("nva1")->hold_time, 3);
    const Route r = route("192.168.10.0/24", "10.1.2.4", "65001");
    p.send(update_with(std::span(&r, 1)));
    // The raw peer now stays silent: Hold Timer Expired, routes gone (scenario 24 style).
    auto n = p.read_type(MsgType::notification, 10s);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::get<Notification>(*n->message).code, err::hold_timer);
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.downs["nva1"] == 1; }));
    EXPECT_TRUE(f.rec.rib["nva1"].empty());
}

TEST(BgpSession, UpdateBeforeEstablishedIsFsmError) {
    Fixture f(11, {peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179)});
    RawPeer p(f.io, "127.0.0.2", f.port);
    const Route r = route("192.168.10.0/24", "10.1.2.4", "65001");
    p.send(update_with(std::span(&r, 1)));
    auto n = p.read_type(MsgType::notification);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::get<Notification>(*n->message).code, err::fsm);
    EXPECT_EQ(std::get<Notification>(*n->message).subcode, 1); // RFC 6608: in OpenSent
}

TEST(BgpSession, GarbageAndTruncationNeverCrash) {
    Fixture f(12, {peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179)});
    for (int i = 0; i < 5; ++i) {
        RawPeer p(f.io, "127.0.0.2", f.port);
        if (i % 2 == 0) {
            ASSERT_TRUE(p.establish(65001));
        }
        std::vector<std::uint8_t> junk(static_cast<std::size_t>(7 + i * 300), 0xFF);
        if (i == 1) junk.resize(18); // a partial header, then close
        p.send(junk);
    }
    run_until(
        f.io, [] { return false; }, 500ms);
    EXPECT_NE(f.state("nva1"), SessionState::established);
}

TEST(BgpSession, AdvertiseBeforeEstablishedIsRefused) {
    Fixture f(13, {peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179)});
    const Route r = route("10.1.0.0/16", "10.1.0.4");
    EXPECT_FALSE(f.sp.advertise("nva1", std::span(&r, 1)));
    EXPECT_FALSE(f.sp.advertise("nobody", std::span(&r, 1)));
    EXPECT_FALSE(f.sp.request_refresh("nva1"));
    EXPECT_THROW(f.sp.add_peer(peer("nva1", "127.0.0.1", 65515, "127.0.0.4", 65001, 179)),
                 std::invalid_argument);
}

TEST(BgpSession, Ipv6RoutesAndEnhancedRefresh) {
    boost::asio::io_context io;
    Recorder ra, rb;
    const auto pa = static_cast<std::uint16_t>(base_port() + 14);
    const auto pb = static_cast<std::uint16_t>(base_port() + 15);
    Speaker a(io, ra, SpeakerOptions{pa, true});
    Speaker b(io, rb, SpeakerOptions{pb, true});
    auto ca = peer("b", "127.0.0.1", 65515, "127.0.0.5", 65005, pb);
    auto cb = peer("a", "127.0.0.5", 65005, "127.0.0.1", 65515, pa);
    for (auto* c : {&ca, &cb}) {
        c->families = {AfiSafi{afi_ipv4, safi_unicast}, AfiSafi{afi_ipv6, safi_unicast}};
        c->enhanced_route_refresh = true;
    }
    cb.passive = true;
    a.add_peer(ca);
    b.add_peer(cb);
    std::vector<Route> table{route("2001:db8:100::/48", "2001:db8::4"),
                             route("10.5.0.0/16", "10.1.0.4")};
    ra.on_est_hook = [&](const std::string& p) { a.advertise(p, table); };
    ra.on_refresh_hook = ra.on_est_hook;
    a.start();
    b.start();
    ASSERT_TRUE(run_until(io, [&] { return rb.rib["a"].size() == 2; }));
    const auto& v6 = rb.rib["a"].at(*Prefix::parse("2001:db8:100::/48"));
    EXPECT_EQ(v6.next_hop.str(), "2001:db8::4");
    EXPECT_EQ(v6.as_path.str(), "65515");
    // RFC 7313: after a refresh that no longer carries 10.5.0.0/16, EoRR withdraws it at b.
    table.pop_back();
    ASSERT_TRUE(b.request_refresh("a"));
    ASSERT_TRUE(run_until(io, [&] { return ra.refreshes["b"] >= 1 && rb.rib["a"].size() == 1; }));
    EXPECT_TRUE(rb.rib["a"].count(*Prefix::parse("2001:db8:100::/48")));
}

TEST(BgpSession, GtsmRejectsDistantPeer) {
    // RFC 5082: a speaker that expects TTL 255 does not talk to a peer sending TTL 1.
    boost::asio::io_context io;
    Recorder ra, rb;
    const auto pa = static_cast<std::uint16_t>(base_port() + 16);
    const auto pb = static_cast<std::uint16_t>(base_port() + 17);
    Speaker a(io, ra, SpeakerOptions{pa, true});
    Speaker b(io, rb, SpeakerOptions{pb, true});
    auto ca = peer("b", "127.0.0.1", 65515, "127.0.0.6", 65006, pb);
    auto cb = peer("a", "127.0.0.6", 65006, "127.0.0.1", 65515, pa);
    ca.gtsm = true;
    a.add_peer(ca);
    b.add_peer(cb); // eBGP default TTL 1
    a.start();
    b.start();
    EXPECT_FALSE(run_until(
        io, [&] { return ra.established["b"] > 0; }, 2500ms));
    // With GTSM on both ends (TTL 255 out) the session comes up.
    b.remove_peer("a");
    cb.gtsm = true;
    b.add_peer(cb);
    EXPECT_TRUE(run_until(io, [&] { return ra.established["b"] > 0 && rb.established["a"] > 0; }));
}

TEST(BgpSession, UnknownOptionalTransitiveAttributesArePassedOn) {
    // RFC 4271 §5 / RFC 7606: an unknown optional transitive attribute travels on with the route
    // (Partial bit set); an unknown optional non-transitive one is dropped. The owner re-advertises
    // what nva1 sends to nva2 with 65515 prepended (E13), as the control plane does.
    auto c1 = peer("nva1", "127.0.0.1", 65515, "127.0.0.2", 65001, 179);
    auto c2 = peer("nva2", "127.0.0.1", 65515, "127.0.0.3", 65002, 179);
    c1.prepend_local_as = c2.prepend_local_as = false; // the owner's path carries 65515
    Fixture f(21, {c1, c2});
    RawPeer p1(f.io, "127.0.0.2", f.port), p2(f.io, "127.0.0.3", f.port);
    ASSERT_TRUE(p1.establish(65001));
    ASSERT_TRUE(p2.establish(65002, 90, 0x0A000003));
    ASSERT_TRUE(run_until(f.io, [&] { return f.rec.established.size() == 2; }));
    f.rec.on_routes_hook = [&](const std::string& from, const std::vector<Route>& a) {
        if (from != "nva1") return;
        std::vector<Route> out = a;
        for (auto& r : out) r.as_path.prepend(65515);
        f.sp.advertise("nva2", out);
    };
    UpdateMsg u;
    u.announced = {route("192.168.10.0/24", "10.1.2.4", "65001 65010"),
                   route("192.168.11.0/24", "10.1.2.4", "65001 65010")};
    const RawAttr opt_transitive{attr::flag_optional | attr::flag_transitive, 199, {7, 7, 7}};
    const RawAttr opt_non_transitive{attr::flag_optional, 198, {1}};
    u.unknown_transitive = {opt_transitive, opt_non_transitive}; // written with these flags
    p1.send(encode_update(u, EncodeContext{true, true}));
    auto next_announcement = [&] { // skips End-of-RIB
        auto d = p2.read_type(MsgType::update);
        while (d && std::get<UpdateMsg>(*d->message).announced.empty())
            d = p2.read_type(MsgType::update);
        return d;
    };
    auto d = next_announcement();
    ASSERT_TRUE(d);
    const auto& got = std::get<UpdateMsg>(*d->message);
    ASSERT_EQ(got.announced.size(), 2u);
    EXPECT_EQ(got.announced[0].as_path.str(), "65515 65001 65010");
    ASSERT_EQ(got.unknown_transitive.size(), 1u);
    EXPECT_EQ(got.unknown_transitive[0],
              (RawAttr{attr::flag_optional | attr::flag_transitive | attr::flag_partial,
                       199,
                       {7, 7, 7}}));

    // Re-announced without the attribute: it no longer travels.
    u.unknown_transitive.clear();
    u.announced.resize(1);
    p1.send(encode_update(u, EncodeContext{true, true}));
    d = next_announcement();
    ASSERT_TRUE(d);
    EXPECT_EQ(std::get<UpdateMsg>(*d->message).announced.size(), 1u);
    EXPECT_TRUE(std::get<UpdateMsg>(*d->message).unknown_transitive.empty());
}
