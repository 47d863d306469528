// control/bgp/session.hpp — one peer's BGP session: the RFC 4271 §8 FSM over kernel TCP sockets.
// Internal to control/bgp (the owner uses speaker.hpp).
//
// What: a Session owns up to two TCP connections to its peer while OPENs are exchanged
// (connection collision, §6.8) and exactly one once Established. It decodes what the peer sends,
// enforces max-prefix (E8) and hold timers, and encodes the owner's Adj-RIB-Out changes.
// Thread: the io_context thread only. Lifetime: shared_ptr; every pending asynchronous operation
// holds a reference, and stop() makes them no-ops.
// Cost: one read buffer (64 KiB) per connection; the write queue holds encoded messages until
// sent, at most PeerConfig::write_queue_high bytes of UPDATEs plus one batch (see flush()), and
// never more than PeerConfig::write_queue_max: past it the session is reset (Cease 8).
#pragma once

#include "control/bgp/codec.hpp"
#include "control/bgp/speaker.hpp"
#include "control/log_limit.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rsfwd::bgp {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// One TCP connection of a session.
struct Connection {
    Connection(asio::io_context& io, tcp::socket s, bool outgoing, std::uint64_t id);
    tcp::socket sock;
    bool outgoing;    // we connected (true) or accepted (false): §6.8 picks by this
    std::uint64_t id; // for logs
    SessionState state = SessionState::open_sent;
    bool closed = false;            // no further processing; the socket may still be flushing
    bool close_after_write = false; // close the socket once the write queue drains
    std::vector<std::uint8_t> rbuf;
    std::size_t rlen = 0;
    std::deque<std::vector<std::uint8_t>> wq;
    std::size_t in_flight = 0; // messages of wq being written
    std::size_t wq_bytes = 0;  // bytes in wq (the write-queue cap counts these)
    void push(std::vector<std::uint8_t> m) {
        wq_bytes += m.size();
        wq.push_back(std::move(m));
    }
    void pop_front() {
        wq_bytes -= wq.front().size();
        wq.pop_front();
    }
    void pop_back() {
        wq_bytes -= wq.back().size();
        wq.pop_back();
    }
    void clear_queue() {
        wq.clear();
        wq_bytes = 0;
    }
    std::optional<OpenMsg> peer_open;
    std::uint16_t hold = 0; // negotiated, seconds
    Clock::time_point last_rx;
    asio::steady_timer hold_timer;
    asio::steady_timer keepalive_timer;
    asio::steady_timer close_timer;
    DecodeContext dctx;
};

// RFC 4271 §5 / RFC 7606: unknown optional transitive attributes are passed on (Partial bit set)
// with the route they came with. rsfwd::Route has no field for them, so the speaker keeps them
// here, per (prefix, session it came from, AS path as received), for the routes that carry any
// (rare: the store is empty in the common case and costs one empty() check per route).
// Re-advertising a route, a session looks up its prefix and takes the attributes of the entry,
// from another session, whose received AS path is a suffix of the outgoing path (the owner's
// Adj-RIB-Out carries the learned path, possibly with 65515/12076 prepended, E13/B3).
// Shared by the speaker's sessions; io_context thread only.
class TransitStore {
public:
    using Attrs = std::shared_ptr<const std::vector<RawAttr>>;
    void put(const void* from, const Route& r, const Attrs& attrs);
    void erase(const void* from, const Prefix& p);
    void erase_all(const void* from);
    [[nodiscard]] Attrs find(const void* to, const Route& r) const;
    [[nodiscard]] bool empty() const noexcept { return by_prefix_.empty(); }

private:
    struct Entry {
        const void* from;
        std::string path; // AsPath::str() as received
        Attrs attrs;
    };
    std::unordered_map<Prefix, std::vector<Entry>, PrefixHash> by_prefix_;
};

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(asio::io_context& io, SpeakerHandler& handler, PeerConfig cfg,
            std::shared_ptr<TransitStore> transit = nullptr);
    ~Session();

    void start();
    // Cease with `subcode` on every connection (if any), no on_down, no reconnect.
    void stop(std::uint8_t cease_subcode);
    // A connection accepted by the speaker's listener for this peer.
    void accept(tcp::socket sock);

    bool advertise(std::span<const Route> routes);
    bool withdraw(std::span<const Prefix> prefixes);
    bool request_refresh();
    void reset(); // Cease / Administrative Reset, then reconnect

    [[nodiscard]] SessionInfo info() const;
    [[nodiscard]] const PeerConfig& config() const noexcept { return cfg_; }
    [[nodiscard]] SessionState state() const noexcept;

