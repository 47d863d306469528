// dataplane/worker/packet.hpp — header parsing, RFC 1812 checks and rewrites, shared by the
// workers, the control thread's exception path and the packet fuzz target.
//
// What: pure inline functions over a byte buffer (no mbuf, no DPDK), so they can be fuzzed and
// unit-tested anywhere. Thread: any. Cost: a few loads per packet; no allocation, noexcept.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rsfwd::dp {

inline constexpr std::uint16_t ethertype_ipv4 = 0x0800;
inline constexpr std::uint16_t ethertype_arp = 0x0806;
inline constexpr std::uint16_t ethertype_vlan = 0x8100;
inline constexpr std::uint16_t ethertype_ipv6 = 0x86DD;

// Unaligned native loads/stores + bswap: one instruction each (movbe). The byte-at-a-time forms
// made gcc round-trip 16-bit values through the stack in the per-packet rewrite.
inline std::uint16_t load_be16(const std::uint8_t* p) noexcept {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return __builtin_bswap16(v);
}
inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
    v = __builtin_bswap16(v);
    std::memcpy(p, &v, 2);
}

enum class L3 : std::uint8_t { ipv4, ipv6, arp, other };

// Result of classify(): what the frame carries and where L3 starts.
struct L2Info {
    L3 l3 = L3::other;
    std::uint16_t l3_off = 0; // 14, or 18 with one 802.1Q tag
    bool ok = false;          // frame long enough for the L2 header
};

// Ethernet II with at most one 802.1Q tag (QinQ is "other").
inline L2Info classify(const std::uint8_t* p, std::size_t len) noexcept {
    L2Info r;
    if (len < 14) return r;
    std::uint16_t et = load_be16(p + 12);
    r.l3_off = 14;
    if (et == ethertype_vlan) {
        if (len < 18) return r;
        et = load_be16(p + 16);
        r.l3_off = 18;
    }
    r.ok = true;
    r.l3 = et == ethertype_ipv4   ? L3::ipv4
           : et == ethertype_ipv6 ? L3::ipv6
           : et == ethertype_arp  ? L3::arp
                                  : L3::other;
    return r;
}

// One's complement sum over 16-bit big-endian words (unfolded).
inline std::uint32_t csum_add(std::uint32_t sum, const std::uint8_t* p, std::size_t len) noexcept {
    for (; len >= 2; p += 2, len -= 2) sum += load_be16(p);
    if (len) sum += std::uint32_t{p[0]} << 8;
    return sum;
}
inline std::uint16_t csum_fold(std::uint32_t sum) noexcept {
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xFFFF);
}

enum class V4Check : std::uint8_t { ok, bad_header, bad_checksum };

// IPv4 header checksum over `hlen` (≥ 20, multiple of 4) bytes: true when it verifies.
// Sums 32-bit words into 64 bits (one's complement sums are byte-order agnostic when folded back
// to 16 bits), then folds: ~3x cheaper than 16-bit steps on 20 bytes. The fixed 20 bytes are
// five straight loads (rte_ipv4_cksum style), options after: a variable-trip loop here was
// vectorised with a scalar prologue/epilogue per packet.
[[gnu::always_inline]] inline std::uint64_t ipv4_sum20(const std::uint8_t* ip) noexcept {
    std::uint32_t w0, w1, w2, w3, w4;
    std::memcpy(&w0, ip, 4);
    std::memcpy(&w1, ip + 4, 4);
    std::memcpy(&w2, ip + 8, 4);
    std::memcpy(&w3, ip + 12, 4);
    std::memcpy(&w4, ip + 16, 4);
    return std::uint64_t{w0} + w1 + w2 + w3 + w4;
}
// A header verifies when its one's complement sum folds to 0xFFFF, i.e. when the plain integer
// sum T of its 16-bit words is a nonzero multiple of 0xFFFF (folding keeps T mod 0xFFFF and
// yields 0 only for T = 0). `sum` adds the header as little-endian 32-bit words; as 2^16 ≡ 1 and
// 256·w ≡ swap16(w) (mod 0xFFFF), sum ≡ 256·T, and 256 is invertible mod 0xFFFF, so the test is
// the same on `sum`. gcc compiles `% 0xFFFF == 0` on a 64-bit value to one multiply by the
// inverse and one compare, where four dependent folds took ~14 instructions (perf: ~13 % of
// process_burst on the 1M-route cell).
[[gnu::always_inline]] inline bool ipv4_sum_verifies(std::uint64_t sum) noexcept {
    return sum != 0 && sum % 0xFFFF == 0;
}
inline bool ipv4_csum_ok(const std::uint8_t* ip, unsigned hlen) noexcept {
    std::uint64_t sum = ipv4_sum20(ip);
    for (unsigned i = 20; i < hlen; i += 4) {
        std::uint32_t w;
        std::memcpy(&w, ip + i, 4);
        sum += w;
    }
    return ipv4_sum_verifies(sum);
}
// The same for a header without options, always inlined: the worker's fast path. gcc kept
// ipv4_csum_ok(ip, 20) out of line there (a call and the options loop's test per packet: 6.6 %
// of the worker's perf samples on the 1M-route pcap cell).
[[gnu::always_inline]] inline bool ipv4_csum20_ok(const std::uint8_t* ip) noexcept {
    return ipv4_sum_verifies(ipv4_sum20(ip));
}

