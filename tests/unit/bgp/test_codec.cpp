// tests/unit/bgp/test_codec.cpp — BGP codec: round trips and every malformed case the issue names
// (RFC 4271 §6, RFC 7606), each with the action and NOTIFICATION the RFCs give.
#include "control/bgp/codec.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

using namespace rsfwd;
using namespace rsfwd::bgp;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes message(MsgType t, const Bytes& body) {
    Bytes m(16, 0xFF);
    const auto len = header_len + body.size();
    m.push_back(static_cast<std::uint8_t>(len >> 8));
    m.push_back(static_cast<std::uint8_t>(len));
    m.push_back(static_cast<std::uint8_t>(t));
    m.insert(m.end(), body.begin(), body.end());
    return m;
}

Bytes attr_bytes(std::uint8_t flags, std::uint8_t type, const Bytes& v) {
    Bytes a{flags, type};
    if (flags & attr::flag_extended) a.push_back(static_cast<std::uint8_t>(v.size() >> 8));
    a.push_back(static_cast<std::uint8_t>(v.size()));
    a.insert(a.end(), v.begin(), v.end());
    return a;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// UPDATE body: withdrawn, attributes, NLRI.
Bytes update_body(const Bytes& withdrawn, const Bytes& attrs, const Bytes& nlri) {
    Bytes b;
    b.push_back(static_cast<std::uint8_t>(withdrawn.size() >> 8));
    b.push_back(static_cast<std::uint8_t>(withdrawn.size()));
    b.insert(b.end(), withdrawn.begin(), withdrawn.end());
    b.push_back(static_cast<std::uint8_t>(attrs.size() >> 8));
    b.push_back(static_cast<std::uint8_t>(attrs.size()));
    b.insert(b.end(), attrs.begin(), attrs.end());
    b.insert(b.end(), nlri.begin(), nlri.end());
    return b;
}

const std::uint8_t wk = attr::flag_transitive;
const std::uint8_t opt_t = attr::flag_optional | attr::flag_transitive;

Bytes origin_igp() {
    return attr_bytes(wk, attr::origin, {0});
}
Bytes path4(std::initializer_list<std::uint32_t> asns) {
    Bytes v{2, static_cast<std::uint8_t>(asns.size())};
    for (auto a : asns) {
        for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<std::uint8_t>(a >> s));
    }
    return attr_bytes(wk, attr::as_path, v);
}
Bytes nh(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return attr_bytes(wk, attr::next_hop, {a, b, c, d});
}
const Bytes nlri_10_1 = {16, 10, 1};              // 10.1.0.0/16
const Bytes nlri_192_168_10 = {24, 192, 168, 10}; // 192.168.10.0/24

DecodeContext ctx4(std::uint32_t peer_as = 0) {
    DecodeContext c;
    c.four_octet_as = true;
    c.ebgp = true;
    c.peer_as = peer_as;
    return c;
}

DecodeResult decode_update(const Bytes& withdrawn, const Bytes& attrs, const Bytes& nlri,
                           DecodeContext c = ctx4()) {
    auto m = message(MsgType::update, update_body(withdrawn, attrs, nlri));
    return decode_message(m, c);
}

const UpdateMsg& upd(const DecodeResult& r) {
    return std::get<UpdateMsg>(*r.message);
}

