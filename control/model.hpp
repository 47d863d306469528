// control/model.hpp — the vocabulary every part of rsfwd shares: addresses, prefixes, BGP path
// attributes, routes, and the per-view effective routes the FIB compiler consumes.
//
// Thread: control thread only (workers see compiled FIBs, never these types).
// Cost: value types; a Route owns small vectors (AS path, communities) — copy deliberately.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rsfwd {

// ---------------------------------------------------------------------------------------------
// Addresses and prefixes
// ---------------------------------------------------------------------------------------------

enum class Family : std::uint8_t { none = 0, v4 = 4, v6 = 6 };

// An IPv4 or IPv6 address. Bytes are in network order; an IPv4 address uses bytes[0..3] and
// leaves the rest zero, so that comparison and hashing work on the whole array.
struct IpAddr {
    Family family = Family::none;
    std::array<std::uint8_t, 16> bytes{};

    static IpAddr v4(std::uint32_t host_order) noexcept;
    static IpAddr v6(const std::array<std::uint8_t, 16>& network_order) noexcept;
    // "10.1.0.4" or "2001:db8::1"; nullopt on anything else (no surrounding blanks accepted).
    static std::optional<IpAddr> parse(std::string_view text);

    [[nodiscard]] bool is_v4() const noexcept { return family == Family::v4; }
    [[nodiscard]] bool is_v6() const noexcept { return family == Family::v6; }
    [[nodiscard]] bool valid() const noexcept { return family != Family::none; }
    [[nodiscard]] std::uint32_t v4_host() const noexcept; // only meaningful when is_v4()
    [[nodiscard]] int bit_width() const noexcept { return is_v4() ? 32 : is_v6() ? 128 : 0; }
    [[nodiscard]] bool bit(int i) const noexcept { return (bytes[i / 8] >> (7 - i % 8)) & 1; }
    [[nodiscard]] std::string str() const;

    auto operator<=>(const IpAddr&) const = default;
};

// A prefix. The constructor-like helpers mask host bits, so two spellings of one prefix compare
// equal; parse() refuses host bits set ("10.1.0.1/16" is a config error, not a silent fix).
struct Prefix {
    IpAddr addr;
    std::uint8_t len = 0;

    static Prefix make(const IpAddr& addr, int len) noexcept; // masks host bits
    // "10.1.0.0/16", "2001:db8::/32". strict: host bits must be zero.
    static std::optional<Prefix> parse(std::string_view text, bool strict = true);

    [[nodiscard]] Family family() const noexcept { return addr.family; }
    [[nodiscard]] bool contains(const IpAddr& a) const noexcept;
    // true when `other` is equal to or more specific than this prefix (same family).
    [[nodiscard]] bool covers(const Prefix& other) const noexcept;
    [[nodiscard]] std::string str() const;

    auto operator<=>(const Prefix&) const = default;
};

// The hash of a prefix (and of an address) for every hash map keyed by one.
struct PrefixHash {
    std::size_t operator()(const Prefix& p) const noexcept;
};
struct IpAddrHash {
    std::size_t operator()(const IpAddr& a) const noexcept;
};

// ---------------------------------------------------------------------------------------------
// BGP path attributes (RFC 4271, 1997, 8092)
// ---------------------------------------------------------------------------------------------

enum class Origin : std::uint8_t { igp = 0, egp = 1, incomplete = 2 };

struct AsPathSegment {
    enum Type : std::uint8_t { set = 1, sequence = 2, confed_sequence = 3, confed_set = 4 };
    Type type = sequence;
    std::vector<std::uint32_t> asns;
    auto operator<=>(const AsPathSegment&) const = default;
};

// AS_PATH as segments. length() follows RFC 4271 §9.1.2.2: a sequence counts each AS, a set
// counts one, confederation segments count zero. (D8: only the length matters for selection.)
struct AsPath {
    std::vector<AsPathSegment> segments;

    static AsPath of(std::initializer_list<std::uint32_t> seq);
    // "65001 65002 {65003,65004}"; "" is the empty path.
    static std::optional<AsPath> parse(std::string_view text);

    [[nodiscard]] std::size_t length() const noexcept;
    [[nodiscard]] bool empty() const noexcept { return segments.empty(); }
    [[nodiscard]] bool contains(std::uint32_t asn) const noexcept;
    [[nodiscard]] std::optional<std::uint32_t> first_asn() const noexcept;
    void prepend(std::uint32_t asn, int times = 1);
    [[nodiscard]] std::string str() const;

    auto operator<=>(const AsPath&) const = default;
};