// RFC 1812 §5.2.2 checks on an IPv4 header at `ip` with `avail` bytes of frame after L2:
// length ≥ 20, version 4, IHL ≥ 5, total length ≥ IHL*4 and ≤ avail; header checksum unless
// verify_csum is false (checked by the NIC).
inline V4Check check_ipv4(const std::uint8_t* ip, std::size_t avail, bool verify_csum) noexcept {
    if (avail < 20) return V4Check::bad_header;
    const unsigned ver = ip[0] >> 4, ihl = ip[0] & 0xF;
    if (ver != 4 || ihl < 5) return V4Check::bad_header;
    const unsigned hlen = ihl * 4, tot = load_be16(ip + 2);
    if (tot < hlen || tot > avail || hlen > avail) return V4Check::bad_header;
    if (verify_csum && !ipv4_csum_ok(ip, hlen)) return V4Check::bad_checksum;
    return V4Check::ok;
}

// RFC 1624 eqn. 3 incremental update, HC' = ~(~HC + ~m + m'), for the 16-bit word TTL|protocol.
// With m' = m - 0x0100, ~m + m' is the constant 0xFEFF, so HC' = ~(~HC + 0xFEFF): the result is
// the same as a full recomputation (never 0xFFFF for a header that verified). One's complement
// sums commute with byte swapping (RFC 1071), so the sum runs on the field as loaded natively
// (0xFEFF swapped is 0xFFFE on little endian): a byte decrement, one 16-bit load, four ALU ops
// and one 16-bit store, against a bswap round trip through the stack before.
inline void ipv4_dec_ttl(std::uint8_t* ip) noexcept {
    --ip[8];
    std::uint16_t hc;
    std::memcpy(&hc, ip + 10, 2);
    constexpr std::uint32_t delta = std::endian::native == std::endian::little ? 0xFFFEu : 0xFEFFu;
    std::uint32_t sum = static_cast<std::uint16_t>(~hc) + delta;
    sum = (sum & 0xFFFF) + (sum >> 16); // one fold suffices: sum <= 0x1FFFD
    hc = static_cast<std::uint16_t>(~sum);
    std::memcpy(ip + 10, &hc, 2);
}

// The same update by the textbook formula (RFC 1624 eqn. 3 on big-endian words); the reference
// the unit test holds ipv4_dec_ttl to.
inline void ipv4_dec_ttl_reference(std::uint8_t* ip) noexcept {
    const std::uint32_t m = load_be16(ip + 8);
    const std::uint32_t m2 = (m - 0x0100) & 0xFFFF;
    const std::uint32_t hc = load_be16(ip + 10);
    const std::uint32_t sum = (~hc & 0xFFFF) + (~m & 0xFFFF) + m2;
    store_be16(ip + 8, static_cast<std::uint16_t>(m2));
    store_be16(ip + 10, csum_fold(sum));
}

// Rewrites an IPv4 destination address and fixes the header checksum incrementally (RFC 1624
// eqn. 3 over the two 16-bit words), on the fields as loaded natively (one's complement sums
// commute with byte swapping, as in ipv4_dec_ttl). Used by the bench-only RX callbacks that
// stamp random destinations into replayed frames (rsfwd-bench, `rsfwd run --bench-random-dst`),
// whose cost counts against the forwarder: three 16-bit loads, one 32-bit store, no bswap of
// the old words.
inline void ipv4_set_dst(std::uint8_t* ip, std::uint32_t dst) noexcept {
    std::uint16_t hc, o0, o1;
    std::memcpy(&hc, ip + 10, 2);
    std::memcpy(&o0, ip + 16, 2);
    std::memcpy(&o1, ip + 18, 2);
    const std::uint32_t nd =
        std::endian::native == std::endian::little ? __builtin_bswap32(dst) : dst; // wire order
    std::uint32_t sum = static_cast<std::uint16_t>(~hc);
    sum += static_cast<std::uint16_t>(~o0);
    sum += static_cast<std::uint16_t>(~o1);
    sum += nd & 0xFFFF;
    sum += nd >> 16;
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    hc = static_cast<std::uint16_t>(~sum);
    std::memcpy(ip + 10, &hc, 2);
    std::memcpy(ip + 16, &nd, 4);
}