Route sample_route() {
    Route r;
    r.prefix = *Prefix::parse("192.168.10.0/24");
    r.next_hop = *IpAddr::parse("10.1.2.4");
    r.origin = Origin::igp;
    r.as_path = *AsPath::parse("65001 65002 {65003,65004}");
    r.communities = {communities::ars_hairpin, communities::no_advertise, community(65001, 7)};
    r.large_communities = {LargeCommunity{65001, 1, 2}};
    r.med = 50;
    return r;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

TEST(BgpCodec, OpenRoundTrip) {
    OpenMsg o;
    o.my_as = 65515;
    o.hold_time = 180;
    o.bgp_id = IpAddr::parse("10.1.0.4")->v4_host();
    o.caps.multiprotocol = {AfiSafi{afi_ipv4, 1}, AfiSafi{afi_ipv6, 1}};
    o.caps.route_refresh = true;
    o.caps.enhanced_route_refresh = true;
    o.caps.four_octet_as = 65515;
    o.caps.other = {{73, {3, 'r', 's', 'f'}}};
    auto bytes = encode_open(o);
    auto r = decode_message(bytes, {});
    ASSERT_EQ(r.action, ErrorAction::none);
    EXPECT_EQ(std::get<OpenMsg>(*r.message), o);
    EXPECT_EQ(std::get<OpenMsg>(*r.message).asn(), 65515u);
}

TEST(BgpCodec, OpenFourOctetAsUsesAsTrans) {
    OpenMsg o;
    o.my_as = as_trans;
    o.bgp_id = 1;
    o.caps.four_octet_as = 4200000001u;
    auto r = decode_message(encode_open(o), {});
    EXPECT_EQ(std::get<OpenMsg>(*r.message).asn(), 4200000001u);
    EXPECT_FALSE(validate_open(std::get<OpenMsg>(*r.message), 4200000001u, 2));
}

TEST(BgpCodec, ValidateOpen) {
    OpenMsg o;
    o.my_as = 65001;
    o.bgp_id = 0x0A010204;
    o.caps.four_octet_as = 65001;
    EXPECT_FALSE(validate_open(o, 65001, 1));
    EXPECT_FALSE(validate_open(o, 0, 1));
    // Wrong AS → OPEN Message Error / Bad Peer AS.
    auto n = validate_open(o, 65002, 1);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->code, err::open);
    EXPECT_EQ(n->subcode, err::bad_peer_as);
    auto v = o;
    v.version = 3;
    n = validate_open(v, 65001, 1);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->subcode, err::unsupported_version);
    EXPECT_EQ(n->data, (Bytes{0, 4}));
    v = o;
    v.hold_time = 2;
    EXPECT_EQ(validate_open(v, 65001, 1)->subcode, err::unacceptable_hold_time);
    v.hold_time = 0; // 0 is legal: no keepalives
    EXPECT_FALSE(validate_open(v, 65001, 1));
    v = o;
    v.bgp_id = 0;
    EXPECT_EQ(validate_open(v, 65001, 1)->subcode, err::bad_bgp_identifier);
    v = o;
    v.caps.four_octet_as.reset();
    v.my_as = as_trans; // AS_TRANS without the capability
    EXPECT_EQ(validate_open(v, 0, 1)->subcode, err::bad_peer_as);
    v = o;
    v.caps.four_octet_as = 0; // RFC 7607
    v.my_as = 0;
    EXPECT_EQ(validate_open(v, 0, 1)->subcode, err::bad_peer_as);
}

TEST(BgpCodec, OpenUnsupportedOptionalParameter) {
    // version 4, AS 65001, hold 180, id 1.2.3.4, one optional parameter of type 1 (auth).
    Bytes body{4, 0xFD, 0xE9, 0, 180, 1, 2, 3, 4, 3, 1, 1, 0};
    auto r = decode_message(message(MsgType::open, body), {});
    ASSERT_EQ(r.action, ErrorAction::session_reset);
    EXPECT_EQ(r.notification.code, err::open);
    EXPECT_EQ(r.notification.subcode, err::unsupported_optional_parameter);
}

TEST(BgpCodec, OpenTruncatedCapability) {
    Bytes body{4, 0xFD, 0xE9, 0, 180, 1, 2, 3, 4, 4, 2, 2, 65, 4}; // capability claims 4 bytes
    auto r = decode_message(message(MsgType::open, body), {});
    ASSERT_EQ(r.action, ErrorAction::session_reset);
    EXPECT_EQ(r.notification.code, err::open);
    Bytes body2{4, 0xFD, 0xE9, 0, 180, 1, 2, 3, 4, 9, 2, 2}; // opt len beyond the message
    EXPECT_EQ(decode_message(message(MsgType::open, body2), {}).action, ErrorAction::session_reset);
}

TEST(BgpCodec, KeepaliveNotificationRouteRefresh) {
    auto k = decode_message(encode_keepalive(), {});
    EXPECT_TRUE(std::holds_alternative<KeepaliveMsg>(*k.message));
    EXPECT_EQ(encode_keepalive().size(), 19u);

    Notification n{err::cease, err::max_prefixes, {0, 1, 1, 0, 0, 3, 0xE8}};
    auto d = decode_message(encode_notification(n), {});
    EXPECT_EQ(std::get<Notification>(*d.message), n);
    EXPECT_EQ(n.str(), "Cease / Maximum Number of Prefixes Reached (6/1)");

    RouteRefreshMsg rr{AfiSafi{afi_ipv6, 1}, 1};
    auto e = decode_message(encode_route_refresh(rr), {});
    EXPECT_EQ(std::get<RouteRefreshMsg>(*e.message), rr);
}

TEST(BgpCodec, RouteRefreshBadLength) {
    // RFC 7313 §5: BoRR with a bad length → ROUTE-REFRESH Message Error / Invalid Length.
    auto r = decode_message(message(MsgType::route_refresh, {0, 1, 1, 1, 0}), {});
    ASSERT_EQ(r.action, ErrorAction::session_reset);
    EXPECT_EQ(r.notification.code, err::route_refresh);
    EXPECT_EQ(r.notification.subcode, err::invalid_message_length);
}

