// tests/fuzz/packet — libFuzzer target for the worker's packet parsing
// (dataplane/worker/packet.hpp): L2 classification (802.1Q), RFC 1812 IPv4 checks, IPv6 checks,
// flow hashes, the RFC 1624 incremental TTL update and the L2 rewrite. Properties checked (abort on
// violation):
//   - nothing reads outside the frame (ASan), whatever the bytes;
//   - a header that passes check_ipv4 with checksum verification still verifies after
//     ipv4_dec_ttl and after ipv4_set_dst (the incremental updates equal a full recomputation);
//   - the flow hash of a frame is deterministic;
//   - the worker's first-byte address screen never passes what the exact address rule refuses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/worker/packet.hpp"

using namespace rsfwd::dp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> frame(data, data + size); // exact size: ASan sees overreads
    const L2Info l2 = classify(frame.data(), frame.size());
    if (!l2.ok) return 0;
    std::uint8_t* ip = frame.data() + l2.l3_off;
    const std::size_t avail = frame.size() - l2.l3_off;
    if (l2.l3 == L3::ipv4) {
        if (check_ipv4(ip, avail, true) == V4Check::ok) {
            const unsigned hlen = (ip[0] & 0xF) * 4u;
            if (flow_hash_v4(ip, avail) != flow_hash_v4(ip, avail)) std::abort();
            for (const bool allow : {false, true}) {
                const AddrScreen scr = make_addr_screen(allow);
                const bool pass =
                    ((scr[ip[12]] & screen_v4_src) | (scr[ip[16]] & screen_v4_dst)) == 0;
                if (pass &&
                    check_v4_addrs(load_be32(ip + 12), load_be32(ip + 16), allow) != AddrCheck::ok)
                    std::abort();
            }
            if (ip[8] > 1) {
                ipv4_dec_ttl(ip);
                if (csum_fold(csum_add(0, ip, hlen)) != 0) std::abort();
            }
            // A destination taken from the frame's own bytes (source address, reversed).
            const std::uint32_t dst = __builtin_bswap32(load_be32(ip + 12));
            ipv4_set_dst(ip, dst);
            if (load_be32(ip + 16) != dst || csum_fold(csum_add(0, ip, hlen)) != 0) std::abort();
            const std::uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
            rewrite_l2(frame.data(), l2.l3_off, ethertype_ipv4, mac, mac);
        } else {
            (void)check_ipv4(ip, avail, false);
        }
    } else if (l2.l3 == L3::ipv6) {
        if (check_ipv6(ip, avail)) {
            if (flow_hash_v6(ip, avail) != flow_hash_v6(ip, avail)) std::abort();
            const AddrScreen scr = make_addr_screen(false);
            if (((scr[ip[8]] & screen_v6_src) | (scr[ip[24]] & screen_v6_dst)) == 0 &&
                check_v6_addrs(ip + 8, ip + 24) != AddrCheck::ok)
                std::abort();
            (void)ecmp_pick(flow_hash_v6(ip, avail), 8);
        }
    }
    return 0;
}