// The same by the textbook formula on big-endian words; the unit test's reference.
inline void ipv4_set_dst_reference(std::uint8_t* ip, std::uint32_t dst) noexcept {
    std::uint32_t sum = static_cast<std::uint16_t>(~load_be16(ip + 10));
    sum += static_cast<std::uint16_t>(~load_be16(ip + 16));
    sum += static_cast<std::uint16_t>(~load_be16(ip + 18));
    sum += dst >> 16;
    sum += dst & 0xFFFF;
    store_be16(ip + 10, csum_fold(sum));
    store_be16(ip + 16, static_cast<std::uint16_t>(dst >> 16));
    store_be16(ip + 18, static_cast<std::uint16_t>(dst));
}

// IPv6 fixed header checks: length ≥ 40, version 6, 40 + payload length ≤ avail.
inline bool check_ipv6(const std::uint8_t* ip, std::size_t avail) noexcept {
    if (avail < 40 || (ip[0] >> 4) != 6) return false;
    return 40u + load_be16(ip + 4) <= avail;
}

// Source/destination screening (RFC 1812 §5.3.7 martians, §5.3.5.1 limited broadcast, RFC 3927
// IPv4 link-local; RFC 4291 unspecified, loopback, link-local and multicast IPv6 addresses).
// The exact rules are check_v4_addrs / check_v6_addrs below; the worker's fast path only looks
// up the first byte of each address in an AddrScreen (4 cache lines, hot), and any flagged byte
// sends the packet to the generic parse, which applies the exact rule. Flags per first byte:
// a byte is flagged when some address that starts with it is refused, so the screen never lets
// a refused packet through; it may flag a good one (169.1.2.3, 64:ff9b::/96, fec0::/10), which
// then pays the generic parse and is forwarded.
inline constexpr std::uint8_t screen_v4_src = 1, screen_v4_dst = 2, screen_v6_src = 4,
                              screen_v6_dst = 8;
using AddrScreen = std::array<std::uint8_t, 256>;

// allow_martian_v4_src: RFC 1812 §5.3.7's switch (default off = the checks run).
constexpr AddrScreen make_addr_screen(bool allow_martian_v4_src) noexcept {
    AddrScreen t{};
    for (unsigned b = 0; b < 256; ++b) {
        const bool v4_martian = b == 0 || b == 127 || b >= 224;
        std::uint8_t f = 0;
        if ((v4_martian && !allow_martian_v4_src) || b == 169) f |= screen_v4_src;
        if (v4_martian || b == 169) f |= screen_v4_dst;
        if (b == 0x00 || b == 0xFE || b == 0xFF) f |= screen_v6_src | screen_v6_dst;
        t[b] = f;
    }
    return t;
}

enum class AddrCheck : std::uint8_t { ok, martian_src, martian_dst, link_local };

// The exact IPv4 rule (host byte order): link-local source or destination (RFC 3927 §7: MUST
// NOT forward), then the destination (0/8, 127/8, 224/4 multicast — rsfwd routes no multicast —,
// 240/4 and 255.255.255.255), then the source (0/8, 127/8, 224/4, 240/4, 255.255.255.255)
// unless the §5.3.7 switch allows martian sources.
constexpr AddrCheck check_v4_addrs(std::uint32_t src, std::uint32_t dst,
                                   bool allow_martian_src) noexcept {
    constexpr auto martian = [](std::uint32_t a) {
        const std::uint32_t b = a >> 24;
        return b == 0 || b == 127 || b >= 224;
    };
    if ((src >> 16) == 0xA9FE || (dst >> 16) == 0xA9FE) return AddrCheck::link_local;
    if (martian(dst)) return AddrCheck::martian_dst;
    if (!allow_martian_src && martian(src)) return AddrCheck::martian_src;
    return AddrCheck::ok;
}

