// control/bgp/attributes.cpp — path attributes: per-type checks and values, the RFC 7606
// decision for each malformation, and the writers for what rsfwd sends.
//
// Thread: any. Cost: one pass over each attribute value.
// Why the decisions are what they are: RFC 7606 asks for the mildest action that keeps the RIB
// correct. A bad attribute that does not change which routes are meant or where they go
// (ATOMIC_AGGREGATE, AGGREGATOR, AS4_*, LOCAL_PREF from eBGP) is discarded; one the route
// depends on makes the message treat-as-withdraw; only an MP_REACH/MP_UNREACH that cannot be
// parsed (its NLRI are unknown) or an unrecognized well-known attribute resets the session.
#include "control/bgp/attributes.hpp"

#include "control/bgp/as_path.hpp"
#include "control/bgp/nlri.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace rsfwd::bgp {

namespace {

constexpr std::uint8_t flags_wk = attr::flag_transitive;
constexpr std::uint8_t flags_opt_t = attr::flag_optional | attr::flag_transitive;
constexpr std::uint8_t flags_opt_nt = attr::flag_optional;

// Expected Optional/Transitive flags of the attributes we know; nullopt for unknown types.
std::optional<std::uint8_t> expected_flags(std::uint8_t type) {
    switch (type) {
    case attr::origin:
    case attr::as_path:
    case attr::next_hop:
    case attr::local_pref:
    case attr::atomic_aggregate:
        return flags_wk;
    case attr::aggregator:
    case attr::communities:
    case attr::as4_path:
    case attr::as4_aggregator:
    case attr::large_communities:
        return flags_opt_t;
    case attr::med:
    case attr::mp_reach:
    case attr::mp_unreach:
        return flags_opt_nt;
    default:
        return std::nullopt;
    }
}

bool bad_v4_next_hop(std::uint32_t nh) {
    // 0.0.0.0, class D/E and broadcast are never valid next hops (RFC 4271 §6.3 semantics).
    return nh == 0 || (nh >> 28) >= 0xE;
}

// An attribute type this codec does not know (RFC 4271 §5): optional transitive ones are
// passed on with the Partial bit, optional non-transitive ones dropped, well-known ones are an
// error RFC 7606 still answers with a session reset (data: the attribute as received).
MaybeReset unknown_attribute(const WireAttr& a, UpdateMsg& u) {
    if ((a.flags & attr::flag_optional) == 0) {
        return reset(err::update, err::unrecognized_well_known,
                     std::vector(a.wire.begin(), a.wire.end()),
                     fmt::format("unrecognized well-known attribute type {}", a.type));
    }
    if (a.flags & attr::flag_transitive) {
        u.unknown_transitive.push_back(RawAttr{
            static_cast<std::uint8_t>((a.flags & ~attr::flag_extended) | attr::flag_partial),
            a.type, std::vector(a.value.begin(), a.value.end())});
    }
    return std::nullopt;
}

// A value of exactly 4 octets (NEXT_HOP, MED, LOCAL_PREF); otherwise "<name> length != 4" and
// treat-as-withdraw (RFC 7606 §7.3, 7.4, 7.5).
std::optional<std::uint32_t> u32_value(const char* name, std::span<const std::uint8_t> v,
                                       DecodeResult& res) {
    if (v.size() != 4) {
        raise(res, ErrorAction::treat_as_withdraw, fmt::format("{} length != 4", name));
        return std::nullopt;
    }
    return Reader(v).u32();
}

// A value made of whole `unit`-octet entries, at least one (COMMUNITIES, LARGE_COMMUNITY);
// otherwise treat-as-withdraw (RFC 7606 §7.8, RFC 8092 §6).
bool whole_entries(const char* name, std::size_t unit, std::span<const std::uint8_t> v,
                   DecodeResult& res) {
    if (v.empty() || v.size() % unit != 0) {
        raise(res, ErrorAction::treat_as_withdraw,
              fmt::format("{} length not a multiple of {}", name, unit));
        return false;
    }
    return true;
}

void decode_origin(std::span<const std::uint8_t> v, PathAttrs& p, DecodeResult& res) {
    if (v.size() != 1 || v[0] > 2) {
        raise(res, ErrorAction::treat_as_withdraw, "malformed ORIGIN");
    } else {
        p.origin = static_cast<Origin>(v[0]);
    }
}

void decode_as_path(std::span<const std::uint8_t> v, const DecodeContext& ctx, PathAttrs& p,
                    DecodeResult& res) {
    AsPath path;
    std::string why;
    if (!parse_as_path(v, ctx.four_octet_as ? 4 : 2, path, why)) {
        raise(res, ErrorAction::treat_as_withdraw, why);
    } else if (ctx.ebgp && std::any_of(path.segments.begin(), path.segments.end(), is_confed)) {
        raise(res, ErrorAction::treat_as_withdraw,
              "confederation segment in AS_PATH from an eBGP peer");
    } else {
        p.as_path = std::move(path);
    }
}

void decode_next_hop(std::span<const std::uint8_t> v, PathAttrs& p, DecodeResult& res) {
    const auto nh = u32_value("NEXT_HOP", v, res);
    if (!nh) return;
    if (bad_v4_next_hop(*nh)) {
        raise(res, ErrorAction::treat_as_withdraw,
              fmt::format("invalid NEXT_HOP {}", IpAddr::v4(*nh).str()));
    } else {
        p.next_hop = IpAddr::v4(*nh);
    }
}

void decode_local_pref(std::span<const std::uint8_t> v, const DecodeContext& ctx, PathAttrs& p,
                       DecodeResult& res) {
    if (ctx.ebgp) {
        raise(res, ErrorAction::attribute_discard, "LOCAL_PREF from an eBGP peer ignored");
    } else {
        p.local_pref = u32_value("LOCAL_PREF", v, res);
    }
}

void decode_aggregator(std::span<const std::uint8_t> v, const DecodeContext& ctx, UpdateMsg& u,
                       DecodeResult& res) {
    if (v.size() != (ctx.four_octet_as ? 8U : 6U)) {
        raise(res, ErrorAction::attribute_discard, "AGGREGATOR length wrong");
        return;
    }
    Reader r(v);
    Aggregator ag;
    ag.asn = ctx.four_octet_as ? r.u32() : r.u16();
    ag.address = r.u32();
    if (ag.asn == 0)
        raise(res, ErrorAction::attribute_discard, "AGGREGATOR AS 0"); // RFC 7607
    else
        u.aggregator = ag;
}

void decode_communities(std::span<const std::uint8_t> v, PathAttrs& p, DecodeResult& res) {
    if (!whole_entries("COMMUNITIES", 4, v, res)) return;
    Reader r(v);
    while (!r.empty()) p.communities.push_back(r.u32());
}

void decode_large_communities(std::span<const std::uint8_t> v, PathAttrs& p, DecodeResult& res) {
    if (!whole_entries("LARGE_COMMUNITY", 12, v, res)) return;
    Reader r(v);
    while (!r.empty()) {
        LargeCommunity lc;
        lc.global = r.u32();
        lc.local1 = r.u32();
        lc.local2 = r.u32();
        p.large_communities.push_back(lc);
    }
}

// RFC 6793 §4.1: AS4_PATH and AS4_AGGREGATOR mean something only on a 2-octet session; the
// caller ignores them between NEW speakers. A bad one is discarded: AS_PATH still stands.
void decode_as4_path(std::span<const std::uint8_t> v, PathAttrs& p, DecodeResult& res) {
    AsPath path;
    std::string why;
    if (!parse_as_path(v, 4, path, why)) {
        raise(res, ErrorAction::attribute_discard, "AS4_PATH discarded: " + why);
    } else if (std::any_of(path.segments.begin(), path.segments.end(), is_confed)) {
        raise(res, ErrorAction::attribute_discard, "AS4_PATH with confederation segments");
    } else {
        p.as4_path = std::move(path);
    }
}

void decode_as4_aggregator(std::span<const std::uint8_t> v, PathAttrs& p, DecodeResult& res) {
    if (v.size() != 8) {
        raise(res, ErrorAction::attribute_discard, "AS4_AGGREGATOR length != 8");
        return;
    }
    Reader r(v);
    Aggregator ag;
    ag.asn = r.u32();
    ag.address = r.u32();
    p.as4_aggregator = ag;
}

// MP_REACH_NLRI (RFC 4760 §3). Its NLRI cannot be told apart from garbage once any part is
// malformed, so every syntax error is a session reset (RFC 7606 §5.3). Wrong flags alone leave
// it parseable: treat-as-withdraw.
MaybeReset decode_mp_reach(std::span<const std::uint8_t> v, bool flags_ok, PathAttrs& p,
                           DecodeResult& res) {
    Reader r(v);
    const auto afi = r.u16();
    const auto safi = r.u8();
    const std::size_t nhlen = r.u8();
    auto nh = r.take(nhlen);
    r.u8(); // reserved
    if (r.bad()) return reset(err::update, err::optional_attribute, {}, "MP_REACH_NLRI truncated");
    const auto fam = family_of(afi, safi);
    if (!fam) {
        res.problems.push_back(fmt::format("MP_REACH_NLRI for AFI {} SAFI {} ignored", afi, safi));
        return std::nullopt;
    }
    if (nhlen == 4) {
        p.mp_next_hop = IpAddr::v4(Reader(nh).u32());
    } else if (nhlen == 16 || nhlen == 32) { // 32: global + link-local; the global one is used
        std::array<std::uint8_t, 16> b{};
        std::copy(nh.begin(), nh.begin() + 16, b.begin());
        p.mp_next_hop = IpAddr::v6(b);
    } else {
        return reset(err::update, err::optional_attribute, {},
                     fmt::format("MP_REACH_NLRI next hop length {}", nhlen));
    }
    if (*fam == Family::v6 && nhlen == 4) {
        return reset(err::update, err::optional_attribute, {},
                     "MP_REACH_NLRI IPv6 with an IPv4 next hop");
    }
    std::string why;
    if (!parse_nlri(v.subspan(r.pos()), *fam, p.mp_nlri, why)) {
        return reset(err::update, err::optional_attribute, {}, "MP_REACH_NLRI: " + why);
    }
    if (!flags_ok) raise(res, ErrorAction::treat_as_withdraw, "MP_REACH_NLRI flags");
    return std::nullopt;
}

// MP_UNREACH_NLRI (RFC 4760 §4): as MP_REACH, unparseable means session reset. Alone in an
// UPDATE and empty, it is the End-of-RIB marker of its family (RFC 4724 §2).
MaybeReset decode_mp_unreach(const WireAttr& a, UpdateMsg& u, DecodeResult& res) {
    Reader r(a.value);
    const auto afi = r.u16();
    const auto safi = r.u8();
    if (r.bad()) {
        return reset(err::update, err::optional_attribute, {}, "MP_UNREACH_NLRI truncated");
    }
    const auto fam = family_of(afi, safi);
    if (!fam) {
        res.problems.push_back(
            fmt::format("MP_UNREACH_NLRI for AFI {} SAFI {} ignored", afi, safi));
        return std::nullopt;
    }
    const auto before = u.withdrawn.size();
    std::string why;
    if (!parse_nlri(a.value.subspan(r.pos()), *fam, u.withdrawn, why)) {
        return reset(err::update, err::optional_attribute, {}, "MP_UNREACH_NLRI: " + why);
    }
    if (u.withdrawn.size() == before && a.alone) u.end_of_rib = AfiSafi{afi, safi};
    return std::nullopt;
}

// The value of a known attribute whose repeat and flags were already dealt with.
MaybeReset decode_known(const WireAttr& a, bool flags_ok, const DecodeContext& ctx, PathAttrs& p,
                        UpdateMsg& u, DecodeResult& res) {
    const auto v = a.value;
    switch (a.type) {
    case attr::origin:
        decode_origin(v, p, res);
        break;
    case attr::as_path:
        decode_as_path(v, ctx, p, res);
        break;
    case attr::next_hop:
        decode_next_hop(v, p, res);
        break;
    case attr::med:
        p.med = u32_value("MED", v, res);
        break;
    case attr::local_pref:
        decode_local_pref(v, ctx, p, res);
        break;
    case attr::atomic_aggregate:
        if (!v.empty())
            raise(res, ErrorAction::attribute_discard, "ATOMIC_AGGREGATE length != 0");
        else
            u.atomic_aggregate = true;
        break;
    case attr::aggregator:
        decode_aggregator(v, ctx, u, res);
        break;
    case attr::communities:
        decode_communities(v, p, res);
        break;
    case attr::large_communities:
        decode_large_communities(v, p, res);
        break;
    case attr::as4_path:
        if (!ctx.four_octet_as) decode_as4_path(v, p, res);
        break;
    case attr::as4_aggregator:
        if (!ctx.four_octet_as) decode_as4_aggregator(v, p, res);
        break;
    case attr::mp_reach:
        return decode_mp_reach(v, flags_ok, p, res);
    case attr::mp_unreach:
        return decode_mp_unreach(a, u, res);
    default:
        break;
    }
    return std::nullopt;
}

// The start MP_REACH_NLRI and MP_UNREACH_NLRI share: flags (always extended length, so the
// caller can patch any size), type, a 2-octet length left at 0, AFI, unicast SAFI. Returns the
// offset of the length field.
std::size_t begin_mp(Writer& w, std::uint8_t type, Family fam) {
    w.u8(attr::flag_optional | attr::flag_extended);
    w.u8(type);
    const auto len_at = w.out.size();
    w.u16(0);
    w.u16(afi_of(fam));
    w.u8(safi_unicast);
    return len_at;
}

} // namespace

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