TEST(BgpCodec, UpdateRoundTripAllAttributes) {
    UpdateMsg u;
    Route r = sample_route();
    r.local_pref = 200;
    u.announced = {r};
    u.announced.push_back(r);
    u.announced.back().prefix = *Prefix::parse("10.0.0.0/8");
    u.withdrawn = {*Prefix::parse("172.16.0.0/12"), *Prefix::parse("0.0.0.0/0")};
    u.atomic_aggregate = true;
    u.aggregator = Aggregator{65001, 0x0A010204};
    u.unknown_transitive = {RawAttr{0xE0, 99, {1, 2, 3}}};
    EncodeContext ec;
    ec.four_octet_as = true;
    ec.ebgp = false; // iBGP: LOCAL_PREF is carried
    auto bytes = encode_update(u, ec);
    DecodeContext dc = ctx4();
    dc.ebgp = false;
    auto d = decode_message(bytes, dc);
    ASSERT_EQ(d.action, ErrorAction::none) << (d.problems.empty() ? "" : d.problems[0]);
    EXPECT_EQ(upd(d), u);
}

TEST(BgpCodec, UpdateEbgpOmitsLocalPref) {
    UpdateMsg u;
    u.announced = {sample_route()};
    u.announced[0].local_pref = 300;
    auto bytes = encode_update(u, EncodeContext{true, true});
    auto d = decode_message(bytes, ctx4());
    ASSERT_EQ(d.action, ErrorAction::none);
    EXPECT_FALSE(upd(d).announced[0].local_pref);
}

TEST(BgpCodec, UpdateIpv6RoundTrip) {
    UpdateMsg u;
    Route r = sample_route();
    r.prefix = *Prefix::parse("2001:db8:100::/48");
    r.next_hop = *IpAddr::parse("2001:db8::4");
    u.announced = {r};
    u.withdrawn = {*Prefix::parse("2001:db8:200::/40"), *Prefix::parse("10.9.0.0/16")};
    auto bytes = encode_update(u, EncodeContext{true, true});
    auto d = decode_message(bytes, ctx4());
    ASSERT_EQ(d.action, ErrorAction::none);
    // Order of withdrawals: classic IPv4 field first, then MP_UNREACH_NLRI.
    std::vector<Prefix> want{*Prefix::parse("10.9.0.0/16"), *Prefix::parse("2001:db8:200::/40")};
    EXPECT_EQ(upd(d).withdrawn, want);
    ASSERT_EQ(upd(d).announced.size(), 1u);
    EXPECT_EQ(upd(d).announced[0], r);
}

TEST(BgpCodec, Ipv4RouteWithIpv6NextHopUsesMpReach) {
    UpdateMsg u;
    Route r = sample_route();
    r.next_hop = *IpAddr::parse("2001:db8::4"); // RFC 8950 style
    u.announced = {r};
    auto d = decode_message(encode_update(u, EncodeContext{true, true}), ctx4());
    ASSERT_EQ(d.action, ErrorAction::none);
    EXPECT_EQ(upd(d).announced[0], r);
}

TEST(BgpCodec, TwoOctetSessionCarriesAs4Path) {
    // RFC 6793: a 4-octet ASN crosses a 2-octet session as AS_TRANS in AS_PATH plus AS4_PATH.
    UpdateMsg u;
    Route r = sample_route();
    r.as_path = *AsPath::parse("65001 4200000001 65002");
    u.announced = {r};
    EncodeContext ec{false, true};
    auto bytes = encode_update(u, ec);
    DecodeContext dc;
    dc.four_octet_as = false;
    auto d = decode_message(bytes, dc);
    ASSERT_EQ(d.action, ErrorAction::none);
    EXPECT_EQ(upd(d).announced[0].as_path.str(), "65001 4200000001 65002");
    // Without AS4_PATH support the path would read 65001 23456 65002.
    dc.four_octet_as = true; // a NEW speaker ignores AS4_PATH, and reads 4-octet AS_PATH: garbage
    auto d2 = decode_message(bytes, dc);
    EXPECT_NE(d2.action, ErrorAction::none);
}

