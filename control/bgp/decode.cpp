// control/bgp/decode.cpp — message framing and the small messages: the header check, OPEN with
// its capabilities (RFC 5492), NOTIFICATION, KEEPALIVE, ROUTE-REFRESH (RFC 2918, 7313), and the
// dispatch of a whole message by type (UPDATE itself is in decode_update.cpp).
//
// Thread: any. Cost: one pass over the message.
// Why every error here is a session reset: without a sound header or OPEN there is no message
// to degrade, so RFC 7606's milder actions do not apply (RFC 4271 §6.1, §6.2).
#include "control/bgp/codec.hpp"
#include "control/bgp/errors.hpp"
#include "control/bgp/wire.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace rsfwd::bgp {

HeaderCheck check_header(std::span<const std::uint8_t> h) {
    HeaderCheck hc;
    if (h.size() < header_len) {
        hc.error = reset(err::header, err::bad_message_length, {}, "header truncated");
        return hc;
    }
    for (std::size_t i = 0; i < 16; ++i) {
        if (h[i] != 0xFF) {
            hc.error = reset(err::header, err::conn_not_synchronized, {}, "marker not all ones");
            return hc;
        }
    }
    const std::size_t len = (std::size_t{h[16]} << 8) | h[17];
    const std::uint8_t type = h[18];
    auto bad_len = [&] {
        hc.error = reset(err::header, err::bad_message_length, {h[16], h[17]},
                         fmt::format("bad message length {} for type {}", len, type));
        return hc;
    };
    if (len < header_len || len > max_message_len) return bad_len();
    switch (static_cast<MsgType>(type)) {
    case MsgType::open:
        if (len < header_len + 10) return bad_len();
        break;
    case MsgType::update:
        if (len < header_len + 4) return bad_len();
        break;
    case MsgType::notification:
        if (len < header_len + 2) return bad_len();
        break;
    case MsgType::keepalive:
        if (len != header_len) return bad_len();
        break;
    case MsgType::route_refresh:
        if (len < header_len + 4) return bad_len();
        break;
    default:
        hc.error = reset(err::header, err::bad_message_type, {type},
                         fmt::format("unknown message type {}", type));
        return hc;
    }
    hc.length = len;
    hc.type = static_cast<MsgType>(type);
    return hc;
}

