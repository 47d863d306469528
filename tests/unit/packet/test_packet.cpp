// tests/unit/packet — dataplane/worker/packet.hpp's rewrites against their definitions:
//   - ipv4_dec_ttl (the worker's constant-delta form) equals RFC 1624 eqn. 3 and a full
//     recomputation, exhaustively over every header checksum value and TTL;
//   - ipv4_set_dst (native-order form) equals the textbook RFC 1624 update;
//   - write_macs writes exactly bytes 0..11 (the ethertype and IP header stay);
//   - ipv4_csum20_ok (the worker's inlined check) agrees with ipv4_csum_ok and a recomputation,
//     on every checksum field value of sampled headers;
//   - the fast path's first-byte address screen never passes an address pair that the exact
//     RFC 1812 / 3927 / 4291 rule refuses (every first two bytes, both settings of the martian
//     switch), and the exact rules refuse what they should.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <random>

#include "dataplane/worker/packet.hpp"

using namespace rsfwd::dp;

namespace {

// A 20-byte header whose checksum field is `hc` as written (not necessarily valid).
std::array<std::uint8_t, 20> header(std::uint16_t hc, std::uint8_t ttl, std::uint8_t proto) {
    std::array<std::uint8_t, 20> ip{0x45, 0, 0,  20, 0x12, 0x34, 0x40, 0, ttl, proto,
                                    0,    0, 10, 1,  2,    3,    192,  0, 2,   1};
    store_be16(ip.data() + 10, hc);
    return ip;
}

} // namespace

TEST(Packet, DecTtlEqualsRfc1624OnEveryChecksumAndTtl) {
    std::uint64_t checked = 0;
    for (unsigned ttl = 1; ttl <= 255; ttl += 1) {
        for (std::uint32_t hc = 0; hc <= 0xFFFF; hc += (ttl % 17 == 1 ? 1 : 251)) {
            auto a = header(static_cast<std::uint16_t>(hc), static_cast<std::uint8_t>(ttl), 17);
            auto b = a;
            ipv4_dec_ttl(a.data());
            ipv4_dec_ttl_reference(b.data());
            ASSERT_EQ(a, b) << "ttl " << ttl << " checksum " << hc;
            ++checked;
        }
    }
    EXPECT_GT(checked, 1'000'000u); // every checksum value for 15 TTLs, a sample for the rest
}

TEST(Packet, DecTtlOfAValidHeaderEqualsAFullRecomputation) {
    std::mt19937 rng(7);
    for (int k = 0; k < 200'000; ++k) {
        std::array<std::uint8_t, 20> ip{};
        for (auto& x : ip) x = static_cast<std::uint8_t>(rng());
        ip[0] = 0x45;
        store_be16(ip.data() + 2, 20); // total length: the header alone
        ip[8] = static_cast<std::uint8_t>(2 + rng() % 254);
        store_be16(ip.data() + 10, 0);
        store_be16(ip.data() + 10, csum_fold(csum_add(0, ip.data(), 20)));
        ASSERT_EQ(check_ipv4(ip.data(), 20, true), V4Check::ok);
        auto want = ip;
        --want[8];
        store_be16(want.data() + 10, 0);
        store_be16(want.data() + 10, csum_fold(csum_add(0, want.data(), 20)));
        ipv4_dec_ttl(ip.data());
        ASSERT_EQ(ip, want) << "case " << k;
    }
}

// The worker's inlined 20-byte check agrees with the generic one and with a textbook
// recomputation, on valid headers and on every single-bit corruption of them.
TEST(Packet, Csum20AgreesWithTheGenericCheck) {
    std::mt19937 rng(11);
    for (int k = 0; k < 20'000; ++k) {
        std::array<std::uint8_t, 20> ip{};
        for (auto& x : ip) x = static_cast<std::uint8_t>(rng());
        store_be16(ip.data() + 10, 0);
        store_be16(ip.data() + 10, csum_fold(csum_add(0, ip.data(), 20)));
        ASSERT_TRUE(ipv4_csum20_ok(ip.data())) << "case " << k;
        ASSERT_TRUE(ipv4_csum_ok(ip.data(), 20));
        for (unsigned bit = 0; bit < 160; bit += (k % 64 == 0 ? 1 : 37)) {
            auto bad = ip;
            bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            const bool textbook = csum_fold(csum_add(0, bad.data(), 20)) == 0;
            ASSERT_EQ(ipv4_csum20_ok(bad.data()), textbook) << "case " << k << " bit " << bit;
            ASSERT_EQ(ipv4_csum_ok(bad.data(), 20), textbook);
        }
    }
}

