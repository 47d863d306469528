// control/bgp/encode.cpp — BGP message encoding: OPEN, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH,
// End-of-RIB, one UPDATE as given, and the packer that fits routes into as few UPDATEs as
// possible.
//
// Thread: any. Cost: one pass over the routes plus one std::map of attribute groups when
// packing; each message is one vector of at most 4096 bytes.
// Why throwing is acceptable here: the only failure is a message over 4096 bytes, which the
// packer never builds; encode_update() on a caller's oversized UpdateMsg is a programming error.
#include "control/bgp/attributes.hpp"
#include "control/bgp/codec.hpp"
#include "control/bgp/nlri.hpp"
#include "control/bgp/wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace rsfwd::bgp {

namespace {

Writer begin_message(MsgType t) {
    Writer w;
    w.out.reserve(64);
    for (int i = 0; i < 16; ++i) w.u8(0xFF);
    w.u16(0);
    w.u8(static_cast<std::uint8_t>(t));
    return w;
}

std::vector<std::uint8_t> finish(Writer& w) {
    if (w.out.size() > max_message_len) {
        throw std::length_error(fmt::format("BGP message of {} bytes", w.out.size()));
    }
    w.put16(16, static_cast<std::uint16_t>(w.out.size()));
    return std::move(w.out);
}

bool classic_route(const Route& r) {
    return r.prefix.family() == Family::v4 && r.next_hop.is_v4();
}

// Packing (encode_updates): each helper appends whole messages to `out`, starting a new one
// when the next prefix would not fit in max_message_len.

// Offset of the total path attribute length of an UPDATE with no classic withdrawn routes.
constexpr std::size_t attrs_len_at = header_len + 2;

// The withdrawals of one family: IPv4 in the classic field, IPv6 in MP_UNREACH_NLRI.
void pack_withdrawals(Family fam, std::span<const Prefix> withdrawn,
                      std::vector<std::vector<std::uint8_t>>& out) {
    Writer w;
    std::size_t len_at = 0;
    std::size_t count = 0;
    auto start = [&] {
        w = begin_message(MsgType::update);
        if (fam == Family::v4) {
            len_at = w.out.size();
            w.u16(0);
        } else {
            w.u16(0);
            w.u16(0); // attribute length patched below
            len_at = begin_mp_unreach(w, fam);
        }
        count = 0;
    };
    auto flush = [&] {
        if (count == 0) return;
        w.patch_len(len_at);
        if (fam == Family::v6)
            w.patch_len(attrs_len_at);
        else
            w.u16(0); // total path attribute length
        out.push_back(finish(w));
    };
    start();
    const std::size_t extra = fam == Family::v4 ? 2 : 0; // room for the attribute length
    for (const auto& p : withdrawn) {
        if (p.family() != fam) continue;
        if (w.out.size() + prefix_wire_len(p) + extra > max_message_len) {
            flush();
            start();
        }
        write_prefix(w, p);
        ++count;
    }
    flush();
}

// The routes of one attribute group (same attributes and transit attributes, only prefixes
// differ). false when the attributes alone leave no room for a prefix: nothing is sent.
bool pack_group(const std::vector<const Route*>& routes, const std::vector<RawAttr>& transit,
                const EncodeContext& ctx, std::vector<std::vector<std::uint8_t>>& out) {
    const Route& first = *routes.front();
    const bool classic = classic_route(first);
    UpdateMsg extras_msg;
    extras_msg.unknown_transitive = transit;
    const UpdateMsg* extras = transit.empty() ? nullptr : &extras_msg;
    // Written once per group: before the NLRI (classic) or after MP_REACH's NLRI.
    Writer attrs;
    write_common_attrs(attrs, first, extras, classic, ctx);
    // A path so long that one route does not fit in 4096 bytes cannot be sent at all.
    const std::size_t mp_overhead = classic ? 0 : 4 + 5 + 16 + 1;
    if (23 + mp_overhead + attrs.out.size() + 17 > max_message_len) return false;

    Writer w;
    std::size_t mp_len_at = 0, alen_at = 0, count = 0;
    auto start = [&] {
        w = begin_message(MsgType::update);
        w.u16(0);
        alen_at = w.out.size();
        w.u16(0);
        if (classic) {
            w.bytes(attrs.out);
            w.patch_len(alen_at);
        } else {
            mp_len_at = begin_mp_reach(w, first.prefix.family(), first.next_hop);
        }
        count = 0;
    };
    auto flush = [&] {
        if (count == 0) return;
        if (!classic) {
            w.patch_len(mp_len_at);
            w.bytes(attrs.out);
            w.patch_len(alen_at);
        }
        out.push_back(finish(w));
    };
    start();
    const std::size_t room = classic ? 0 : attrs.out.size();
    for (const Route* r : routes) {
        if (w.out.size() + prefix_wire_len(r->prefix) + room > max_message_len) {
            flush();
            start();
        }
        write_prefix(w, r->prefix);
        ++count;
    }
    flush();
    return true;
}

} // namespace