namespace {

// One capability into `caps`. A known capability with the wrong length is ignored (and
// logged): the session works without it, which beats refusing the peer.
void decode_capability(std::uint8_t code, std::span<const std::uint8_t> value, Capabilities& caps,
                       DecodeResult& res) {
    Reader v(value);
    switch (code) {
    case 1: { // multiprotocol
        if (value.size() != 4) {
            res.problems.push_back("multiprotocol capability with length != 4 ignored");
            break;
        }
        AfiSafi f;
        f.afi = v.u16();
        v.u8(); // reserved
        f.safi = v.u8();
        if (std::find(caps.multiprotocol.begin(), caps.multiprotocol.end(), f) ==
            caps.multiprotocol.end()) {
            caps.multiprotocol.push_back(f);
        }
        break;
    }
    case 2:
    case 128:
        caps.route_refresh = true;
        break;
    case 70:
        caps.enhanced_route_refresh = true;
        break;
    case 65:
        if (value.size() != 4) {
            res.problems.push_back("4-octet AS capability with length != 4 ignored");
        } else {
            caps.four_octet_as = v.u32();
        }
        break;
    default:
        caps.other.emplace_back(code, std::vector(value.begin(), value.end()));
    }
}

// The value of a Capabilities optional parameter: a run of (code, length, value).
MaybeReset decode_capabilities(std::span<const std::uint8_t> param, Capabilities& caps,
                               DecodeResult& res) {
    Reader c(param);
    while (!c.empty()) {
        const auto code = c.u8();
        const auto clen = c.u8();
        auto cval = c.take(clen);
        if (c.bad()) return reset(err::open, 0, {}, "OPEN capability truncated");
        decode_capability(code, cval, caps, res);
    }
    return std::nullopt;
}

DecodeResult decode_open_body(std::span<const std::uint8_t> body) {
    Reader r(body);
    OpenMsg o;
    o.version = r.u8();
    o.my_as = r.u16();
    o.hold_time = r.u16();
    o.bgp_id = r.u32();
    const std::size_t opt_len = r.u8();
    if (r.bad() || opt_len != r.left()) {
        return reset(err::open, 0, {}, "OPEN optional parameters length mismatch");
    }
    DecodeResult res;
    while (!r.empty()) {
        const auto ptype = r.u8();
        const auto plen = r.u8();
        auto pval = r.take(plen);
        if (r.bad()) return reset(err::open, 0, {}, "OPEN optional parameter truncated");
        if (ptype != 2) {
            return reset(err::open, err::unsupported_optional_parameter, {},
                         fmt::format("unsupported optional parameter {}", ptype));
        }
        if (auto fatal = decode_capabilities(pval, o.caps, res)) return std::move(*fatal);
    }
    res.message = std::move(o);
    return res;
}

// ROUTE-REFRESH: exactly 4 octets of body. `msg` is the whole message (the error data).
DecodeResult decode_route_refresh(std::span<const std::uint8_t> msg) {
    const auto body = msg.subspan(header_len);
    RouteRefreshMsg rr;
    rr.family.afi = static_cast<std::uint16_t>((body[0] << 8) | body[1]);
    rr.subtype = body[2];
    rr.family.safi = body[3];
    if (body.size() != 4) {
        if (rr.subtype == 1 || rr.subtype == 2) { // RFC 7313 §5
            return reset(err::route_refresh, err::invalid_message_length,
                         std::vector(msg.begin(), msg.end()), "ROUTE-REFRESH length != 23");
        }
        return reset(err::header, err::bad_message_length, {msg[16], msg[17]},
                     "ROUTE-REFRESH length != 23");
    }
    DecodeResult r;
    r.message = rr;
    return r;
}

} // namespace

DecodeResult decode_message(std::span<const std::uint8_t> msg, const DecodeContext& ctx) {
    auto hc = check_header(msg);
    if (hc.error) return std::move(*hc.error);
    if (hc.length != msg.size()) {
        return reset(err::header, err::bad_message_length, {msg[16], msg[17]},
                     "message length differs from the bytes given");
    }
    auto body = msg.subspan(header_len);
    switch (hc.type) {
    case MsgType::open:
        return decode_open_body(body);
    case MsgType::update:
        return decode_update_body(body, ctx);
    case MsgType::notification: {
        DecodeResult r;
        r.message = Notification{body[0], body[1], std::vector(body.begin() + 2, body.end())};
        return r;
    }
    case MsgType::keepalive: {
        DecodeResult r;
        r.message = KeepaliveMsg{};
        return r;
    }
    case MsgType::route_refresh:
        return decode_route_refresh(msg);
    }
    return reset(err::header, err::bad_message_type, {msg[18]}, "unknown message type");
}

std::optional<Notification> validate_open(const OpenMsg& open, std::uint32_t expected_as,
                                          std::uint32_t local_bgp_id) {
    if (open.version != 4) return Notification{err::open, err::unsupported_version, {0, 4}};
    const auto asn = open.asn();
    if (asn == 0 || (open.my_as == as_trans && !open.caps.four_octet_as) ||
        (expected_as != 0 && asn != expected_as)) {
        return Notification{err::open, err::bad_peer_as, {}};
    }
    if (open.hold_time == 1 || open.hold_time == 2) {
        return Notification{err::open, err::unacceptable_hold_time, {}};
    }
    if (open.bgp_id == 0 || open.bgp_id == 0xFFFFFFFF || (open.bgp_id >> 28) == 0xE) {
        return Notification{err::open, err::bad_bgp_identifier, {}};
    }
    (void)local_bgp_id; // RFC 6286: an equal identifier is legal between different ASes
    return std::nullopt;
}

} // namespace rsfwd::bgp
