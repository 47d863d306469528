// control/bgp/nlri.hpp — internal to the codec: prefixes on the wire (RFC 4271 §4.3 NLRI and
// withdrawn routes, RFC 4760 §5 MP_REACH/MP_UNREACH NLRI) and the AFI/SAFI ↔ Family mapping.
//
// Thread: any. Cost: one pass; parse_nlri allocates one Prefix per entry.
#pragma once

#include "control/bgp/wire.hpp"
#include "control/model.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rsfwd::bgp {

// Parses a run of NLRI of one family, appending to `out` (host bits masked). false, with `why`,
// on a syntax error (prefix longer than the family, prefix truncated).
[[nodiscard]] bool parse_nlri(std::span<const std::uint8_t> data, Family fam,
                              std::vector<Prefix>& out, std::string& why);

// Writes one prefix as length byte + the significant address bytes.
void write_prefix(Writer& w, const Prefix& p);

// The bytes write_prefix() writes for `p`.
[[nodiscard]] std::size_t prefix_wire_len(const Prefix& p);

// The Family of a unicast (AFI, SAFI); nullopt for anything rsfwd does not carry.
[[nodiscard]] std::optional<Family> family_of(std::uint16_t afi, std::uint8_t safi);

// The AFI of a Family (IPv4 for anything but v6).
[[nodiscard]] std::uint16_t afi_of(Family f);

} // namespace rsfwd::bgp