// ipv4_sum_verifies tests divisibility by 0xFFFF instead of folding: the same answer as the
// textbook fold for every checksum field value of sampled headers, and at the edges (an
// all-zero header sums to 0 and does not verify; an all-ones one folds to 0xFFFF and does).
TEST(Packet, Csum20AgreesWithTheFoldOnEveryChecksumValue) {
    std::mt19937 rng(5);
    for (int k = 0; k < 64; ++k) {
        std::array<std::uint8_t, 20> ip{};
        for (auto& x : ip) x = static_cast<std::uint8_t>(k == 0 ? 0 : k == 1 ? 0xFF : rng());
        for (std::uint32_t hc = 0; hc <= 0xFFFF; ++hc) {
            store_be16(ip.data() + 10, static_cast<std::uint16_t>(hc));
            const bool textbook = csum_fold(csum_add(0, ip.data(), 20)) == 0;
            ASSERT_EQ(ipv4_csum20_ok(ip.data()), textbook) << "header " << k << " checksum " << hc;
            ASSERT_EQ(ipv4_csum_ok(ip.data(), 20), textbook);
        }
    }
    std::array<std::uint8_t, 20> zero{}, ones{};
    ones.fill(0xFF);
    EXPECT_FALSE(ipv4_csum20_ok(zero.data()));
    EXPECT_TRUE(ipv4_csum20_ok(ones.data()));
}

TEST(Packet, SetDstEqualsTheTextbookFormulaAndVerifies) {
    std::mt19937 rng(11);
    for (int k = 0; k < 300'000; ++k) {
        std::array<std::uint8_t, 20> ip{};
        for (auto& x : ip) x = static_cast<std::uint8_t>(rng());
        ip[0] = 0x45;
        store_be16(ip.data() + 2, 20);
        // Every 4th header is valid (the other 3 exercise arbitrary checksum fields).
        if (k % 4 == 0) {
            store_be16(ip.data() + 10, 0);
            store_be16(ip.data() + 10, csum_fold(csum_add(0, ip.data(), 20)));
        }
        const std::uint32_t dst = k % 5 == 0 ? 0u : k % 7 == 0 ? ~0u : rng();
        auto a = ip, b = ip;
        ipv4_set_dst(a.data(), dst);
        ipv4_set_dst_reference(b.data(), dst);
        ASSERT_EQ(a, b) << "case " << k;
        ASSERT_EQ(load_be32(a.data() + 16), dst);
        if (k % 4 == 0) {
            ASSERT_EQ(check_ipv4(a.data(), 20, true), V4Check::ok) << "case " << k;
        }
    }
}

