// bench/bgp/mrt_gen.cpp — writes an MRT TABLE_DUMP_V2 file (RFC 6396) of the lpm/ BGP-shaped
// IPv4 table (lpm::gen_bgp4: the issue-3 length mix, aggregates and their more-specifics), for
// `gobgp mrt inject global FILE` in bench/bgp/feed.py.
//
//   mrt_gen --routes N [--seed S] [--next-hop A.B.C.D] [--peer-as AS] > feed.mrt   (or -o FILE)
//
// Why C++: the same generator as the LPM and FIB benchmarks, so the BGP benchmark feeds a table
// of the same shape; 1M records are written in well under a second.
// Attributes, deterministic per prefix: ORIGIN IGP; AS_PATH of 2–5 4-octet ASes (the peer AS
// first, then one of n/20 distinct "origin paths", so ~20 prefixes share each attribute set as
// in a real table); NEXT_HOP; COMMUNITIES on one path in ten.
// Build: g++ -O2 -std=c++20 -I ROOT bench/bgp/mrt_gen.cpp lpm/gen.cpp lpm/lpm.cpp
#include "lpm/gen.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;

void put16(Bytes& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xFFFF);
}

// MRT common header: timestamp, type 13 (TABLE_DUMP_V2), subtype, length.
void record(std::FILE* f, std::uint16_t subtype, const Bytes& body) {
    Bytes h;
    put32(h, 0);
    put16(h, 13);
    put16(h, subtype);
    put32(h, static_cast<std::uint32_t>(body.size()));
    std::fwrite(h.data(), 1, h.size(), f);
    std::fwrite(body.data(), 1, body.size(), f);
}

Bytes attributes(std::uint64_t path_id, std::uint32_t peer_as, std::uint32_t nh) {
    rsfwd::lpm::SplitMix64 rng(path_id * 0x9E37 + 7);
    std::vector<std::uint32_t> asns{peer_as};
    const auto extra = 1 + rng.below(4);
    for (std::uint64_t i = 0; i < extra; ++i)
        asns.push_back(static_cast<std::uint32_t>(1000 + rng.below(400000)));
    Bytes a{0x40, 1, 1, 0}; // ORIGIN IGP
    a.insert(a.end(), {0x40, 2, static_cast<std::uint8_t>(2 + 4 * asns.size()), 2,
                       static_cast<std::uint8_t>(asns.size())});
    for (auto x : asns) put32(a, x);
    a.insert(a.end(), {0x40, 3, 4});
    put32(a, nh);
    if (path_id % 10 == 0) {
        a.insert(a.end(), {0xC0, 8, 8});
        put32(a, (peer_as & 0xFFFF) << 16 | static_cast<std::uint32_t>(path_id % 65536));
        put32(a, 0xFFEDFFED);
    }
    return a;
}

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: mrt_gen --routes N [--seed S] [--next-hop A.B.C.D] "
                         "[--peer-as AS] [--peer-ip A.B.C.D] [-o FILE]\n");
    std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
    std::size_t n = 100000;
    std::uint64_t seed = 1;
    std::uint32_t peer_as = 65009;
    std::string nh_text = "10.1.2.4", peer_text = "10.1.2.4", out_path;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (i + 1 >= argc) usage();
        const std::string v = argv[++i];
        if (k == "--routes")
            n = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--seed")
            seed = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--next-hop")
            nh_text = v;
        else if (k == "--peer-as")
            peer_as = static_cast<std::uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
        else if (k == "--peer-ip")
            peer_text = v;
        else if (k == "-o")
            out_path = v;
        else
            usage();
    }
    in_addr nh{}, peer{};
    if (inet_pton(AF_INET, nh_text.c_str(), &nh) != 1 ||
        inet_pton(AF_INET, peer_text.c_str(), &peer) != 1)
        usage();
    std::FILE* f = out_path.empty() ? stdout : std::fopen(out_path.c_str(), "wb");
    if (!f) {
        std::perror(out_path.c_str());
        return 1;
    }
    const auto routes = rsfwd::lpm::gen_bgp4(n, seed);
    // PEER_INDEX_TABLE: collector id, empty view name, one peer (type 2: IPv4, 4-octet AS).
    Bytes pit;
    put32(pit, ntohl(peer.s_addr));
    put16(pit, 0);
    put16(pit, 1);
    pit.push_back(2);
    put32(pit, ntohl(peer.s_addr));
    put32(pit, ntohl(peer.s_addr));
    put32(pit, peer_as);
    record(f, 1, pit);
    const std::uint64_t n_paths = routes.size() / 20 + 1;
    Bytes body;
    std::uint32_t seq = 0;
    for (const auto& r : routes) {
        // RIB_IPV4_UNICAST: sequence, prefix length, prefix bytes, entry count, entries.
        body.clear();
        put32(body, seq++);
        body.push_back(r.len);
        for (unsigned i = 0; i < (r.len + 7u) / 8; ++i)
            body.push_back(static_cast<std::uint8_t>(r.addr >> (24 - 8 * i)));
        put16(body, 1);
        const auto attrs = attributes(rsfwd::lpm::SplitMix64(r.addr ^ r.len).below(n_paths),
                                      peer_as, ntohl(nh.s_addr));
        put16(body, 0); // peer index
        put32(body, 0); // originated time
        put16(body, static_cast<std::uint32_t>(attrs.size()));
        body.insert(body.end(), attrs.begin(), attrs.end());
        record(f, 2, body);
    }
    if (f != stdout) std::fclose(f);
    std::fprintf(stderr, "mrt_gen: %zu IPv4 prefixes, %llu attribute sets\n", routes.size(),
                 static_cast<unsigned long long>(n_paths));
    return 0;
}