TEST(BgpCodec, As4PathMergeKeepsLeadingAses) {
    // AS_PATH (2-octet) 65010 65001 23456 65002, AS4_PATH 4200000001 65002: the result is the
    // leading (4 - 2) ASes of AS_PATH followed by AS4_PATH (RFC 6793 §4.2.3).
    Bytes as_path{2, 4, 0xFD, 0xF2, 0xFD, 0xE9, 0x5B, 0xA0, 0xFD, 0xEA};
    Bytes as4{2, 2, 0xFA, 0x56, 0xEA, 0x01, 0, 0, 0xFD, 0xEA};
    auto attrs = cat({origin_igp(), attr_bytes(wk, attr::as_path, as_path), nh(10, 1, 2, 4),
                      attr_bytes(opt_t, attr::as4_path, as4)});
    DecodeContext dc;
    auto d = decode_update({}, attrs, nlri_10_1, dc);
    ASSERT_EQ(d.action, ErrorAction::none);
    EXPECT_EQ(upd(d).announced[0].as_path.str(), "65010 65001 4200000001 65002");
    // AS4_PATH longer than AS_PATH is ignored.
    Bytes short_path{2, 1, 0xFD, 0xE9};
    attrs = cat({origin_igp(), attr_bytes(wk, attr::as_path, short_path), nh(10, 1, 2, 4),
                 attr_bytes(opt_t, attr::as4_path, as4)});
    d = decode_update({}, attrs, nlri_10_1, dc);
    EXPECT_EQ(upd(d).announced[0].as_path.str(), "65001");
}

TEST(BgpCodec, EndOfRib) {
    auto d = decode_message(encode_end_of_rib(AfiSafi{afi_ipv4, 1}), ctx4());
    ASSERT_TRUE(upd(d).end_of_rib);
    EXPECT_EQ(upd(d).end_of_rib->afi, afi_ipv4);
    d = decode_message(encode_end_of_rib(AfiSafi{afi_ipv6, 1}), ctx4());
    ASSERT_TRUE(upd(d).end_of_rib);
    EXPECT_EQ(upd(d).end_of_rib->afi, afi_ipv6);
}

TEST(BgpCodec, PackingRespects4096AndGroupsAttributes) {
    std::vector<Route> routes;
    for (std::uint32_t i = 0; i < 3000; ++i) {
        Route r = sample_route();
        r.prefix = Prefix::make(IpAddr::v4(0x0A000000u + (i << 8)), 24);
        if (i % 3 == 0) r.med = 7; // a second attribute group
        routes.push_back(r);
    }
    for (std::uint32_t i = 0; i < 500; ++i) {
        Route r = sample_route();
        auto a = *IpAddr::parse("2001:db8::");
        a.bytes[4] = static_cast<std::uint8_t>(i >> 8);
        a.bytes[5] = static_cast<std::uint8_t>(i);
        r.prefix = Prefix::make(a, 48);
        r.next_hop = *IpAddr::parse("2001:db8::4");
        routes.push_back(r);
    }
    std::vector<Prefix> wd;
    for (std::uint32_t i = 0; i < 2000; ++i)
        wd.push_back(Prefix::make(IpAddr::v4(0xAC100000u + (i << 8)), 24));
    for (std::uint32_t i = 0; i < 300; ++i) wd.push_back(routes[3000 + i].prefix);
    auto msgs = encode_updates(routes, wd, EncodeContext{true, true});
    std::size_t announced = 0, withdrawn = 0;
    for (const auto& m : msgs) {
        ASSERT_LE(m.size(), max_message_len);
        auto d = decode_message(m, ctx4());
        ASSERT_EQ(d.action, ErrorAction::none);
        const auto& u = upd(d);
        // One attribute set per message.
        for (const auto& r : u.announced) {
            EXPECT_EQ(r.med, u.announced.front().med);
            EXPECT_EQ(r.next_hop, u.announced.front().next_hop);
        }
        announced += u.announced.size();
        withdrawn += u.withdrawn.size();
    }
    EXPECT_EQ(announced, routes.size());
    EXPECT_EQ(withdrawn, wd.size());
    // Few messages: a full 4096-byte UPDATE holds ~1000 /24s.
    EXPECT_LT(msgs.size(), 15u);
}