// The exact IPv6 rule for a packet to forward (multicast and link-local destinations are
// punted before this): link-local source (RFC 4291 §2.5.6), unspecified / loopback / multicast
// source (§2.5.2, §2.5.3, §2.7), unspecified / loopback destination.
inline AddrCheck check_v6_addrs(const std::uint8_t* src, const std::uint8_t* dst) noexcept {
    constexpr auto unspec_or_loop = [](const std::uint8_t* a) {
        std::uint64_t hi, lo;
        std::memcpy(&hi, a, 8);
        std::memcpy(&lo, a + 8, 8);
        return hi == 0 && (lo == 0 || lo == std::uint64_t{1} << 56); // ::, ::1 (big endian)
    };
    static_assert(std::endian::native == std::endian::little);
    if (src[0] == 0xFE && (src[1] & 0xC0) == 0x80) return AddrCheck::link_local;
    if (dst[0] == 0xFE && (dst[1] & 0xC0) == 0x80) return AddrCheck::link_local;
    if (unspec_or_loop(dst) || dst[0] == 0xFF) return AddrCheck::martian_dst;
    if (src[0] == 0xFF || unspec_or_loop(src)) return AddrCheck::martian_src;
    return AddrCheck::ok;
}

// Flow hash over the 5-tuple (addresses, protocol, ports of unfragmented TCP/UDP); used for ECMP
// when the NIC gives no RSS hash. Same flow → same value, on every worker.
inline std::uint32_t mix32(std::uint32_t h, std::uint32_t v) noexcept {
    h ^= v * 0xCC9E2D51u;
    h = (h << 15) | (h >> 17);
    return h * 0x1B873593u + 0xE6546B64u;
}
inline std::uint32_t fmix32(std::uint32_t h) noexcept {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    return h ^ (h >> 16);
}
inline std::uint32_t flow_hash_v4(const std::uint8_t* ip, std::size_t avail) noexcept {
    std::uint32_t h = mix32(0x9747B28Cu, load_be32(ip + 12));
    h = mix32(h, load_be32(ip + 16));
    const std::uint8_t proto = ip[9];
    h = mix32(h, proto);
    const unsigned hlen = (ip[0] & 0xF) * 4u;
    const bool frag = (load_be16(ip + 6) & 0x3FFF) != 0;
    if (!frag && (proto == 6 || proto == 17) && avail >= hlen + 4)
        h = mix32(h, load_be32(ip + hlen));
    return fmix32(h);
}
inline std::uint32_t flow_hash_v6(const std::uint8_t* ip, std::size_t avail) noexcept {
    std::uint32_t h = 0x9747B28Cu;
    for (unsigned i = 8; i < 40; i += 4) h = mix32(h, load_be32(ip + i));
    const std::uint8_t nh = ip[6];
    h = mix32(h, nh);
    if ((nh == 6 || nh == 17) && avail >= 44) h = mix32(h, load_be32(ip + 40));
    return fmix32(h);
}
// ECMP member in [0, n) from a 32-bit hash, without a division.
inline unsigned ecmp_pick(std::uint32_t hash, unsigned n) noexcept {
    return static_cast<unsigned>((std::uint64_t{hash} * n) >> 32);
}

// L2 rewrite for a forwarded frame: drop the 802.1Q tag if any (ports are untagged), then write
// destination and source MACs. Returns the new start of the frame (data + l3_off - 14).
inline std::uint8_t* rewrite_l2(std::uint8_t* frame, std::uint16_t l3_off, std::uint16_t ethertype,
                                const std::uint8_t* dst, const std::uint8_t* src) noexcept {
    std::uint8_t* eth = frame + (l3_off - 14);
    std::memcpy(eth, dst, 6);
    std::memcpy(eth + 6, src, 6);
    store_be16(eth + 12, ethertype);
    return eth;
}

// L2 rewrite of an untagged frame whose ethertype stays: destination and source MACs, each
// given as its 6 bytes loaded little-endian into a u64 (byte i at bits 8i, the adjacency-slot
// and Runtime::mac64_by_id encoding). One 8-byte and one 4-byte store.
inline void write_macs(std::uint8_t* eth, std::uint64_t dst48, std::uint64_t src48) noexcept {
    static_assert(std::endian::native == std::endian::little, "MAC words are little endian");
    const std::uint64_t w0 = (dst48 & 0xFFFFFFFFFFFFull) | (src48 << 48);
    const auto w1 = static_cast<std::uint32_t>(src48 >> 16);
    std::memcpy(eth, &w0, 8);
    std::memcpy(eth + 8, &w1, 4);
}

} // namespace rsfwd::dp
