// control/bgp/speaker.hpp — the BGP speaker: configured peers, their sessions (RFC 4271 FSM),
// listeners, and the route hand-off to the owner (the policy glue).
//
// What: owns one listening socket per (local address, port) and one session per configured peer.
// Learned routes go to a SpeakerHandler; the owner pushes each peer's Adj-RIB-Out changes with
// advertise()/withdraw(). The speaker keeps, per peer, the set of prefixes held from it (for
// max-prefix, E8, and to report what a session carried) and the set it advertised, not the routes.
// Thread: everything runs on the io_context given to the constructor, which must be run by one
// thread (the control thread); call every method and expect every callback on that thread.
// Ownership: the Speaker must outlive nothing that references it; the handler must outlive the
// Speaker. Destroying the Speaker closes every socket (no NOTIFICATION: call stop() first for a
// graceful Cease).
// Cost: an incoming UPDATE costs one decode and one handler call; advertise() is O(routes) and
// batches into as few UPDATEs as possible (≤ 4096 bytes each), flushed on the next loop turn.
#pragma once

#include "control/bgp/codec.hpp"
#include "control/model.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace rsfwd::bgp {

// One configured peer. Personas (ROUTE_SERVER.md): a Route Server instance towards an NVA
// (local_as 65515, multihop, E1/E3), an MSEE towards on-prem (12076), a VPN gateway instance
// towards a branch (65515).
struct PeerConfig {
    std::string name;     // unique; the key of every API call
    IpAddr local_address; // bind/listen address; its IPv4 value is the default router id
    std::uint32_t local_as = 65515;
    std::uint32_t router_id = 0; // host order; 0 = local_address (IPv4 only)
    IpAddr remote_address;
    std::uint32_t remote_as = 0;           // the AS the peer's OPEN must carry (else Bad Peer AS)
    std::uint16_t remote_port = 179;       // for active connects
    bool passive = false;                  // true: never connect, only accept
    std::uint16_t hold_time = 180;         // E4: proposed hold time; keepalive = negotiated / 3
    std::chrono::seconds connect_retry{5}; // delay between connect attempts / after a failure
    std::string md5_key;                   // RFC 2385 TCP MD5 (empty = off)
    int multihop_ttl = 0;                  // E3: TTL of our packets; 0 = 1 for eBGP, 64 for iBGP
    bool gtsm = false;              // RFC 5082: send TTL 255, accept only ≥ 255 - (hops - 1)
    int gtsm_hops = 1;              // hops the peer may be away when gtsm is on
    std::uint32_t max_prefixes = 0; // E8: 0 = unlimited
    std::chrono::seconds max_prefix_restart{60}; // idle time after a max-prefix teardown
    std::vector<AfiSafi> families{AfiSafi{afi_ipv4, safi_unicast}};
    // Send-side rules applied by advertise() on eBGP sessions (RFC 4271 §5.1.2/§5.1.3, E13):
    std::optional<IpAddr> next_hop_self; // eBGP next hop; unset = the route's own next hop
    bool prepend_local_as = true;        // eBGP: prepend local_as (false = transparent RS)
    bool enforce_first_as = true;        // eBGP: a path must start with remote_as (RFC 7606)
    bool enhanced_route_refresh = false; // RFC 7313: announce it, bracket refreshes with BoRR/EoRR
    // Write-queue cap (a peer that stops reading must not grow our memory): once this many bytes
    // wait in the socket's write queue, no more UPDATEs are encoded for the peer; Adj-RIB-Out
    // changes keep coalescing (one pending entry per prefix, the latest wins) and encoding
    // resumes when the queue drains below write_queue_low. The session stays up: the peer's own
    // hold timer, or ours if it stops sending too, ends it.
    std::size_t write_queue_high = std::size_t{1} << 20;
    std::size_t write_queue_low = std::size_t{256} << 10;
    // The hard cap on the same queue: more than this many bytes waiting (flush() never gets
    // there; an oversized batch or replies to a peer that never reads could) resets the session
    // with NOTIFICATION Cease / Out of Resources (RFC 4486 subcode 8). Default sized for a full
    // table encoded at once. Config: route_server.bgp_write_queue_max.
    std::size_t write_queue_max = std::size_t{64} << 20;
};

enum class SessionState : std::uint8_t {
    idle,
    connect,
    active,
    open_sent,
    open_confirm,
    established
};
std::string_view to_string(SessionState s) noexcept;

