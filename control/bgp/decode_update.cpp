// control/bgp/decode_update.cpp — UPDATE decoding (RFC 4271 §4.3, RFC 4760) with the revised
// error handling of RFC 7606, as a sequence of steps: split the body into its three fields,
// parse the classic withdrawn routes and NLRI, decode the path attributes one by one, apply the
// RFC 6793 AS4 merge, run the checks that need the whole message, then build the routes (or
// withdraw them all).
//
// Thread: any. Cost: one pass over the body; one Route per announced prefix.
// Why the classic prefix fields are parsed before the attributes: a syntax error there leaves no
// way to know which prefixes were meant, so it resets the session whatever the attributes say,
// and treat-as-withdraw needs the full prefix list anyway.
#include "control/bgp/as_path.hpp"
#include "control/bgp/attributes.hpp"
#include "control/bgp/codec.hpp"
#include "control/bgp/errors.hpp"
#include "control/bgp/nlri.hpp"
#include "control/bgp/wire.hpp"

#include <fmt/format.h>

#include <string>

namespace rsfwd::bgp {

namespace {

// The three fields of an UPDATE body, their lengths checked against the body.
struct UpdateFields {
    std::span<const std::uint8_t> withdrawn, attributes, nlri;
};

MaybeReset split_fields(std::span<const std::uint8_t> body, UpdateFields& f) {
    Reader r(body);
    const std::size_t wlen = r.u16();
    f.withdrawn = r.take(wlen);
    if (r.bad()) {
        return reset(err::update, err::malformed_attribute_list, {},
                     "withdrawn routes length overruns the message");
    }
    const std::size_t alen = r.u16();
    f.attributes = r.take(alen);
    if (r.bad()) {
        return reset(err::update, err::malformed_attribute_list, {},
                     "total path attribute length overruns the message");
    }
    f.nlri = body.subspan(r.pos());
    return std::nullopt;
}

// The IPv4 withdrawn routes and NLRI of the classic fields (RFC 7606 §5.3: unparseable means
// session reset).
MaybeReset parse_classic_prefixes(const UpdateFields& f, std::vector<Prefix>& withdrawn,
                                  std::vector<Prefix>& nlri) {
    std::string why;
    if (!parse_nlri(f.withdrawn, Family::v4, withdrawn, why)) {
        return reset(err::update, err::invalid_network_field, {}, "withdrawn routes: " + why);
    }
    if (!parse_nlri(f.nlri, Family::v4, nlri, why)) {
        return reset(err::update, err::invalid_network_field, {}, "NLRI: " + why);
    }
    return std::nullopt;
}

// Frames the next attribute of `all` at the reader. false, after recording treat-as-withdraw,
// when the list ends inside a header or a value (RFC 7606 §4: the attributes that follow
// cannot be found, the NLRI still can).
bool next_attribute(Reader& r, std::span<const std::uint8_t> all, WireAttr& a, DecodeResult& res) {
    const auto start = r.pos();
    a.flags = r.u8();
    a.type = r.u8();
    const bool ext = (a.flags & attr::flag_extended) != 0;
    if (r.bad() || r.left() < (ext ? 2U : 1U)) {
        raise(res, ErrorAction::treat_as_withdraw, "path attributes end with a partial header");
        return false;
    }
    const std::size_t len = ext ? r.u16() : r.u8();
    if (r.left() < len) {
        raise(res, ErrorAction::treat_as_withdraw,
              fmt::format("{} length {} overruns the path attributes", attr_name(a.type), len));
        return false;
    }
    a.value = r.take(len);
    a.wire = all.subspan(start, r.pos() - start);
    return true;
}

MaybeReset parse_attributes(const UpdateFields& f, const DecodeContext& ctx, PathAttrs& p,
                            UpdateMsg& u, DecodeResult& res) {
    Reader r(f.attributes);
    WireAttr a;
    while (!r.empty() && next_attribute(r, f.attributes, a, res)) {
        a.alone = f.withdrawn.empty() && f.nlri.empty() && a.wire.size() == f.attributes.size();
        if (auto fatal = decode_attribute(a, ctx, p, u, res)) return fatal;
    }
    return std::nullopt;
}

// RFC 6793 §4.2.3: a 2-octet session may carry 4-octet ASNs in AS4_PATH / AS4_AGGREGATOR.
void apply_as4(PathAttrs& p, UpdateMsg& u) {
    bool use_as4 = p.as4_path.has_value();
    if (p.as4_aggregator) {
        if (u.aggregator && u.aggregator->asn != as_trans) {
            use_as4 = false; // the AGGREGATOR is authoritative: ignore both AS4 attributes
        } else {
            u.aggregator = *p.as4_aggregator;
        }
    }
    if (use_as4 && p.as_path) p.as_path = merge_as4(*p.as_path, *p.as4_path);
}

// The checks of an announcement that need all its attributes. A present but malformed
// mandatory attribute has already made the message treat-as-withdraw, so only absence counts.
void check_announcement(const DecodeContext& ctx, const PathAttrs& p, bool classic_nlri,
                        DecodeResult& res) {
    // RFC 7606 §3(d): a missing well-known mandatory attribute → treat-as-withdraw.
    if (!p.seen[attr::origin]) raise(res, ErrorAction::treat_as_withdraw, "missing ORIGIN");
    if (!p.seen[attr::as_path]) raise(res, ErrorAction::treat_as_withdraw, "missing AS_PATH");
    if (classic_nlri && !p.seen[attr::next_hop]) {
        raise(res, ErrorAction::treat_as_withdraw, "missing NEXT_HOP");
    }
    if (!p.as_path) return;
    // RFC 7607 / G4: AS 0 in AS_PATH is malformed.
    if (p.as_path->contains(0)) raise(res, ErrorAction::treat_as_withdraw, "AS 0 in AS_PATH");
    // RFC 4271 §6.3: an eBGP peer's path starts with its own AS.
    if (ctx.ebgp && ctx.peer_as != 0) {
        const auto first = p.as_path->first_asn();
        if (!first || p.as_path->segments.front().type != AsPathSegment::sequence ||
            *first != ctx.peer_as) {
            raise(res, ErrorAction::treat_as_withdraw,
                  fmt::format("AS_PATH does not start with the peer AS {}", ctx.peer_as));
        }
    }
}

// RFC 7606 §2: after treat-as-withdraw every NLRI of the message is withdrawn and nothing of
// its attributes is kept.
void withdraw_all(PathAttrs& p, const std::vector<Prefix>& nlri, UpdateMsg& u) {
    u.withdrawn.insert(u.withdrawn.end(), nlri.begin(), nlri.end());
    u.withdrawn.insert(u.withdrawn.end(), p.mp_nlri.begin(), p.mp_nlri.end());
    u.unknown_transitive.clear();
    u.aggregator.reset();
    u.atomic_aggregate = false;
}

// One Route per prefix, classic NLRI first, each with the message's attributes.
void build_routes(PathAttrs& p, const std::vector<Prefix>& nlri, UpdateMsg& u) {
    Route base;
    base.origin = p.origin.value_or(Origin::igp);
    if (p.as_path) base.as_path = std::move(*p.as_path);
    base.communities = std::move(p.communities);
    base.large_communities = std::move(p.large_communities);
    base.med = p.med;
    base.local_pref = p.local_pref;
    u.announced.reserve(nlri.size() + p.mp_nlri.size());
    for (const auto& pfx : nlri) {
        Route rt = base;
        rt.prefix = pfx;
        rt.next_hop = p.next_hop.value_or(IpAddr{});
        u.announced.push_back(std::move(rt));
    }
    for (const auto& pfx : p.mp_nlri) {
        Route rt = base;
        rt.prefix = pfx;
        rt.next_hop = p.mp_next_hop;
        u.announced.push_back(std::move(rt));
    }
}

} // namespace

DecodeResult decode_update_body(std::span<const std::uint8_t> body, const DecodeContext& ctx) {
    UpdateFields f;
    if (auto fatal = split_fields(body, f)) return std::move(*fatal);
    UpdateMsg u;
    std::vector<Prefix> nlri;
    if (auto fatal = parse_classic_prefixes(f, u.withdrawn, nlri)) return std::move(*fatal);

    DecodeResult res;
    PathAttrs p;
    if (auto fatal = parse_attributes(f, ctx, p, u, res)) return std::move(*fatal);
    // End-of-RIB for IPv4 unicast (RFC 4724 §2): an UPDATE with nothing in it.
    if (f.withdrawn.empty() && f.attributes.empty() && nlri.empty()) {
        u.end_of_rib = AfiSafi{afi_ipv4, safi_unicast};
    }
    if (!ctx.four_octet_as) apply_as4(p, u);

    const bool announcing = !nlri.empty() || !p.mp_nlri.empty();
    if (announcing) check_announcement(ctx, p, !nlri.empty(), res);
    if (res.action == ErrorAction::treat_as_withdraw)
        withdraw_all(p, nlri, u);
    else if (announcing)
        build_routes(p, nlri, u);
    res.message = std::move(u);
    return res;
}

} // namespace rsfwd::bgp