TEST(BgpCodec, PackingCarriesTransitAttributesPerRoute) {
    // RFC 4271 §5: unknown optional transitive attributes go out with their own routes only;
    // routes with different transit attributes never share a message.
    std::vector<Route> routes;
    for (std::uint32_t i = 0; i < 30; ++i) {
        Route r = sample_route();
        r.prefix = Prefix::make(IpAddr::v4(0x0A000000u + (i << 8)), 24);
        routes.push_back(r);
    }
    const std::vector<RawAttr> a{RawAttr{0xE0, 99, {1, 2, 3}}};
    const std::vector<RawAttr> b{RawAttr{0xE0, 99, {4}}, RawAttr{0xE0, 201, {}}};
    std::vector<const std::vector<RawAttr>*> transit(routes.size(), nullptr);
    for (std::size_t i = 0; i < routes.size(); ++i)
        transit[i] = i % 3 == 0 ? &a : i % 3 == 1 ? &b : nullptr;
    auto msgs = encode_updates(routes, transit, {}, EncodeContext{true, true});
    EXPECT_EQ(msgs.size(), 3u);
    std::map<Prefix, std::vector<RawAttr>> got;
    for (const auto& m : msgs) {
        auto d = decode_message(m, ctx4());
        ASSERT_EQ(d.action, ErrorAction::none);
        for (const auto& r : upd(d).announced) got[r.prefix] = upd(d).unknown_transitive;
    }
    ASSERT_EQ(got.size(), routes.size());
    for (std::size_t i = 0; i < routes.size(); ++i) {
        EXPECT_EQ(got[routes[i].prefix], i % 3 == 0   ? a
                                         : i % 3 == 1 ? b
                                                      : std::vector<RawAttr>{})
            << i;
    }
    // Without transit attributes the overload is the plain packing.
    EXPECT_EQ(encode_updates(routes, {}, {}, EncodeContext{true, true}),
              encode_updates(routes, {}, EncodeContext{true, true}));
}

// ---------------------------------------------------------------------------------------------
// Header errors (RFC 4271 §6.1)
// ---------------------------------------------------------------------------------------------

TEST(BgpCodecErrors, BadMarker) {
    auto m = encode_keepalive();
    m[3] = 0;
    auto r = decode_message(m, {});
    ASSERT_EQ(r.action, ErrorAction::session_reset);
    EXPECT_EQ(r.notification.code, err::header);
    EXPECT_EQ(r.notification.subcode, err::conn_not_synchronized);
}

TEST(BgpCodecErrors, BadLength) {
    for (std::size_t len : {0u, 18u, 4097u, 65535u}) {
        auto m = encode_keepalive();
        m[16] = static_cast<std::uint8_t>(len >> 8);
        m[17] = static_cast<std::uint8_t>(len);
        auto h = check_header(m);
        ASSERT_TRUE(h.error) << len;
        EXPECT_EQ(h.error->notification.code, err::header);
        EXPECT_EQ(h.error->notification.subcode, err::bad_message_length);
        EXPECT_EQ(h.error->notification.data, (Bytes{m[16], m[17]})); // the erroneous field
    }
    // KEEPALIVE longer than 19, OPEN shorter than 29, UPDATE shorter than 23.
    auto k = message(MsgType::keepalive, {0});
    EXPECT_EQ(decode_message(k, {}).notification.subcode, err::bad_message_length);
    auto o = message(MsgType::open, {4, 0, 1});
    EXPECT_EQ(decode_message(o, {}).notification.subcode, err::bad_message_length);
    auto u = message(MsgType::update, {0, 0});
    EXPECT_EQ(decode_message(u, {}).notification.subcode, err::bad_message_length);
    // Header length different from the bytes handed in.
    auto full = encode_keepalive();
    full.push_back(0);
    EXPECT_EQ(decode_message(full, {}).action, ErrorAction::session_reset);
}

TEST(BgpCodecErrors, BadType) {
    auto m = message(static_cast<MsgType>(9), {});
    auto r = decode_message(m, {});
    ASSERT_EQ(r.action, ErrorAction::session_reset);
    EXPECT_EQ(r.notification.subcode, err::bad_message_type);
    EXPECT_EQ(r.notification.data, Bytes{9});
}

// ---------------------------------------------------------------------------------------------
// UPDATE errors (RFC 4271 §6.3 as revised by RFC 7606)
// ---------------------------------------------------------------------------------------------

TEST(BgpCodecErrors, ValidUpdateBaseline) {
    auto d = decode_update({}, cat({origin_igp(), path4({65001}), nh(10, 1, 2, 4)}), nlri_10_1,
                           ctx4(65001));
    ASSERT_EQ(d.action, ErrorAction::none);
    ASSERT_EQ(upd(d).announced.size(), 1u);
    EXPECT_EQ(upd(d).announced[0].prefix.str(), "10.1.0.0/16");
    EXPECT_EQ(upd(d).announced[0].next_hop.str(), "10.1.2.4");
}

TEST(BgpCodecErrors, WithdrawnLengthOverrun) {
    Bytes body{0, 50, 16, 10, 1, 0, 0};
    auto r = decode_message(message(MsgType::update, body), ctx4());
    ASSERT_EQ(r.action, ErrorAction::session_reset);
    EXPECT_EQ(r.notification.code, err::update);
    EXPECT_EQ(r.notification.subcode, err::malformed_attribute_list);
}

