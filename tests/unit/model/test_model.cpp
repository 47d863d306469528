// Unit tests for control/model: strict parsing, masking, AS path length (D8, RFC 4271 9.1.2.2).
#include "control/model.hpp"

#include <gtest/gtest.h>

using namespace rsfwd;

TEST(IpAddr, ParsesAndPrintsBothFamilies) {
    auto a = IpAddr::parse("10.1.0.4");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_v4());
    EXPECT_EQ(a->v4_host(), 0x0A010004u);
    EXPECT_EQ(a->str(), "10.1.0.4");
    auto b = IpAddr::parse("2001:db8::1");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->is_v6());
    EXPECT_EQ(b->str(), "2001:db8::1");
    EXPECT_EQ(IpAddr::v4(0x0A010004u), *a);
}

TEST(IpAddr, RefusesMalformed) {
    for (const char* s : {"", "10.1.0", "10.1.0.256", " 10.1.0.4", "10.1.0.4 ", "abc", "1::2::3",
                          "10.1.0.4/32", "999999999999999999999999999999999999999999999999"}) {
        EXPECT_FALSE(IpAddr::parse(s)) << s;
    }
}

TEST(Prefix, StrictParsingRefusesHostBits) {
    EXPECT_FALSE(Prefix::parse("10.1.0.1/16"));
    auto loose = Prefix::parse("10.1.0.1/16", false);
    ASSERT_TRUE(loose);
    EXPECT_EQ(loose->str(), "10.1.0.0/16");
    for (const char* s :
         {"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0", "10.0.0.0/8x", "::/129"}) {
        EXPECT_FALSE(Prefix::parse(s)) << s;
    }
    EXPECT_EQ(Prefix::parse("0.0.0.0/0")->len, 0);
    EXPECT_EQ(Prefix::parse("2001:db8::/32")->str(), "2001:db8::/32");
}

TEST(Prefix, ContainsAndCovers) {
    auto p16 = *Prefix::parse("10.1.0.0/16");
    auto p24 = *Prefix::parse("10.1.3.0/24");
    auto p8 = *Prefix::parse("10.0.0.0/8");
    EXPECT_TRUE(p16.covers(p24));
    EXPECT_TRUE(p16.covers(p16));
    EXPECT_FALSE(p16.covers(p8));
    EXPECT_TRUE(p8.covers(p16));
    EXPECT_TRUE(p16.contains(*IpAddr::parse("10.1.255.255")));
    EXPECT_FALSE(p16.contains(*IpAddr::parse("10.2.0.0")));
    EXPECT_FALSE(p16.contains(*IpAddr::parse("::1")));
    auto odd = *Prefix::parse("10.1.0.0/19");
    EXPECT_TRUE(odd.contains(*IpAddr::parse("10.1.31.1")));
    EXPECT_FALSE(odd.contains(*IpAddr::parse("10.1.32.1")));
    EXPECT_TRUE(Prefix::parse("0.0.0.0/0")->contains(*IpAddr::parse("8.8.8.8")));
}

TEST(AsPath, LengthCountsSetsAsOne) {
    auto p = AsPath::parse("65001 65002 {65003,65004} 65005");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->length(), 4u);
    EXPECT_EQ(p->str(), "65001 65002 {65003,65004} 65005");
    EXPECT_TRUE(p->contains(65004));
    EXPECT_FALSE(p->contains(65515));
    EXPECT_EQ(p->first_asn(), 65001u);
    EXPECT_TRUE(AsPath::parse("")->empty());
    EXPECT_FALSE(AsPath::parse("65001 x"));
    EXPECT_FALSE(AsPath::parse("{65001"));
    EXPECT_FALSE(AsPath::parse("99999999999"));
}

TEST(AsPath, PrependAddsToLeadingSequence) {
    auto p = AsPath::of({65001});
    p.prepend(65515);
    EXPECT_EQ(p.str(), "65515 65001");
    EXPECT_EQ(p.length(), 2u);
    auto s = *AsPath::parse("{1,2}");
    s.prepend(65515, 2);
    EXPECT_EQ(s.str(), "65515 65515 {1,2}");
    EXPECT_EQ(s.length(), 3u);
    AsPath e;
    e.prepend(12076);
    EXPECT_EQ(e.str(), "12076");
}

TEST(Community, ParseAndFormat) {
    EXPECT_EQ(parse_community("65517:65517"), communities::ars_hairpin);
    EXPECT_EQ(parse_community("no-advertise"), communities::no_advertise);
    EXPECT_EQ(community_str(communities::no_advertise), "65535:65282");
    EXPECT_FALSE(parse_community("65536:1"));
    EXPECT_FALSE(parse_community("1"));
}
