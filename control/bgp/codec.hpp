// control/bgp/codec.hpp — BGP-4 message encoding and decoding (RFC 4271, 4760, 6793, 1997, 8092,
// 2918, 7313) with the revised error handling of RFC 7606.
//
// What: pure functions from bytes to messages and back. No I/O, no state beyond the per-session
// DecodeContext/EncodeContext the caller passes in (negotiated 4-octet AS, eBGP or iBGP).
// Ownership: results own their data (vectors); input spans are only read during the call.
// Thread: any (no globals); the speaker calls it on the control thread.
// Cost: one pass over the message; a decoded UPDATE allocates one Route per NLRI.
// Safety: decode never reads outside the span it is given, whatever the bytes (fuzzed:
// tests/fuzz/bgp).
#pragma once

#include "control/model.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace rsfwd::bgp {

inline constexpr std::size_t header_len = 19;
inline constexpr std::size_t max_message_len = 4096; // RFC 4271 §4.1 (no RFC 8654 extended msgs)
inline constexpr std::uint16_t as_trans = 23456;     // RFC 6793
inline constexpr std::uint16_t afi_ipv4 = 1, afi_ipv6 = 2;
inline constexpr std::uint8_t safi_unicast = 1;

enum class MsgType : std::uint8_t {
    open = 1,
    update = 2,
    notification = 3,
    keepalive = 4,
    route_refresh = 5,
};

// Path attribute type codes this codec knows.
namespace attr {
inline constexpr std::uint8_t origin = 1, as_path = 2, next_hop = 3, med = 4, local_pref = 5,
                              atomic_aggregate = 6, aggregator = 7, communities = 8, mp_reach = 14,
                              mp_unreach = 15, as4_path = 17, as4_aggregator = 18,
                              large_communities = 32;
inline constexpr std::uint8_t flag_optional = 0x80, flag_transitive = 0x40, flag_partial = 0x20,
                              flag_extended = 0x10;
} // namespace attr

// NOTIFICATION error codes (RFC 4271 §4.5) and the subcodes rsfwd sends.
namespace err {
inline constexpr std::uint8_t header = 1, open = 2, update = 3, hold_timer = 4, fsm = 5, cease = 6,
                              route_refresh = 7;
// header
inline constexpr std::uint8_t conn_not_synchronized = 1, bad_message_length = 2,
                              bad_message_type = 3;
// open
inline constexpr std::uint8_t unsupported_version = 1, bad_peer_as = 2, bad_bgp_identifier = 3,
                              unsupported_optional_parameter = 4, unacceptable_hold_time = 6,
                              unsupported_capability = 7;
// update
inline constexpr std::uint8_t malformed_attribute_list = 1, unrecognized_well_known = 2,
                              missing_well_known = 3, attribute_flags = 4, attribute_length = 5,
                              invalid_origin = 6, invalid_next_hop = 8, optional_attribute = 9,
                              invalid_network_field = 10, malformed_as_path = 11;
// cease (RFC 4486)
inline constexpr std::uint8_t max_prefixes = 1, admin_shutdown = 2, peer_deconfigured = 3,
                              admin_reset = 4, connection_rejected = 5, config_change = 6,
                              collision_resolution = 7, out_of_resources = 8;
// route refresh (RFC 7313)
inline constexpr std::uint8_t invalid_message_length = 1;
} // namespace err

struct Notification {
    std::uint8_t code = 0;
    std::uint8_t subcode = 0;
    std::vector<std::uint8_t> data;
    // "UPDATE Message Error / Malformed AS_PATH" style text for logs and `rsctl peers`.
    [[nodiscard]] std::string str() const;
    auto operator<=>(const Notification&) const = default;
};

// An address family this speaker can negotiate (RFC 4760). Only unicast SAFI.
struct AfiSafi {
    std::uint16_t afi = afi_ipv4;
    std::uint8_t safi = safi_unicast;
    auto operator<=>(const AfiSafi&) const = default;
};

struct Capabilities {
    std::vector<AfiSafi> multiprotocol;         // code 1
    bool route_refresh = false;                 // code 2 (or the old Cisco code 128)
    bool enhanced_route_refresh = false;        // code 70, RFC 7313
    std::optional<std::uint32_t> four_octet_as; // code 65, RFC 6793
    // Capabilities rsfwd does not interpret, kept for logging: (code, value).
    std::vector<std::pair<std::uint8_t, std::vector<std::uint8_t>>> other;
    bool operator==(const Capabilities&) const = default;
};

struct OpenMsg {
    std::uint8_t version = 4;
    std::uint16_t my_as = 0; // 2-octet field: AS_TRANS when the real AS is > 65535
    std::uint16_t hold_time = 180;
    std::uint32_t bgp_id = 0; // host order
    Capabilities caps;
    // The speaker's AS: the 4-octet capability when present (RFC 6793), else my_as.
    [[nodiscard]] std::uint32_t asn() const noexcept { return caps.four_octet_as.value_or(my_as); }
    bool operator==(const OpenMsg&) const = default;
};

// A path attribute carried as bytes: unknown optional transitive attributes are passed on
// (with the Partial bit set, RFC 4271 §5); unknown non-transitive ones are dropped.
struct RawAttr {
    std::uint8_t flags = 0;
    std::uint8_t type = 0;
    std::vector<std::uint8_t> value;
    auto operator<=>(const RawAttr&) const = default;
};

struct Aggregator {
    std::uint32_t asn = 0;
    std::uint32_t address = 0; // host order IPv4
    auto operator<=>(const Aggregator&) const = default;
};