TEST(BgpCodecErrors, TotalAttributeLengthOverrun) {
    Bytes body{0, 0, 0, 90, 0x40, 1, 1, 0};
    auto r = decode_message(message(MsgType::update, body), ctx4());
    ASSERT_EQ(r.action, ErrorAction::session_reset);
    EXPECT_EQ(r.notification.subcode, err::malformed_attribute_list);
}

TEST(BgpCodecErrors, TruncatedAttributeIsTreatAsWithdraw) {
    // The last attribute claims more bytes than the attribute field holds (RFC 7606 §4).
    auto attrs = cat({origin_igp(), path4({65001}), Bytes{wk, attr::next_hop, 9, 10, 1, 2, 4}});
    auto d = decode_update({}, attrs, nlri_192_168_10);
    ASSERT_EQ(d.action, ErrorAction::treat_as_withdraw);
    EXPECT_TRUE(upd(d).announced.empty());
    ASSERT_EQ(upd(d).withdrawn.size(), 1u);
    EXPECT_EQ(upd(d).withdrawn[0].str(), "192.168.10.0/24");
    // Fewer than 3 bytes left for an attribute header.
    attrs = cat({origin_igp(), path4({65001}), nh(10, 1, 2, 4), Bytes{0x40, 5}});
    d = decode_update({}, attrs, nlri_192_168_10);
    EXPECT_EQ(d.action, ErrorAction::treat_as_withdraw);
}

TEST(BgpCodecErrors, BadAsPathSegment) {
    for (const Bytes& seg : {Bytes{5, 1, 0, 0, 0xFD, 0xE9}, // type 5
                             Bytes{2, 0},                   // empty segment
                             Bytes{2, 3, 0, 0, 0xFD, 0xE9}, // overrun
                             Bytes{2}}) {                   // truncated header
        auto attrs = cat({origin_igp(), attr_bytes(wk, attr::as_path, seg), nh(10, 1, 2, 4)});
        auto d = decode_update({}, attrs, nlri_10_1);
        EXPECT_EQ(d.action, ErrorAction::treat_as_withdraw);
        EXPECT_EQ(upd(d).withdrawn.size(), 1u);
    }
    // Confederation segment from an eBGP peer.
    auto attrs = cat(
        {origin_igp(), attr_bytes(wk, attr::as_path, {3, 1, 0, 0, 0xFD, 0xE9}), nh(10, 1, 2, 4)});
    EXPECT_EQ(decode_update({}, attrs, nlri_10_1).action, ErrorAction::treat_as_withdraw);
}

TEST(BgpCodecErrors, AsZeroInPathIsWithdrawn) { // G4, RFC 7607
    auto d = decode_update({}, cat({origin_igp(), path4({65001, 0}), nh(10, 1, 2, 4)}), nlri_10_1);
    EXPECT_EQ(d.action, ErrorAction::treat_as_withdraw);
}

TEST(BgpCodecErrors, FirstAsMustBePeerAs) {
    auto d = decode_update({}, cat({origin_igp(), path4({65002}), nh(10, 1, 2, 4)}), nlri_10_1,
                           ctx4(65001));
    EXPECT_EQ(d.action, ErrorAction::treat_as_withdraw);
}

TEST(BgpCodecErrors, UnknownWellKnownAttribute) {
    auto bad = attr_bytes(wk, 77, {1, 2});
    auto d =
        decode_update({}, cat({origin_igp(), path4({65001}), nh(10, 1, 2, 4), bad}), nlri_10_1);
    ASSERT_EQ(d.action, ErrorAction::session_reset);
    EXPECT_EQ(d.notification.code, err::update);
    EXPECT_EQ(d.notification.subcode, err::unrecognized_well_known);
    EXPECT_EQ(d.notification.data, bad); // the unrecognized attribute
}

TEST(BgpCodecErrors, UnknownOptionalAttributes) {
    auto t = attr_bytes(opt_t, 200, {9, 9});
    auto nt = attr_bytes(attr::flag_optional, 201, {8});
    auto d =
        decode_update({}, cat({origin_igp(), path4({65001}), nh(10, 1, 2, 4), t, nt}), nlri_10_1);
    ASSERT_EQ(d.action, ErrorAction::none);
    ASSERT_EQ(upd(d).unknown_transitive.size(), 1u); // transitive kept, partial bit set
    EXPECT_EQ(upd(d).unknown_transitive[0], (RawAttr{opt_t | attr::flag_partial, 200, {9, 9}}));
}

TEST(BgpCodecErrors, DuplicateAttributesDiscarded) {
    auto d = decode_update(
        {}, cat({origin_igp(), attr_bytes(wk, attr::origin, {2}), path4({65001}), nh(10, 1, 2, 4)}),
        nlri_10_1);
    ASSERT_EQ(d.action, ErrorAction::attribute_discard);
    EXPECT_EQ(upd(d).announced[0].origin, Origin::igp); // the first one wins
}