// A standard community, high 16 bits : low 16 bits.
using Community = std::uint32_t;
constexpr Community community(std::uint16_t hi, std::uint16_t lo) noexcept {
    return (static_cast<std::uint32_t>(hi) << 16) | lo;
}
namespace communities {
inline constexpr Community no_export = 0xFFFFFF01;                // RFC 1997
inline constexpr Community no_advertise = 0xFFFFFF02;             // RFC 1997, G2
inline constexpr Community no_export_subconfed = 0xFFFFFF03;      // RFC 1997
inline constexpr Community ars_hairpin = community(65517, 65517); // B5
} // namespace communities
std::optional<Community> parse_community(std::string_view text); // "65517:65517", "no-advertise"
std::string community_str(Community c);

struct LargeCommunity {
    std::uint32_t global = 0, local1 = 0, local2 = 0;
    auto operator<=>(const LargeCommunity&) const = default;
};

// One route as a peer announced it (or as rsfwd advertises it). next_hop is the BGP NEXT_HOP
// (or MP_REACH next hop); communities keep their received order (G1: nothing stripped).
struct Route {
    Prefix prefix;
    IpAddr next_hop;
    Origin origin = Origin::igp;
    AsPath as_path;
    std::vector<Community> communities;
    std::vector<LargeCommunity> large_communities;
    std::optional<std::uint32_t> med;
    std::optional<std::uint32_t> local_pref;

    [[nodiscard]] bool has_community(Community c) const noexcept;
    auto operator<=>(const Route&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Views (ROUTE_SERVER.md "The emulated world")
// ---------------------------------------------------------------------------------------------

// A view names one FIB: "vnet", "er/<circuit>", "vpn/<site>". Changes carry its ViewId: the
// index in RouteServer::views() (fixed for the process lifetime), never the name.
using ViewName = std::string;
using ViewId = std::uint16_t;

// Where an effective route came from, as the VM's effective-routes table would label it.
enum class RouteSource : std::uint8_t {
    vnet_local, // VNet or peered address space: forwarded to the connected host (D11)
    nva,        // programmed by ARS from an NVA (H2)
    er,         // ExpressRoute circuit (H4)
    vpn,        // VPN gateway site
    static_udr, // reserved for user-defined routes
};
std::string_view to_string(RouteSource s) noexcept;

// Up to 8 equal-cost next hops (D7), held inline: a route change allocates nothing. Producers
// keep them sorted and unique (the policy does; sort_unique() for others).
class NextHops {
public:
    static constexpr std::size_t capacity = 8;

    NextHops() = default;
    NextHops(std::initializer_list<IpAddr> l) {
        for (const IpAddr& a : l) push_back(a);
    }
    // Appends. A ninth next hop is not kept (D7: at most 8 paths) but marks the set overflowed,
    // so that a consumer can refuse the route instead of silently using 8 of its paths.
    void push_back(const IpAddr& a) noexcept {
        if (n_ < capacity)
            a_[n_++] = a;
        else
            overflowed_ = true;
    }
    void sort_unique() noexcept;
    void clear() noexcept {
        n_ = 0;
        overflowed_ = false;
    }

    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
    [[nodiscard]] bool overflowed() const noexcept { return overflowed_; }
    [[nodiscard]] const IpAddr& operator[](std::size_t i) const noexcept { return a_[i]; }
    [[nodiscard]] const IpAddr* begin() const noexcept { return a_.data(); }
    [[nodiscard]] const IpAddr* end() const noexcept { return a_.data() + n_; }

    friend bool operator==(const NextHops& a, const NextHops& b) noexcept {
        return a.n_ == b.n_ && a.overflowed_ == b.overflowed_ &&
               std::equal(a.begin(), a.end(), b.begin());
    }
    friend std::strong_ordering operator<=>(const NextHops& a, const NextHops& b) noexcept {
        return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    std::array<IpAddr, capacity> a_{};
    std::uint8_t n_ = 0;
    bool overflowed_ = false;
};

// One effective route of a view. next_hops empty means "connected": the destination itself is
// the next hop, resolved on the port whose subnet holds it. Otherwise 1..8 equal-cost next-hop
// addresses (D7), each resolved on the port whose subnet holds it. H1: never an ARS address.
struct ViewRoute {
    Prefix prefix;
    RouteSource source = RouteSource::vnet_local;
    NextHops next_hops; // sorted, unique, ≤ 8
    auto operator<=>(const ViewRoute&) const = default;
};

// A change to one view: upsert (route present) or delete (prefix only).
struct ViewChange {
    ViewId view = 0; // RouteServer::views() index
    Prefix prefix;
    std::optional<ViewRoute> route; // nullopt = delete
};

} // namespace rsfwd