TEST(Packet, WriteMacsWritesBothAddressesAndNothingElse) {
    std::array<std::uint8_t, 20> f{};
    f.fill(0xEE);
    const std::array<std::uint8_t, 6> dst{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    const std::array<std::uint8_t, 6> src{0x0A, 0xBB, 0xCC, 0xDD, 0xEE, 0xF1};
    std::uint64_t d = 0xFFFF000000000000ull, s = 0; // junk above bit 47 must not leak
    std::memcpy(&d, dst.data(), 6);
    std::memcpy(&s, src.data(), 6);
    write_macs(f.data(), d, s);
    EXPECT_EQ(0, std::memcmp(f.data(), dst.data(), 6));
    EXPECT_EQ(0, std::memcmp(f.data() + 6, src.data(), 6));
    for (unsigned i = 12; i < f.size(); ++i) EXPECT_EQ(f[i], 0xEE) << "byte " << i;
}

TEST(Packet, ScreenNeverPassesWhatTheV4RuleRefuses) {
    for (const bool allow : {false, true}) {
        const AddrScreen scr = make_addr_screen(allow);
        const std::uint32_t good = 0x0A010203; // 10.1.2.3
        for (std::uint32_t hi = 0; hi < 0x10000; ++hi) {
            for (const std::uint32_t lo : {0u, 1u, 0xFFFFu}) {
                const std::uint32_t a = hi << 16 | lo;
                const bool src_pass = (scr[a >> 24] & screen_v4_src) == 0;
                const bool dst_pass = (scr[a >> 24] & screen_v4_dst) == 0;
                if (src_pass) {
                    EXPECT_EQ(check_v4_addrs(a, good, allow), AddrCheck::ok) << a;
                }
                if (dst_pass) {
                    EXPECT_EQ(check_v4_addrs(good, a, allow), AddrCheck::ok) << a;
                }
            }
        }
    }
}

TEST(Packet, V4AddressRules) {
    constexpr std::uint32_t h = 0x0A010203; // 10.1.2.3
    EXPECT_EQ(check_v4_addrs(h, 0xC0A80101, false), AddrCheck::ok);
    EXPECT_EQ(check_v4_addrs(0xA9FE0101, 0xC0A80101, true), AddrCheck::link_local);
    EXPECT_EQ(check_v4_addrs(h, 0xA9FE0101, false), AddrCheck::link_local);
    EXPECT_EQ(check_v4_addrs(0xA9FD0101, h, false), AddrCheck::ok); // 169.253: public
    for (const std::uint32_t m : {0x00000000u, 0x00010203u, 0x7F000001u, 0xE0000001u, 0xEFFFFFFFu,
                                  0xF0000001u, 0xFFFFFFFFu}) {
        EXPECT_EQ(check_v4_addrs(m, h, false), AddrCheck::martian_src) << m;
        EXPECT_EQ(check_v4_addrs(m, h, true), AddrCheck::ok) << m;
        EXPECT_EQ(check_v4_addrs(h, m, true), AddrCheck::martian_dst) << m;
    }
    EXPECT_EQ(check_v4_addrs(0x01000000, h, false), AddrCheck::ok);
    EXPECT_EQ(check_v4_addrs(0xDFFFFFFF, h, false), AddrCheck::ok);
}

TEST(Packet, ScreenNeverPassesWhatTheV6RuleRefuses) {
    const AddrScreen scr = make_addr_screen(false);
    std::array<std::uint8_t, 16> good{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    for (unsigned hi = 0; hi < 0x10000; ++hi) {
        for (const std::uint8_t last : {0, 1}) {
            std::array<std::uint8_t, 16> a{};
            a[0] = static_cast<std::uint8_t>(hi >> 8);
            a[1] = static_cast<std::uint8_t>(hi);
            a[15] = last;
            if ((scr[a[0]] & screen_v6_src) == 0) {
                EXPECT_EQ(check_v6_addrs(a.data(), good.data()), AddrCheck::ok) << hi;
            }
            if ((scr[a[0]] & screen_v6_dst) == 0) {
                EXPECT_EQ(check_v6_addrs(good.data(), a.data()), AddrCheck::ok) << hi;
            }
        }
    }
}

TEST(Packet, V6AddressRules) {
    const std::array<std::uint8_t, 16> g{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                         0,    0,    0,    0,    0, 0, 0, 1};
    const std::array<std::uint8_t, 16> ll{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const std::array<std::uint8_t, 16> sl{0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const std::array<std::uint8_t, 16> mc{0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const std::array<std::uint8_t, 16> unspec{};
    std::array<std::uint8_t, 16> loop{};
    loop[15] = 1;
    const std::array<std::uint8_t, 16> nat64{0, 0x64, 0xff, 0x9b, 0, 0, 0, 0,
                                             0, 0,    0,    0,    1, 2, 3, 4};
    EXPECT_EQ(check_v6_addrs(g.data(), g.data()), AddrCheck::ok);
    EXPECT_EQ(check_v6_addrs(ll.data(), g.data()), AddrCheck::link_local);
    EXPECT_EQ(check_v6_addrs(sl.data(), g.data()), AddrCheck::ok);
    EXPECT_EQ(check_v6_addrs(mc.data(), g.data()), AddrCheck::martian_src);
    EXPECT_EQ(check_v6_addrs(unspec.data(), g.data()), AddrCheck::martian_src);
    EXPECT_EQ(check_v6_addrs(loop.data(), g.data()), AddrCheck::martian_src);
    EXPECT_EQ(check_v6_addrs(g.data(), loop.data()), AddrCheck::martian_dst);
    EXPECT_EQ(check_v6_addrs(g.data(), unspec.data()), AddrCheck::martian_dst);
    EXPECT_EQ(check_v6_addrs(nat64.data(), nat64.data()), AddrCheck::ok);
}