TEST(BgpCodecErrors, DuplicateMpReachIsSessionReset) {
    Bytes mp{0, 2, 1, 16};
    auto v6 = *IpAddr::parse("2001:db8::1");
    mp.insert(mp.end(), v6.bytes.begin(), v6.bytes.end());
    mp.push_back(0);
    auto a = attr_bytes(attr::flag_optional, attr::mp_reach, mp);
    auto d = decode_update({}, cat({a, a, origin_igp(), path4({65001})}), {});
    ASSERT_EQ(d.action, ErrorAction::session_reset);
    EXPECT_EQ(d.notification.subcode, err::malformed_attribute_list);
}

TEST(BgpCodecErrors, BadNlriLength) {
    auto attrs = cat({origin_igp(), path4({65001}), nh(10, 1, 2, 4)});
    for (const Bytes& nlri : {Bytes{33, 10, 0, 0, 0, 0}, Bytes{24, 10, 1}}) {
        auto d = decode_update({}, attrs, nlri);
        ASSERT_EQ(d.action, ErrorAction::session_reset);
        EXPECT_EQ(d.notification.subcode, err::invalid_network_field);
    }
    auto d = decode_update({40, 1, 2, 3, 4, 5}, {}, {});
    ASSERT_EQ(d.action, ErrorAction::session_reset);
    EXPECT_EQ(d.notification.subcode, err::invalid_network_field);
    // MP_REACH with a /129 IPv6 prefix.
    Bytes mp{0, 2, 1, 16};
    auto v6 = *IpAddr::parse("2001:db8::1");
    mp.insert(mp.end(), v6.bytes.begin(), v6.bytes.end());
    mp.push_back(0);
    mp.push_back(129);
    d = decode_update(
        {},
        cat({attr_bytes(attr::flag_optional, attr::mp_reach, mp), origin_igp(), path4({65001})}),
        {});
    EXPECT_EQ(d.action, ErrorAction::session_reset);
}

TEST(BgpCodecErrors, MpReachTruncatedOrBadNextHop) {
    auto d = decode_update(
        {}, cat({attr_bytes(attr::flag_optional, attr::mp_reach, {0, 2, 1, 16, 0})}), {});
    EXPECT_EQ(d.action, ErrorAction::session_reset);
    d = decode_update(
        {}, cat({attr_bytes(attr::flag_optional, attr::mp_reach, {0, 2, 1, 3, 1, 2, 3, 0})}), {});
    EXPECT_EQ(d.action, ErrorAction::session_reset);
    // Unknown AFI: ignored, the rest stands.
    d = decode_update(
        {},
        cat({attr_bytes(attr::flag_optional, attr::mp_reach, {0, 25, 65, 4, 1, 2, 3, 4, 0}),
             origin_igp(), path4({65001}), nh(10, 1, 2, 4)}),
        nlri_10_1);
    EXPECT_EQ(d.action, ErrorAction::none);
    EXPECT_EQ(upd(d).announced.size(), 1u);
}

TEST(BgpCodecErrors, MissingWellKnownIsTreatAsWithdraw) {
    for (const auto& attrs :
         {cat({path4({65001}), nh(10, 1, 2, 4)}), cat({origin_igp(), nh(10, 1, 2, 4)}),
          cat({origin_igp(), path4({65001})}), Bytes{}}) {
        auto d = decode_update({}, attrs, nlri_10_1);
        EXPECT_EQ(d.action, ErrorAction::treat_as_withdraw);
        EXPECT_EQ(upd(d).withdrawn.size(), 1u);
    }
    // Withdraw-only UPDATEs need no attributes.
    auto d = decode_update(nlri_10_1, {}, {});
    EXPECT_EQ(d.action, ErrorAction::none);
    EXPECT_EQ(upd(d).withdrawn.size(), 1u);
}

