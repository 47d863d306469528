// control/bgp/nlri.cpp — prefixes on the wire: length byte, then only the bytes the length
// needs (RFC 4271 §4.3), for both the classic fields and MP_REACH/MP_UNREACH.
//
// Thread: any. Cost: one pass over the bytes.
#include "control/bgp/nlri.hpp"

#include "control/bgp/codec.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace rsfwd::bgp {

namespace {

int prefix_bytes(int len) {
    return (len + 7) / 8;
}

} // namespace

bool parse_nlri(std::span<const std::uint8_t> data, Family fam, std::vector<Prefix>& out,
                std::string& why) {
    Reader r(data);
    const int width = fam == Family::v4 ? 32 : 128;
    while (!r.empty()) {
        const int len = r.u8();
        if (len > width) {
            why = fmt::format("NLRI prefix length {} > {}", len, width);
            return false;
        }
        auto bytes = r.take(static_cast<std::size_t>(prefix_bytes(len)));
        if (r.bad()) {
            why = fmt::format("NLRI prefix /{} truncated", len);
            return false;
        }
        IpAddr a;
        a.family = fam;
        std::copy(bytes.begin(), bytes.end(), a.bytes.begin());
        out.push_back(Prefix::make(a, len));
    }
    return true;
}

void write_prefix(Writer& w, const Prefix& p) {
    w.u8(p.len);
    const int n = prefix_bytes(p.len);
    for (int i = 0; i < n; ++i) w.u8(p.addr.bytes[static_cast<std::size_t>(i)]);
}

std::size_t prefix_wire_len(const Prefix& p) {
    return 1 + static_cast<std::size_t>(prefix_bytes(p.len));
}

std::optional<Family> family_of(std::uint16_t afi, std::uint8_t safi) {
    if (safi != safi_unicast) return std::nullopt;
    if (afi == afi_ipv4) return Family::v4;
    if (afi == afi_ipv6) return Family::v6;
    return std::nullopt;
}

std::uint16_t afi_of(Family f) {
    return f == Family::v6 ? afi_ipv6 : afi_ipv4;
}

} // namespace rsfwd::bgp
