// control/bgp/as_path.hpp — internal to the codec: AS_PATH and AS4_PATH on the wire, and the
// 2-octet/4-octet AS transition of RFC 6793.
//
// Thread: any. Cost: one pass over the path; results own their segments.
#pragma once

#include "control/model.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rsfwd::bgp {

// Parses AS_PATH / AS4_PATH segments of `asn_bytes` (2 or 4) octets per AS into `out`. false,
// with `why`, on any malformation (RFC 7606 §7.2: bad type, empty segment, overrun).
[[nodiscard]] bool parse_as_path(std::span<const std::uint8_t> data, int asn_bytes, AsPath& out,
                                 std::string& why);

// A confederation segment (RFC 5065): never valid from an eBGP peer, never in AS4_PATH.
[[nodiscard]] bool is_confed(const AsPathSegment& s);

// RFC 6793 §4.2.3: the path a NEW speaker rebuilds from a 2-octet session's AS_PATH (with
// AS_TRANS) and AS4_PATH: the leading (n2 - n4) ASes of AS_PATH, then AS4_PATH.
[[nodiscard]] AsPath merge_as4(const AsPath& as_path, const AsPath& as4_path);

// The segments of `p` as bytes, split into runs of at most 255 ASes. With 2-octet ASNs and
// map_trans, an AS above 65535 is written as AS_TRANS.
[[nodiscard]] std::vector<std::uint8_t> as_path_bytes(const AsPath& p, int asn_bytes,
                                                      bool map_trans);

// true when some AS of `p` does not fit in 2 octets (a 2-octet peer then needs AS4_PATH).
[[nodiscard]] bool needs_as4(const AsPath& p);

} // namespace rsfwd::bgp