// A snapshot of one session for `rsctl peers`.
struct SessionInfo {
    std::string name;
    IpAddr remote_address;
    std::uint32_t remote_as = 0;
    SessionState state = SessionState::idle;
    std::chrono::seconds uptime{0}; // time in the current state
    std::uint32_t remote_router_id = 0;
    std::uint16_t hold_time = 0; // negotiated; 0 while not established
    bool route_refresh = false;  // peer supports RFC 2918 (else A10's hard reset applies)
    std::uint64_t msgs_in = 0, msgs_out = 0;
    std::uint64_t updates_in = 0, updates_out = 0;
    std::uint64_t prefixes_received = 0;   // NLRI announcements received since established
    std::uint64_t prefixes_held = 0;       // current Adj-RIB-In size (what max-prefix counts)
    std::uint64_t prefixes_advertised = 0; // current Adj-RIB-Out size
    std::uint64_t treat_as_withdraw = 0;   // UPDATEs handled as withdrawals (RFC 7606)
    std::uint64_t established_count = 0;
    std::uint64_t write_queue_bytes = 0;  // encoded, not yet written to the socket
    std::uint64_t write_stalls = 0;       // times UPDATE generation paused at write_queue_high
    std::uint64_t write_queue_resets = 0; // resets at write_queue_max (Cease / Out of Resources)
    std::uint64_t pending_changes = 0; // Adj-RIB-Out changes not yet encoded (stalled or batched)
    std::uint64_t collisions = 0;      // connections closed by §6.8 collision resolution
    std::string last_error;            // the last NOTIFICATION or socket error, human readable
    std::string last_event; // the last notable normal event (collision resolution), ditto
};

// Called on the io_context thread. A handler may call back into the Speaker (advertise() from
// on_established or on_route_refresh is the expected pattern).
struct SpeakerHandler {
    virtual ~SpeakerHandler() = default;
    // The session reached Established: send the peer its whole Adj-RIB-Out with advertise().
    virtual void on_established(const std::string& peer) = 0;
    // Routes from the peer. An announced prefix already held replaces the old route (implicit
    // withdraw). `withdrawn` only lists prefixes that were held.
    virtual void on_routes(const std::string& peer, std::vector<Route> announced,
                           std::vector<Prefix> withdrawn) = 0;
    // The session left Established (NOTIFICATION, hold timer, socket error, max-prefix...): the
    // owner withdraws every route learned from the peer.
    virtual void on_down(const std::string& peer, const std::string& reason) = 0;
    // The peer asked for a ROUTE-REFRESH (A10): re-send its whole Adj-RIB-Out with advertise()
    // before returning (with enhanced route refresh the speaker sends EoRR right after).
    virtual void on_route_refresh(const std::string& peer) = 0;
};

struct SpeakerOptions {
    std::uint16_t listen_port = 179; // tests use a high port
    bool listen = true;              // false: active sessions only (no listeners)
};

class Speaker {
public:
    Speaker(boost::asio::io_context& io, SpeakerHandler& handler, SpeakerOptions opts = {});
    ~Speaker();
    Speaker(const Speaker&) = delete;
    Speaker& operator=(const Speaker&) = delete;

    // Adds a peer; once start() ran, its listener opens and (unless passive) it connects.
    // Throws std::invalid_argument on a bad config (duplicate name or remote address, no local
    // address, remote_as 0) and std::system_error when its listener cannot bind.
    void add_peer(const PeerConfig& cfg);
    // Sends Cease / Peer De-configured when established, then forgets the peer (no on_down).
    void remove_peer(const std::string& name);
    // Opens the listeners and starts every session. Throws std::system_error on bind failure.
    void start();
    // Sends Cease / Administrative Shutdown on every session and closes everything. The
    // io_context then runs out of work once the NOTIFICATIONs are written (or after 2 s).
    void stop();

    // Queues Adj-RIB-Out changes for an Established peer; false (and nothing queued) when the
    // peer is unknown or not Established — the owner sends everything again on on_established.
    // Routes are given as the owner's RIB holds them; on eBGP sessions the speaker prepends
    // local_as (prepend_local_as) and sets next_hop_self; LOCAL_PREF is only sent over iBGP.
    bool advertise(const std::string& peer, std::span<const Route> routes);
    bool withdraw(const std::string& peer, std::span<const Prefix> prefixes);
    // Sends ROUTE-REFRESH for every negotiated family; false when not Established or the peer
    // lacks the capability (A10: the owner then calls reset_peer()).
    bool request_refresh(const std::string& peer);
    // Cease / Administrative Reset and reconnect (A10's hard reset). false if unknown.
    bool reset_peer(const std::string& peer);

    [[nodiscard]] std::vector<SessionInfo> sessions() const;
    // Connections accepted from an address that is no configured peer's (on that local
    // address) and closed at once, before any session state: "only configured peers".
    [[nodiscard]] std::uint64_t refused_unconfigured() const noexcept;
    [[nodiscard]] std::optional<SessionInfo> session(const std::string& peer) const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace rsfwd::bgp