TEST(BgpCodecErrors, AttributeValueErrors) {
    struct Case {
        Bytes attr;
        ErrorAction want;
    };
    const std::vector<Case> cases{
        {attr_bytes(wk, attr::origin, {3}), ErrorAction::treat_as_withdraw},
        {attr_bytes(wk, attr::origin, {0, 0}), ErrorAction::treat_as_withdraw},
        {attr_bytes(attr::flag_optional, attr::origin, {0}), ErrorAction::treat_as_withdraw},
        {attr_bytes(attr::flag_optional, attr::med, {0, 0, 1}), ErrorAction::treat_as_withdraw},
        {attr_bytes(wk, attr::local_pref, {0, 0, 0, 100}), ErrorAction::attribute_discard},
        {attr_bytes(wk, attr::atomic_aggregate, {1}), ErrorAction::attribute_discard},
        {attr_bytes(opt_t, attr::aggregator, {1, 2, 3}), ErrorAction::attribute_discard},
        {attr_bytes(opt_t, attr::aggregator, {0, 0, 0, 0, 1, 2, 3, 4}),
         ErrorAction::attribute_discard},
        {attr_bytes(opt_t, attr::communities, {1, 2, 3}), ErrorAction::treat_as_withdraw},
        {attr_bytes(opt_t, attr::communities, {}), ErrorAction::treat_as_withdraw},
        {attr_bytes(opt_t, attr::large_communities, Bytes(13, 1)), ErrorAction::treat_as_withdraw},
        {attr_bytes(wk, attr::communities, {1, 2, 3, 4}), ErrorAction::treat_as_withdraw}, // flags
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        auto attrs = cat({cases[i].attr, origin_igp(), path4({65001}), nh(10, 1, 2, 4)});
        if (cases[i].attr[1] == attr::origin)
            attrs = cat({cases[i].attr, path4({65001}), nh(10, 1, 2, 4)});
        auto d = decode_update({}, attrs, nlri_10_1);
        EXPECT_EQ(d.action, cases[i].want) << "case " << i;
        if (cases[i].want == ErrorAction::attribute_discard) {
            EXPECT_EQ(upd(d).announced.size(), 1u) << "case " << i;
        } else {
            EXPECT_TRUE(upd(d).announced.empty()) << "case " << i;
        }
    }
}

TEST(BgpCodecErrors, InvalidNextHop) {
    for (const auto& n : {nh(0, 0, 0, 0), nh(224, 0, 0, 5), nh(255, 255, 255, 255),
                          attr_bytes(wk, attr::next_hop, {10, 1, 2})}) {
        auto d = decode_update({}, cat({origin_igp(), path4({65001}), n}), nlri_10_1);
        EXPECT_EQ(d.action, ErrorAction::treat_as_withdraw);
    }
}

TEST(BgpCodecErrors, ExtendedLengthAttribute) {
    Bytes comms;
    for (int i = 0; i < 100; ++i)
        comms.insert(comms.end(), {0xFF, 0xED, 0, static_cast<std::uint8_t>(i)});
    auto d = decode_update({},
                           cat({origin_igp(), path4({65001}), nh(10, 1, 2, 4),
                                attr_bytes(opt_t | attr::flag_extended, attr::communities, comms)}),
                           nlri_10_1);
    ASSERT_EQ(d.action, ErrorAction::none);
    EXPECT_EQ(upd(d).announced[0].communities.size(), 100u);
}

// Random corruption of valid messages: never a crash or an out-of-bounds read (ASan run).
TEST(BgpCodecErrors, RandomMutationsNeverCrash) {
    std::vector<Bytes> seeds;
    UpdateMsg u;
    u.announced = {sample_route()};
    u.withdrawn = {*Prefix::parse("10.0.0.0/8")};
    u.unknown_transitive = {RawAttr{0xE0, 99, {1, 2, 3}}};
    seeds.push_back(encode_update(u, EncodeContext{true, true}));
    seeds.push_back(encode_update(u, EncodeContext{false, true}));
    u.announced[0].prefix = *Prefix::parse("2001:db8::/32");
    u.announced[0].next_hop = *IpAddr::parse("2001:db8::1");
    seeds.push_back(encode_update(u, EncodeContext{true, true}));
    OpenMsg o;
    o.my_as = 65001;
    o.bgp_id = 1;
    o.caps.four_octet_as = 65001;
    o.caps.multiprotocol = {AfiSafi{}};
    seeds.push_back(encode_open(o));
    std::mt19937 rng(42);
    std::size_t resets = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes m = seeds[static_cast<std::size_t>(i) % seeds.size()];
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            const auto at = 16 + rng() % (m.size() - 16);
            m[at] = static_cast<std::uint8_t>(rng());
        }
        if (rng() % 4 == 0) m.resize(std::max<std::size_t>(19, m.size() - rng() % 8));
        for (bool four : {true, false}) {
            DecodeContext dc;
            dc.four_octet_as = four;
            auto h = check_header(m);
            if (h.error) {
                ++resets;
                continue;
            }
            auto r = decode_message(std::span(m.data(), std::min(m.size(), h.length)), dc);
            if (r.action == ErrorAction::session_reset)
                ++resets;
            else
                ASSERT_TRUE(r.message.has_value());
        }
    }
    EXPECT_GT(resets, 0u);
}