MaybeReset decode_attribute(const WireAttr& a, const DecodeContext& ctx, PathAttrs& p, UpdateMsg& u,
                            DecodeResult& res) {
    const bool mp = a.type == attr::mp_reach || a.type == attr::mp_unreach;
    if (p.seen[a.type]) {
        // RFC 7606 §3(g): repeats are discarded, except MP_REACH/MP_UNREACH whose NLRI would
        // then be ambiguous.
        if (mp) {
            return reset(err::update, err::malformed_attribute_list, {},
                         fmt::format("{} appears twice", attr_name(a.type)));
        }
        raise(res, ErrorAction::attribute_discard,
              fmt::format("duplicate {} (type {}) discarded", attr_name(a.type), a.type));
        return std::nullopt;
    }
    p.seen[a.type] = true;

    const auto expect = expected_flags(a.type);
    if (!expect) return unknown_attribute(a, u);
    const bool flags_ok = (a.flags & (attr::flag_optional | attr::flag_transitive)) == *expect;
    if (!flags_ok && !mp) {
        // RFC 7606 §3(c).
        raise(res, ErrorAction::treat_as_withdraw,
              fmt::format("{} has flags {:#04x}", attr_name(a.type), a.flags));
        return std::nullopt;
    }
    return decode_known(a, flags_ok, ctx, p, u, res);
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

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

void write_common_attrs(Writer& w, const Route& r, const UpdateMsg* extras, bool classic_nh,
                        const EncodeContext& ctx) {
    const std::uint8_t origin = static_cast<std::uint8_t>(r.origin);
    put_attr(w, flags_wk, attr::origin, std::span(&origin, 1));
    auto path = as_path_bytes(r.as_path, ctx.four_octet_as ? 4 : 2, true);
    put_attr(w, flags_wk, attr::as_path, path);
    if (classic_nh) {
        Writer nh;
        nh.bytes(std::span(r.next_hop.bytes.data(), 4));
        put_attr(w, flags_wk, attr::next_hop, nh.out);
    }
    if (r.med) {
        Writer m;
        m.u32(*r.med);
        put_attr(w, flags_opt_nt, attr::med, m.out);
    }
    if (!ctx.ebgp) {
        Writer m;
        m.u32(r.local_pref.value_or(100));
        put_attr(w, flags_wk, attr::local_pref, m.out);
    }
    if (extras && extras->atomic_aggregate) put_attr(w, flags_wk, attr::atomic_aggregate, {});
    if (extras && extras->aggregator) {
        Writer m;
        const auto& ag = *extras->aggregator;
        if (ctx.four_octet_as)
            m.u32(ag.asn);
        else
            m.u16(ag.asn > 0xFFFF ? as_trans : static_cast<std::uint16_t>(ag.asn));
        m.u32(ag.address);
        put_attr(w, flags_opt_t, attr::aggregator, m.out);
    }
    if (!r.communities.empty()) {
        Writer m;
        for (auto c : r.communities) m.u32(c);
        put_attr(w, flags_opt_t, attr::communities, m.out);
    }
    if (!ctx.four_octet_as && needs_as4(r.as_path)) {
        AsPath p4;
        for (const auto& s : r.as_path.segments) {
            if (!is_confed(s)) p4.segments.push_back(s);
        }
        put_attr(w, flags_opt_t, attr::as4_path, as_path_bytes(p4, 4, false));
        if (extras && extras->aggregator && extras->aggregator->asn > 0xFFFF) {
            Writer m;
            m.u32(extras->aggregator->asn);
            m.u32(extras->aggregator->address);
            put_attr(w, flags_opt_t, attr::as4_aggregator, m.out);
        }
    }
    if (!r.large_communities.empty()) {
        Writer m;
        for (const auto& c : r.large_communities) {
            m.u32(c.global);
            m.u32(c.local1);
            m.u32(c.local2);
        }
        put_attr(w, flags_opt_t, attr::large_communities, m.out);
    }
    if (extras) {
        for (const auto& x : extras->unknown_transitive) put_attr(w, x.flags, x.type, x.value);
    }
}

std::size_t begin_mp_reach(Writer& w, Family fam, const IpAddr& nh) {
    const auto len_at = begin_mp(w, attr::mp_reach, fam);
    const std::uint8_t nh_len = nh.is_v4() ? 4 : 16;
    w.u8(nh_len);
    w.bytes(std::span(nh.bytes.data(), nh_len));
    w.u8(0); // reserved
    return len_at;
}

std::size_t begin_mp_unreach(Writer& w, Family fam) {
    return begin_mp(w, attr::mp_unreach, fam);
}

} // namespace rsfwd::bgp