private:
    using ConnPtr = std::shared_ptr<Connection>;

    void start_connect();
    void on_connected(const std::shared_ptr<tcp::socket>& sock,
                      const boost::system::error_code& ec);
    void schedule_restart(std::chrono::seconds delay);
    void add_connection(tcp::socket sock, bool outgoing);
    void apply_socket_options(tcp::socket& sock, bool before_connect);

    void read(const ConnPtr& c);
    void on_read(const ConnPtr& c, const boost::system::error_code& ec, std::size_t n);
    void handle_message(const ConnPtr& c, std::span<const std::uint8_t> msg);
    void on_open(const ConnPtr& c, const OpenMsg& o);
    void on_established(const ConnPtr& c);
    void on_update(const ConnPtr& c, UpdateMsg u, const DecodeResult& res);
    void on_route_refresh(const ConnPtr& c, const RouteRefreshMsg& rr);
    void fsm_error(const ConnPtr& c, const char* what);

    void send(const ConnPtr& c, std::vector<std::uint8_t> bytes);
    void do_write(const ConnPtr& c);
    void arm_hold(const ConnPtr& c, std::chrono::seconds d);
    void arm_keepalive(const ConnPtr& c);
    // Ends a connection: optional NOTIFICATION, then close. If it was the Established one, the
    // session goes down (on_down) and restarts after `idle` (default: connect_retry).
    void close_conn(const ConnPtr& c, std::optional<Notification> n, const std::string& reason,
                    std::optional<std::chrono::seconds> idle = std::nullopt);
    // A normal occurrence worth showing (collision resolution): SessionInfo::last_event, not
    // last_error.
    void note_event(std::string what);
    void post_flush();
    void flush();
    [[nodiscard]] std::optional<Route> export_route(const Route& r) const;
    [[nodiscard]] bool family_ok(Family f) const;
    [[nodiscard]] OpenMsg make_open() const;
    [[nodiscard]] std::uint32_t router_id() const noexcept;

    asio::io_context& io_;
    SpeakerHandler& handler_;
    PeerConfig cfg_;
    bool ebgp_;
    bool stopped_ = true;
    SessionState base_state_ = SessionState::idle; // when no connection exists
    Clock::time_point since_ = Clock::now();
    Clock::time_point idle_until_{};
    std::uint64_t next_conn_id_ = 1;

    std::vector<ConnPtr> conns_; // not yet Established (≤ 2), plus est_
    ConnPtr est_;
    std::shared_ptr<tcp::socket> connecting_;
    asio::steady_timer retry_timer_;
    TimedLogLimit log_limit_{io_}; // repeated conditions (bad UPDATEs, refused connects)

    // Negotiated once Established.
    std::vector<AfiSafi> families_;
    bool peer_rr_ = false, enhanced_rr_ = false;
    EncodeContext ectx_;

    std::unordered_map<Prefix, bool, PrefixHash> held_; // Adj-RIB-In prefixes → stale (RFC 7313)
    std::unordered_set<Prefix, PrefixHash> advertised_;
    std::unordered_map<Prefix, std::optional<Route>, PrefixHash> pending_;
    std::shared_ptr<TransitStore> transit_;
    // Transit attributes of pending_ announcements that have any (see TransitStore).
    std::unordered_map<Prefix, TransitStore::Attrs, PrefixHash> pending_transit_;
    bool flush_posted_ = false;
    bool send_eor_ = false;
    bool stalled_ = false; // flush() stopped at the write-queue cap; resumes when it drains

    // Counters (SessionInfo).
    std::uint64_t msgs_in_ = 0, msgs_out_ = 0, updates_in_ = 0, updates_out_ = 0;
    std::uint64_t prefixes_received_ = 0, taw_ = 0, established_count_ = 0;
    std::uint64_t collisions_ = 0, write_stalls_ = 0, write_queue_resets_ = 0;
    std::uint32_t remote_id_ = 0;
    std::string last_error_, last_event_;
};

} // namespace rsfwd::bgp
