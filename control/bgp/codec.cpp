// control/bgp/codec.cpp — BGP wire format. Every read goes through Reader, which checks bounds
// before touching a byte, so a hostile or truncated message can only produce an error result.
// Error classification follows RFC 7606: the mildest action that keeps the RIB correct (attribute
// discard < treat-as-withdraw < session reset); session reset only when the message cannot be
// parsed further (framing, NLRI, MP_REACH/MP_UNREACH) or RFC 4271 leaves no other choice
// (unrecognized well-known attribute).
#include "control/bgp/codec.hpp"

#include "control/bgp/as_path.hpp"
#include "control/bgp/errors.hpp"
#include "control/bgp/nlri.hpp"
#include "control/bgp/wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>

namespace rsfwd::bgp {

namespace {

std::vector<std::uint8_t> u16_bytes(std::size_t v) {
    return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

const char* attr_name(std::uint8_t type) {
    switch (type) {
    case attr::origin:
        return "ORIGIN";
    case attr::as_path:
        return "AS_PATH";
    case attr::next_hop:
        return "NEXT_HOP";
    case attr::med:
        return "MULTI_EXIT_DISC";
    case attr::local_pref:
        return "LOCAL_PREF";
    case attr::atomic_aggregate:
        return "ATOMIC_AGGREGATE";
    case attr::aggregator:
        return "AGGREGATOR";
    case attr::communities:
        return "COMMUNITIES";
    case attr::mp_reach:
        return "MP_REACH_NLRI";
    case attr::mp_unreach:
        return "MP_UNREACH_NLRI";
    case attr::as4_path:
        return "AS4_PATH";
    case attr::as4_aggregator:
        return "AS4_AGGREGATOR";
    case attr::large_communities:
        return "LARGE_COMMUNITY";
    default:
        return "attribute";
    }
}

// Expected Optional/Transitive flags of the attributes we know; nullopt for unknown types.
std::optional<std::uint8_t> expected_flags(std::uint8_t type) {
    constexpr std::uint8_t wk = attr::flag_transitive;
    constexpr std::uint8_t opt_t = attr::flag_optional | attr::flag_transitive;
    constexpr std::uint8_t opt_nt = attr::flag_optional;
    switch (type) {
    case attr::origin:
    case attr::as_path:
    case attr::next_hop:
    case attr::local_pref:
    case attr::atomic_aggregate:
        return wk;
    case attr::aggregator:
    case attr::communities:
    case attr::as4_path:
    case attr::as4_aggregator:
    case attr::large_communities:
        return opt_t;
    case attr::med:
    case attr::mp_reach:
    case attr::mp_unreach:
        return opt_nt;
    default:
        return std::nullopt;
    }
}

bool bad_v4_next_hop(std::uint32_t nh) {
    // 0.0.0.0, class D/E and broadcast are never valid next hops (RFC 4271 §6.3 semantics).
    return nh == 0 || (nh >> 28) >= 0xE;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

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
        Reader c(pval);
        while (!c.empty()) {
            const auto code = c.u8();
            const auto clen = c.u8();
            auto cval = c.take(clen);
            if (c.bad()) return reset(err::open, 0, {}, "OPEN capability truncated");
            Reader v(cval);
            switch (code) {
            case 1: // multiprotocol
                if (clen != 4) {
                    res.problems.push_back("multiprotocol capability with length != 4 ignored");
                    break;
                } else {
                    AfiSafi f;
                    f.afi = v.u16();
                    v.u8();
                    f.safi = v.u8();
                    if (std::find(o.caps.multiprotocol.begin(), o.caps.multiprotocol.end(), f) ==
                        o.caps.multiprotocol.end()) {
                        o.caps.multiprotocol.push_back(f);
                    }
                }
                break;
            case 2:
            case 128:
                o.caps.route_refresh = true;
                break;
            case 70:
                o.caps.enhanced_route_refresh = true;
                break;
            case 65:
                if (clen != 4) {
                    res.problems.push_back("4-octet AS capability with length != 4 ignored");
                } else {
                    o.caps.four_octet_as = v.u32();
                }
                break;
            default:
                o.caps.other.emplace_back(code, std::vector(cval.begin(), cval.end()));
            }
        }
    }
    res.message = std::move(o);
    return res;
}

} // namespace

DecodeResult decode_update_body(std::span<const std::uint8_t> body, const DecodeContext& ctx) {
    Reader r(body);
    const std::size_t wlen = r.u16();
    auto wdata = r.take(wlen);
    if (r.bad()) {
        return reset(err::update, err::malformed_attribute_list, {},
                     "withdrawn routes length overruns the message");
    }
    const std::size_t alen = r.u16();
    auto adata = r.take(alen);
    if (r.bad()) {
        return reset(err::update, err::malformed_attribute_list, {},
                     "total path attribute length overruns the message");
    }
    auto ndata = body.subspan(r.pos());

    DecodeResult res;
    UpdateMsg u;
    std::string why;
    if (!parse_nlri(wdata, Family::v4, u.withdrawn, why)) {
        return reset(err::update, err::invalid_network_field, {}, "withdrawn routes: " + why);
    }
    std::vector<Prefix> nlri;
    if (!parse_nlri(ndata, Family::v4, nlri, why)) {
        return reset(err::update, err::invalid_network_field, {}, "NLRI: " + why);
    }

    // Attributes.
    std::array<bool, 256> seen{};
    std::optional<Origin> origin;
    std::optional<AsPath> as_path, as4_path;
    std::optional<IpAddr> next_hop;
    std::optional<std::uint32_t> med, local_pref;
    std::optional<Aggregator> as4_aggregator;
    std::vector<Community> comms;
    std::vector<LargeCommunity> large;
    std::vector<Prefix> mp_nlri;
    IpAddr mp_next_hop;
    bool mp_reach_seen = false;

    Reader a(adata);
    while (!a.empty()) {
        if (a.left() < 3) {
            raise(res, ErrorAction::treat_as_withdraw, "path attributes end with a partial header");
            break;
        }
        const auto flags = a.u8();
        const auto type = a.u8();
        const bool ext = (flags & attr::flag_extended) != 0;
        if (ext && a.left() < 2) {
            raise(res, ErrorAction::treat_as_withdraw, "path attributes end with a partial header");
            break;
        }
        const std::size_t len = ext ? a.u16() : a.u8();
        if (a.left() < len) {
            raise(res, ErrorAction::treat_as_withdraw,
                  fmt::format("{} length {} overruns the path attributes", attr_name(type), len));
            break;
        }
        auto v = a.take(len);
        Reader vr(v);

        if (seen[type]) {
            if (type == attr::mp_reach || type == attr::mp_unreach) {
                return reset(err::update, err::malformed_attribute_list, {},
                             fmt::format("{} appears twice", attr_name(type)));
            }
            raise(res, ErrorAction::attribute_discard,
                  fmt::format("duplicate {} (type {}) discarded", attr_name(type), type));
            continue;
        }
        seen[type] = true;

        const auto expect = expected_flags(type);
        if (!expect) {
            if ((flags & attr::flag_optional) == 0) {
                // RFC 4271 §6.3; RFC 7606 keeps this a session reset. Data: the attribute.
                std::vector<std::uint8_t> data{flags, type};
                if (ext) {
                    auto l = u16_bytes(len);
                    data.insert(data.end(), l.begin(), l.end());
                } else {
                    data.push_back(static_cast<std::uint8_t>(len));
                }
                data.insert(data.end(), v.begin(), v.end());
                return reset(err::update, err::unrecognized_well_known, std::move(data),
                             fmt::format("unrecognized well-known attribute type {}", type));
            }
            if (flags & attr::flag_transitive) {
                u.unknown_transitive.push_back(RawAttr{
                    static_cast<std::uint8_t>((flags & ~attr::flag_extended) | attr::flag_partial),
                    type, std::vector(v.begin(), v.end())});
            }
            continue;
        }
        const bool flags_ok = (flags & (attr::flag_optional | attr::flag_transitive)) == *expect;
        if (!flags_ok && type != attr::mp_reach && type != attr::mp_unreach) {
            // RFC 7606 §3(c).
            raise(res, ErrorAction::treat_as_withdraw,
                  fmt::format("{} has flags {:#04x}", attr_name(type), flags));
            continue;
        }

        switch (type) {
        case attr::origin:
            if (len != 1 || v[0] > 2) {
                raise(res, ErrorAction::treat_as_withdraw, "malformed ORIGIN");
            } else {
                origin = static_cast<Origin>(v[0]);
            }
            break;
        case attr::as_path: {
            AsPath p;
            if (!parse_as_path(v, ctx.four_octet_as ? 4 : 2, p, why)) {
                raise(res, ErrorAction::treat_as_withdraw, why);
            } else if (ctx.ebgp && std::any_of(p.segments.begin(), p.segments.end(), is_confed)) {
                raise(res, ErrorAction::treat_as_withdraw,
                      "confederation segment in AS_PATH from an eBGP peer");
            } else {
                as_path = std::move(p);
            }
            break;
        }
        case attr::next_hop:
            if (len != 4) {
                raise(res, ErrorAction::treat_as_withdraw, "NEXT_HOP length != 4");
            } else {
                const auto nh = vr.u32();
                if (bad_v4_next_hop(nh)) {
                    raise(res, ErrorAction::treat_as_withdraw,
                          fmt::format("invalid NEXT_HOP {}", IpAddr::v4(nh).str()));
                } else {
                    next_hop = IpAddr::v4(nh);
                }
            }
            break;
        case attr::med:
            if (len != 4)
                raise(res, ErrorAction::treat_as_withdraw, "MED length != 4");
            else
                med = vr.u32();
            break;
        case attr::local_pref:
            if (ctx.ebgp) {
                raise(res, ErrorAction::attribute_discard, "LOCAL_PREF from an eBGP peer ignored");
            } else if (len != 4) {
                raise(res, ErrorAction::treat_as_withdraw, "LOCAL_PREF length != 4");
            } else {
                local_pref = vr.u32();
            }
            break;
        case attr::atomic_aggregate:
            if (len != 0)
                raise(res, ErrorAction::attribute_discard, "ATOMIC_AGGREGATE length != 0");
            else
                u.atomic_aggregate = true;
            break;
        case attr::aggregator: {
            const std::size_t want = ctx.four_octet_as ? 8 : 6;
            if (len != want) {
                raise(res, ErrorAction::attribute_discard, "AGGREGATOR length wrong");
                break;
            }
            Aggregator ag;
            ag.asn = ctx.four_octet_as ? vr.u32() : vr.u16();
            ag.address = vr.u32();
            if (ag.asn == 0)
                raise(res, ErrorAction::attribute_discard, "AGGREGATOR AS 0"); // RFC 7607
            else
                u.aggregator = ag;
            break;
        }
        case attr::communities:
            if (len == 0 || len % 4 != 0) {
                raise(res, ErrorAction::treat_as_withdraw,
                      "COMMUNITIES length not a multiple of 4");
            } else {
                for (std::size_t i = 0; i < len / 4; ++i) comms.push_back(vr.u32());
            }
            break;
        case attr::large_communities:
            if (len == 0 || len % 12 != 0) {
                raise(res, ErrorAction::treat_as_withdraw,
                      "LARGE_COMMUNITY length not a multiple of 12");
            } else {
                for (std::size_t i = 0; i < len / 12; ++i) {
                    LargeCommunity lc;
                    lc.global = vr.u32();
                    lc.local1 = vr.u32();
                    lc.local2 = vr.u32();
                    large.push_back(lc);
                }
            }
            break;
        case attr::as4_path: {
            if (ctx.four_octet_as) break; // RFC 6793 §4.1: ignored between NEW speakers
            AsPath p;
            if (!parse_as_path(v, 4, p, why)) {
                raise(res, ErrorAction::attribute_discard, "AS4_PATH discarded: " + why);
            } else if (std::any_of(p.segments.begin(), p.segments.end(), is_confed)) {
                raise(res, ErrorAction::attribute_discard, "AS4_PATH with confederation segments");
            } else {
                as4_path = std::move(p);
            }
            break;
        }
        case attr::as4_aggregator:
            if (ctx.four_octet_as) break;
            if (len != 8) {
                raise(res, ErrorAction::attribute_discard, "AS4_AGGREGATOR length != 8");
            } else {
                Aggregator ag;
                ag.asn = vr.u32();
                ag.address = vr.u32();
                as4_aggregator = ag;
            }
            break;
        case attr::mp_reach: {
            const auto afi = vr.u16();
            const auto safi = vr.u8();
            const std::size_t nhlen = vr.u8();
            auto nh = vr.take(nhlen);
            vr.u8(); // reserved
            if (vr.bad()) {
                return reset(err::update, err::optional_attribute, {}, "MP_REACH_NLRI truncated");
            }
            mp_reach_seen = true;
            const auto fam = family_of(afi, safi);
            if (!fam) {
                res.problems.push_back(
                    fmt::format("MP_REACH_NLRI for AFI {} SAFI {} ignored", afi, safi));
                break;
            }
            if (nhlen == 4) {
                Reader n(nh);
                mp_next_hop = IpAddr::v4(n.u32());
            } else if (nhlen == 16 || nhlen == 32) {
                std::array<std::uint8_t, 16> b{};
                std::copy(nh.begin(), nh.begin() + 16, b.begin());
                mp_next_hop = IpAddr::v6(b);
            } else {
                return reset(err::update, err::optional_attribute, {},
                             fmt::format("MP_REACH_NLRI next hop length {}", nhlen));
            }
            if (*fam == Family::v6 && nhlen == 4) {
                return reset(err::update, err::optional_attribute, {},
                             "MP_REACH_NLRI IPv6 with an IPv4 next hop");
            }
            auto rest = v.subspan(vr.pos());
            if (!parse_nlri(rest, *fam, mp_nlri, why)) {
                return reset(err::update, err::optional_attribute, {}, "MP_REACH_NLRI: " + why);
            }
            if (!flags_ok) raise(res, ErrorAction::treat_as_withdraw, "MP_REACH_NLRI flags");
            break;
        }
        case attr::mp_unreach: {
            const auto afi = vr.u16();
            const auto safi = vr.u8();
            if (vr.bad()) {
                return reset(err::update, err::optional_attribute, {}, "MP_UNREACH_NLRI truncated");
            }
            const auto fam = family_of(afi, safi);
            if (!fam) {
                res.problems.push_back(
                    fmt::format("MP_UNREACH_NLRI for AFI {} SAFI {} ignored", afi, safi));
                break;
            }
            const auto before = u.withdrawn.size();
            if (!parse_nlri(v.subspan(3), *fam, u.withdrawn, why)) {
                return reset(err::update, err::optional_attribute, {}, "MP_UNREACH_NLRI: " + why);
            }
            if (u.withdrawn.size() == before && alen == len + (ext ? 4 : 3) && nlri.empty() &&
                wlen == 0) {
                u.end_of_rib = AfiSafi{afi, safi};
            }
            break;
        }
        default:
            break;
        }
    }

    if (wlen == 0 && alen == 0 && nlri.empty()) u.end_of_rib = AfiSafi{afi_ipv4, safi_unicast};

    // RFC 6793 §4.2.3: a 2-octet session may carry 4-octet ASNs in AS4_PATH / AS4_AGGREGATOR.
    if (!ctx.four_octet_as) {
        bool use_as4 = as4_path.has_value();
        if (as4_aggregator) {
            if (u.aggregator && u.aggregator->asn != as_trans) {
                use_as4 = false; // the AGGREGATOR is authoritative: ignore both AS4 attributes
            } else {
                u.aggregator = *as4_aggregator;
            }
        }
        if (use_as4 && as_path) as_path = merge_as4(*as_path, *as4_path);
    }

    const bool announcing = !nlri.empty() || !mp_nlri.empty();
    if (announcing) {
        // RFC 7606 §3(d): a missing well-known mandatory attribute → treat-as-withdraw.
        if (!origin && !seen[attr::origin]) {
            raise(res, ErrorAction::treat_as_withdraw, "missing ORIGIN");
        }
        if (!as_path && !seen[attr::as_path]) {
            raise(res, ErrorAction::treat_as_withdraw, "missing AS_PATH");
        }
        if (!nlri.empty() && !next_hop && !seen[attr::next_hop]) {
            raise(res, ErrorAction::treat_as_withdraw, "missing NEXT_HOP");
        }
        if (as_path) {
            // RFC 7607 / G4: AS 0 in AS_PATH is malformed.
            if (as_path->contains(0)) {
                raise(res, ErrorAction::treat_as_withdraw, "AS 0 in AS_PATH");
            }
            // RFC 4271 §6.3: an eBGP peer's path starts with its own AS.
            if (ctx.ebgp && ctx.peer_as != 0) {
                const auto first = as_path->first_asn();
                if (!first || as_path->segments.front().type != AsPathSegment::sequence ||
                    *first != ctx.peer_as) {
                    raise(res, ErrorAction::treat_as_withdraw,
                          fmt::format("AS_PATH does not start with the peer AS {}", ctx.peer_as));
                }
            }
        }
    }

    if (res.action == ErrorAction::treat_as_withdraw) {
        u.withdrawn.insert(u.withdrawn.end(), nlri.begin(), nlri.end());
        u.withdrawn.insert(u.withdrawn.end(), mp_nlri.begin(), mp_nlri.end());
        u.unknown_transitive.clear();
        u.aggregator.reset();
        u.atomic_aggregate = false;
    } else if (announcing) {
        Route base;
        base.origin = origin.value_or(Origin::igp);
        if (as_path) base.as_path = std::move(*as_path);
        base.communities = std::move(comms);
        base.large_communities = std::move(large);
        base.med = med;
        base.local_pref = local_pref;
        u.announced.reserve(nlri.size() + mp_nlri.size());
        for (const auto& p : nlri) {
            Route rt = base;
            rt.prefix = p;
            rt.next_hop = next_hop.value_or(IpAddr{});
            u.announced.push_back(std::move(rt));
        }
        for (const auto& p : mp_nlri) {
            Route rt = base;
            rt.prefix = p;
            rt.next_hop = mp_next_hop;
            u.announced.push_back(std::move(rt));
        }
    }
    (void)mp_reach_seen;
    res.message = std::move(u);
    return res;
}

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
    case MsgType::route_refresh: {
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

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

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

void put_attr(Writer& w, std::uint8_t flags, std::uint8_t type, std::span<const std::uint8_t> v) {
    if (v.size() > 255)
        flags |= attr::flag_extended;
    else
        flags &= static_cast<std::uint8_t>(~attr::flag_extended);
    w.u8(flags);
    w.u8(type);
    if (flags & attr::flag_extended)
        w.u16(static_cast<std::uint16_t>(v.size()));
    else
        w.u8(static_cast<std::uint8_t>(v.size()));
    w.bytes(v);
}

// Attributes shared by a group of routes, without the NLRI and MP attributes.
void write_common_attrs(Writer& w, const Route& r, const UpdateMsg* extras, bool classic_nh,
                        const EncodeContext& ctx) {
    const std::uint8_t wk = attr::flag_transitive;
    const std::uint8_t opt_t = attr::flag_optional | attr::flag_transitive;
    const std::uint8_t origin = static_cast<std::uint8_t>(r.origin);
    put_attr(w, wk, attr::origin, std::span(&origin, 1));
    auto path = as_path_bytes(r.as_path, ctx.four_octet_as ? 4 : 2, true);
    put_attr(w, wk, attr::as_path, path);
    if (classic_nh) {
        Writer nh;
        nh.bytes(std::span(r.next_hop.bytes.data(), 4));
        put_attr(w, wk, attr::next_hop, nh.out);
    }
    if (r.med) {
        Writer m;
        m.u32(*r.med);
        put_attr(w, attr::flag_optional, attr::med, m.out);
    }
    if (!ctx.ebgp) {
        Writer m;
        m.u32(r.local_pref.value_or(100));
        put_attr(w, wk, attr::local_pref, m.out);
    }
    if (extras && extras->atomic_aggregate) put_attr(w, wk, attr::atomic_aggregate, {});
    if (extras && extras->aggregator) {
        Writer m;
        const auto& ag = *extras->aggregator;
        if (ctx.four_octet_as)
            m.u32(ag.asn);
        else
            m.u16(ag.asn > 0xFFFF ? as_trans : static_cast<std::uint16_t>(ag.asn));
        m.u32(ag.address);
        put_attr(w, opt_t, attr::aggregator, m.out);
    }
    if (!r.communities.empty()) {
        Writer m;
        for (auto c : r.communities) m.u32(c);
        put_attr(w, opt_t, attr::communities, m.out);
    }
    if (!ctx.four_octet_as && needs_as4(r.as_path)) {
        AsPath p4;
        for (const auto& s : r.as_path.segments) {
            if (!is_confed(s)) p4.segments.push_back(s);
        }
        put_attr(w, opt_t, attr::as4_path, as_path_bytes(p4, 4, false));
        if (extras && extras->aggregator && extras->aggregator->asn > 0xFFFF) {
            Writer m;
            m.u32(extras->aggregator->asn);
            m.u32(extras->aggregator->address);
            put_attr(w, opt_t, attr::as4_aggregator, m.out);
        }
    }
    if (!r.large_communities.empty()) {
        Writer m;
        for (const auto& c : r.large_communities) {
            m.u32(c.global);
            m.u32(c.local1);
            m.u32(c.local2);
        }
        put_attr(w, opt_t, attr::large_communities, m.out);
    }
    if (extras) {
        for (const auto& x : extras->unknown_transitive) put_attr(w, x.flags, x.type, x.value);
    }
}

bool classic_route(const Route& r) {
    return r.prefix.family() == Family::v4 && r.next_hop.is_v4();
}

// MP_REACH_NLRI header for (family, next hop), extended length, value length left at 0.
// Returns the offset of the length field.
std::size_t begin_mp_reach(Writer& w, Family fam, const IpAddr& nh) {
    w.u8(attr::flag_optional | attr::flag_extended);
    w.u8(attr::mp_reach);
    const auto len_at = w.out.size();
    w.u16(0);
    w.u16(afi_of(fam));
    w.u8(safi_unicast);
    if (nh.is_v4()) {
        w.u8(4);
        w.bytes(std::span(nh.bytes.data(), 4));
    } else {
        w.u8(16);
        w.bytes(std::span(nh.bytes.data(), 16));
    }
    w.u8(0);
    return len_at;
}

std::size_t begin_mp_unreach(Writer& w, Family fam) {
    w.u8(attr::flag_optional | attr::flag_extended);
    w.u8(attr::mp_unreach);
    const auto len_at = w.out.size();
    w.u16(0);
    w.u16(afi_of(fam));
    w.u8(safi_unicast);
    return len_at;
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
    w.put16(wlen_at, static_cast<std::uint16_t>(w.out.size() - wlen_at - 2));
    const auto alen_at = w.out.size();
    w.u16(0);
    // RFC 7606 §5.1: MP_REACH / MP_UNREACH first.
    if (has_v6_withdraw) {
        const auto at = begin_mp_unreach(w, Family::v6);
        for (const auto& p : u.withdrawn) {
            if (p.family() == Family::v6) write_prefix(w, p);
        }
        w.put16(at, static_cast<std::uint16_t>(w.out.size() - at - 2));
    }
    bool classic = false;
    if (!u.announced.empty()) {
        const Route& first = u.announced.front();
        classic = classic_route(first);
        if (!classic) {
            const auto at = begin_mp_reach(w, first.prefix.family(), first.next_hop);
            for (const auto& r : u.announced) write_prefix(w, r.prefix);
            w.put16(at, static_cast<std::uint16_t>(w.out.size() - at - 2));
        }
        write_common_attrs(w, first, &u, classic, ctx);
    }
    w.put16(alen_at, static_cast<std::uint16_t>(w.out.size() - alen_at - 2));
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
    constexpr std::size_t limit = max_message_len;

    // Withdrawals: IPv4 in the classic field (fixed overhead 23 bytes), IPv6 in MP_UNREACH.
    for (const Family fam : {Family::v4, Family::v6}) {
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
            w.put16(len_at, static_cast<std::uint16_t>(w.out.size() - len_at - 2));
            if (fam == Family::v6)
                w.put16(21, static_cast<std::uint16_t>(w.out.size() - 23));
            else
                w.u16(0); // total path attribute length
            out.push_back(finish(w));
        };
        start();
        for (const auto& p : withdrawn) {
            if (p.family() != fam) continue;
            const std::size_t extra = fam == Family::v4 ? 2 : 0; // room for the attr length
            if (w.out.size() + prefix_wire_len(p) + extra > limit) {
                flush();
                start();
            }
            write_prefix(w, p);
            ++count;
        }
        flush();
    }

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
        const Route& first = *routes.front();
        const bool classic = classic_route(first);
        UpdateMsg extras_msg;
        extras_msg.unknown_transitive = key.second;
        const UpdateMsg* extras = key.second.empty() ? nullptr : &extras_msg;
        Writer w;
        std::size_t mp_len_at = 0, alen_at = 0, count = 0;
        auto start = [&] {
            w = begin_message(MsgType::update);
            w.u16(0);
            alen_at = w.out.size();
            w.u16(0);
            if (!classic) mp_len_at = begin_mp_reach(w, first.prefix.family(), first.next_hop);
            if (classic) {
                write_common_attrs(w, first, extras, true, ctx);
                w.put16(alen_at, static_cast<std::uint16_t>(w.out.size() - alen_at - 2));
            }
            count = 0;
        };
        std::vector<std::uint8_t> tail; // non-MP attributes, appended after MP_REACH's NLRI
        if (!classic) {
            Writer t;
            write_common_attrs(t, first, extras, false, ctx);
            tail = std::move(t.out);
        }
        // A path so long that one route does not fit in 4096 bytes cannot be sent at all.
        {
            Writer probe;
            write_common_attrs(probe, first, extras, classic, ctx);
            const std::size_t mp_overhead = classic ? 0 : 4 + 5 + 16 + 1;
            if (23 + mp_overhead + probe.out.size() + 17 > limit) {
                if (dropped) *dropped += routes.size();
                continue;
            }
        }
        auto flush = [&] {
            if (count == 0) return;
            if (!classic) {
                w.put16(mp_len_at, static_cast<std::uint16_t>(w.out.size() - mp_len_at - 2));
                w.bytes(tail);
                w.put16(alen_at, static_cast<std::uint16_t>(w.out.size() - alen_at - 2));
            }
            out.push_back(finish(w));
        };
        start();
        for (const Route* r : routes) {
            const std::size_t room = classic ? 0 : tail.size();
            if (w.out.size() + prefix_wire_len(r->prefix) + room > limit) {
                flush();
                start();
            }
            write_prefix(w, r->prefix);
            ++count;
        }
        flush();
    }
    return out;
}

} // namespace rsfwd::bgp