std::vector<std::uint8_t> encode_open(const OpenMsg& o) {
    Writer w = begin_message(MsgType::open);
    w.u8(o.version);
    w.u16(o.my_as);
    w.u16(o.hold_time);
    w.u32(o.bgp_id);
    Writer caps;
    auto cap = [&](std::uint8_t code, std::span<const std::uint8_t> v) {
        caps.u8(code);
        caps.u8(static_cast<std::uint8_t>(v.size()));
        caps.bytes(v);
    };
    for (const auto& f : o.caps.multiprotocol) {
        Writer v;
        v.u16(f.afi);
        v.u8(0);
        v.u8(f.safi);
        cap(1, v.out);
    }
    if (o.caps.route_refresh) cap(2, {});
    if (o.caps.enhanced_route_refresh) cap(70, {});
    if (o.caps.four_octet_as) {
        Writer v;
        v.u32(*o.caps.four_octet_as);
        cap(65, v.out);
    }
    for (const auto& [code, v] : o.caps.other) cap(code, v);
    // One Capabilities optional parameter (RFC 5492 allows one or many).
    if (caps.out.size() > 253) throw std::length_error("OPEN capabilities too long");
    if (caps.out.empty()) {
        w.u8(0);
    } else {
        w.u8(static_cast<std::uint8_t>(caps.out.size() + 2));
        w.u8(2);
        w.u8(static_cast<std::uint8_t>(caps.out.size()));
        w.bytes(caps.out);
    }
    return finish(w);
}

std::vector<std::uint8_t> encode_keepalive() {
    Writer w = begin_message(MsgType::keepalive);
    return finish(w);
}

std::vector<std::uint8_t> encode_notification(const Notification& n) {
    Writer w = begin_message(MsgType::notification);
    w.u8(n.code);
    w.u8(n.subcode);
    w.bytes(std::span(n.data.data(), std::min<std::size_t>(n.data.size(), max_message_len - 21)));
    return finish(w);
}

std::vector<std::uint8_t> encode_route_refresh(const RouteRefreshMsg& rr) {
    Writer w = begin_message(MsgType::route_refresh);
    w.u16(rr.family.afi);
    w.u8(rr.subtype);
    w.u8(rr.family.safi);
    return finish(w);
}

std::vector<std::uint8_t> encode_end_of_rib(AfiSafi family) {
    Writer w = begin_message(MsgType::update);
    w.u16(0);
    if (family.afi == afi_ipv4 && family.safi == safi_unicast) {
        w.u16(0);
    } else {
        w.u16(6);
        w.u8(attr::flag_optional);
        w.u8(attr::mp_unreach);
        w.u8(3);
        w.u16(family.afi);
        w.u8(family.safi);
    }
    return finish(w);
}

std::vector<std::uint8_t> encode_update(const UpdateMsg& u, const EncodeContext& ctx) {
    Writer w = begin_message(MsgType::update);
    // Withdrawn: IPv4 in the classic field, IPv6 in MP_UNREACH_NLRI.
    const auto wlen_at = w.out.size();
    w.u16(0);
    bool has_v6_withdraw = false;
    for (const auto& p : u.withdrawn) {
        if (p.family() == Family::v4)
            write_prefix(w, p);
        else
            has_v6_withdraw = true;
    }
    w.patch_len(wlen_at);
    const auto alen_at = w.out.size();
    w.u16(0);
    // RFC 7606 §5.1: MP_REACH / MP_UNREACH first.
    if (has_v6_withdraw) {
        const auto at = begin_mp_unreach(w, Family::v6);
        for (const auto& p : u.withdrawn) {
            if (p.family() == Family::v6) write_prefix(w, p);
        }
        w.patch_len(at);
    }
    bool classic = false;
    if (!u.announced.empty()) {
        const Route& first = u.announced.front();
        classic = classic_route(first);
        if (!classic) {
            const auto at = begin_mp_reach(w, first.prefix.family(), first.next_hop);
            for (const auto& r : u.announced) write_prefix(w, r.prefix);
            w.patch_len(at);
        }
        write_common_attrs(w, first, &u, classic, ctx);
    }
    w.patch_len(alen_at);
    if (classic) {
        for (const auto& r : u.announced) write_prefix(w, r.prefix);
    }
    return finish(w);
}

std::vector<std::vector<std::uint8_t>> encode_updates(std::span<const Route> announced,
                                                      std::span<const Prefix> withdrawn,
                                                      const EncodeContext& ctx,
                                                      std::size_t* dropped) {
    return encode_updates(announced, {}, withdrawn, ctx, dropped);
}

std::vector<std::vector<std::uint8_t>>
encode_updates(std::span<const Route> announced,
               std::span<const std::vector<RawAttr>* const> transit,
               std::span<const Prefix> withdrawn, const EncodeContext& ctx, std::size_t* dropped) {
    std::vector<std::vector<std::uint8_t>> out;
    for (const Family fam : {Family::v4, Family::v6}) pack_withdrawals(fam, withdrawn, out);

    // Announcements grouped by attributes (the route with its prefix cleared, plus the transit
    // attributes, is the key).
    std::map<std::pair<Route, std::vector<RawAttr>>, std::vector<const Route*>> groups;
    for (std::size_t i = 0; i < announced.size(); ++i) {
        const Route& r = announced[i];
        std::pair<Route, std::vector<RawAttr>> key{r, {}};
        key.first.prefix = Prefix{};
        if (i < transit.size() && transit[i] != nullptr) key.second = *transit[i];
        groups[std::move(key)].push_back(&r);
    }
    for (const auto& [key, routes] : groups) {
        if (!pack_group(routes, key.second, ctx, out) && dropped) *dropped += routes.size();
    }
    return out;
}

} // namespace rsfwd::bgp
