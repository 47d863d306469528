// control/bgp/attributes.hpp — internal to the codec: path attributes (RFC 4271 §4.3, 5; RFC
// 1997, 4760, 6793, 8092): what each one must look like, how a malformed one is handled (RFC
// 7606), and how the ones rsfwd sends are written.
//
// Thread: any. Cost: one pass over each value; decoded values own their data.
#pragma once

#include "control/bgp/codec.hpp"
#include "control/bgp/errors.hpp"
#include "control/bgp/wire.hpp"
#include "control/model.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace rsfwd::bgp {

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

// One path attribute as framed in an UPDATE.
struct WireAttr {
    std::uint8_t flags = 0;
    std::uint8_t type = 0;
    std::span<const std::uint8_t> value;
    std::span<const std::uint8_t> wire; // header and value, as received
    // The UPDATE holds nothing else: no withdrawn routes, no NLRI, no other attribute.
    bool alone = false;
};

// What the attributes of one UPDATE said, before they become Routes. The attributes that end
// up in UpdateMsg itself (ATOMIC_AGGREGATE, AGGREGATOR, unknown transitive ones, MP_UNREACH
// prefixes, End-of-RIB) are written there directly.
struct PathAttrs {
    std::array<bool, 256> seen{}; // by type code, malformed ones included
    std::optional<Origin> origin;
    std::optional<AsPath> as_path, as4_path;
    std::optional<IpAddr> next_hop;
    std::optional<std::uint32_t> med, local_pref;
    std::optional<Aggregator> as4_aggregator;
    std::vector<Community> communities;
    std::vector<LargeCommunity> large_communities;
    std::vector<Prefix> mp_nlri; // MP_REACH_NLRI prefixes, all with mp_next_hop
    IpAddr mp_next_hop;
};

// "AS_PATH", "MULTI_EXIT_DISC", …; "attribute" for a type this codec does not know.
[[nodiscard]] const char* attr_name(std::uint8_t type);

// Decodes one attribute into `p` / `u`, recording in `res` what its problems call for (repeats,
// unknown types, wrong flags, malformed values). Returns a session reset when the message
// cannot be used at all (RFC 7606 §3(j), §5.3; RFC 4271 §6.3 for unrecognized well-known).
[[nodiscard]] MaybeReset decode_attribute(const WireAttr& a, const DecodeContext& ctx, PathAttrs& p,
                                          UpdateMsg& u, DecodeResult& res);

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

// Appends one attribute; the Extended Length flag is set exactly when the value needs it.
void put_attr(Writer& w, std::uint8_t flags, std::uint8_t type, std::span<const std::uint8_t> v);

// Attributes shared by a group of routes, without the NLRI and MP attributes: those of `r`,
// plus ATOMIC_AGGREGATE, AGGREGATOR and the transit attributes of `extras` (may be null).
// classic_nh: write NEXT_HOP (the routes go in the classic NLRI field).
void write_common_attrs(Writer& w, const Route& r, const UpdateMsg* extras, bool classic_nh,
                        const EncodeContext& ctx);

// MP_REACH_NLRI header for (family, next hop), extended length, value length left at 0.
// Returns the offset of the length field.
[[nodiscard]] std::size_t begin_mp_reach(Writer& w, Family fam, const IpAddr& nh);

// MP_UNREACH_NLRI header for a family, extended length, value length left at 0. Returns the
// offset of the length field.
[[nodiscard]] std::size_t begin_mp_unreach(Writer& w, Family fam);

} // namespace rsfwd::bgp