// The decoded content of an UPDATE. `announced` holds one Route per NLRI (classic IPv4 NLRI and
// MP_REACH_NLRI), each carrying the message's attributes; `withdrawn` holds the withdrawn prefixes
// (classic and MP_UNREACH_NLRI). After treat-as-withdraw, announced is empty and every NLRI of the
// message is in withdrawn (RFC 7606 §2).
struct UpdateMsg {
    std::vector<Prefix> withdrawn;
    std::vector<Route> announced;
    bool atomic_aggregate = false;
    std::optional<Aggregator> aggregator;
    std::vector<RawAttr> unknown_transitive; // passed on as received
    // End-of-RIB marker (RFC 4724): an UPDATE with nothing in it, or an empty MP_UNREACH.
    std::optional<AfiSafi> end_of_rib;
    bool operator==(const UpdateMsg&) const = default;
};

struct KeepaliveMsg {
    bool operator==(const KeepaliveMsg&) const = default;
};

struct RouteRefreshMsg {
    AfiSafi family;
    std::uint8_t subtype = 0; // RFC 7313: 0 normal, 1 BoRR, 2 EoRR
    bool operator==(const RouteRefreshMsg&) const = default;
};

using Message = std::variant<OpenMsg, UpdateMsg, Notification, KeepaliveMsg, RouteRefreshMsg>;

// What the receiver must do about a malformed message, mildest to harshest (RFC 7606 §2).
enum class ErrorAction : std::uint8_t {
    none,              // message fine
    attribute_discard, // some attributes were dropped; the routes stand
    treat_as_withdraw, // the message's NLRI are withdrawn, never installed
    session_reset,     // send `notification`, close the session
};
std::string_view to_string(ErrorAction a) noexcept;

// Per-session decoding parameters, fixed once the OPENs are exchanged.
struct DecodeContext {
    bool four_octet_as = false; // both sides sent the capability: AS_PATH holds 4-octet ASNs
    bool ebgp = true;           // LOCAL_PREF from an eBGP peer is ignored (RFC 7606 §7.5)
    // eBGP: the first AS of AS_PATH must be the peer's (RFC 4271 §6.3); 0 = do not check.
    std::uint32_t peer_as = 0;
};

struct DecodeResult {
    std::optional<Message> message; // empty only for session_reset
    ErrorAction action = ErrorAction::none;
    Notification notification;         // meaningful when action == session_reset
    std::vector<std::string> problems; // one line per error found, for the log
};

// Checks a message header (the first 19 bytes): marker all ones, length within 19..4096 and
// within the bounds of its type. Returns the total message length, or a session-reset error.
struct HeaderCheck {
    std::size_t length = 0;
    MsgType type = MsgType::keepalive;
    std::optional<DecodeResult> error;
};
[[nodiscard]] HeaderCheck check_header(std::span<const std::uint8_t> header);

// Decodes one whole message (header included; `msg.size()` must be the header's length).
[[nodiscard]] DecodeResult decode_message(std::span<const std::uint8_t> msg,
                                          const DecodeContext& ctx);

// Decodes an UPDATE body (after the header). Exposed for the fuzz target and tests.
[[nodiscard]] DecodeResult decode_update_body(std::span<const std::uint8_t> body,
                                              const DecodeContext& ctx);

// Checks an OPEN against the local expectations (RFC 4271 §6.2). Returns the NOTIFICATION to
// send, or nullopt when the OPEN is acceptable. expected_as 0 = accept any AS.
[[nodiscard]] std::optional<Notification>
validate_open(const OpenMsg& open, std::uint32_t expected_as, std::uint32_t local_bgp_id);

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

struct EncodeContext {
    bool four_octet_as = false; // both sides sent the capability
    bool ebgp = true;           // eBGP: LOCAL_PREF is not sent
};

[[nodiscard]] std::vector<std::uint8_t> encode_open(const OpenMsg& open);
[[nodiscard]] std::vector<std::uint8_t> encode_keepalive();
[[nodiscard]] std::vector<std::uint8_t> encode_notification(const Notification& n);
[[nodiscard]] std::vector<std::uint8_t> encode_route_refresh(const RouteRefreshMsg& rr);

// Encodes one UPDATE exactly as given: all `announced` routes must share attributes with the
// first one (only their prefixes are used past the first). IPv4 routes with an IPv4 next hop go
// in the classic NLRI field, others in MP_REACH_NLRI; IPv6 withdrawals in MP_UNREACH_NLRI.
// Throws std::length_error when the result would exceed 4096 bytes.
[[nodiscard]] std::vector<std::uint8_t> encode_update(const UpdateMsg& u, const EncodeContext& ctx);

// Packs routes and withdrawals into as few UPDATEs as possible: routes with identical attributes
// share a message, each message ≤ 4096 bytes. Withdrawals come first. A route whose attributes
// alone exceed the limit (an absurd AS path) is skipped and counted in *dropped. Never throws
// except std::bad_alloc.
[[nodiscard]] std::vector<std::vector<std::uint8_t>>
encode_updates(std::span<const Route> announced, std::span<const Prefix> withdrawn,
               const EncodeContext& ctx, std::size_t* dropped = nullptr);

// As above, with attributes passed on unchanged (RFC 4271 §5: unknown optional transitive ones,
// Partial bit set): transit[i] belongs to announced[i] (nullptr or empty = none); routes share
// a message only when their transit attributes are equal too. transit.size() == announced.size().
[[nodiscard]] std::vector<std::vector<std::uint8_t>> encode_updates(
    std::span<const Route> announced, std::span<const std::vector<RawAttr>* const> transit,
    std::span<const Prefix> withdrawn, const EncodeContext& ctx, std::size_t* dropped = nullptr);

// End-of-RIB marker for a family (RFC 4724).
[[nodiscard]] std::vector<std::uint8_t> encode_end_of_rib(AfiSafi family);

} // namespace rsfwd::bgp
