// tests/fuzz/bgp/fuzz_bgp.cpp — libFuzzer target for the BGP message decoder and the UPDATE
// attribute parser. Input: one context byte (bit 0: 4-octet AS session, bit 1: eBGP, bit 2:
// enforce a first AS of 65001), then either a whole message (starts with the marker) or a bare
// UPDATE body. Whatever decodes is re-encoded, so the encoder sees hostile-but-valid values too.
// ASan/UBSan turn any out-of-bounds read or undefined behaviour into a crash.
#include "control/bgp/codec.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

using namespace rsfwd::bgp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    DecodeContext ctx;
    ctx.four_octet_as = (data[0] & 1) != 0;
    ctx.ebgp = (data[0] & 2) != 0;
    ctx.peer_as = (data[0] & 4) != 0 ? 65001 : 0;
    const std::span<const std::uint8_t> in(data + 1, size - 1);

    DecodeResult r;
    if (in.size() >= header_len) {
        auto h = check_header(in.first(header_len));
        if (!h.error && h.length <= in.size()) r = decode_message(in.first(h.length), ctx);
    }
    auto body = decode_update_body(in, ctx);

    for (const auto* res : {&r, &body}) {
        if (!res->message) continue;
        if (const auto* u = std::get_if<UpdateMsg>(&*res->message)) {
            EncodeContext ec{ctx.four_octet_as, ctx.ebgp};
            auto msgs = encode_updates(u->announced, u->withdrawn, ec);
            for (const auto& m : msgs) {
                if (m.size() > max_message_len) __builtin_trap();
                (void)decode_message(m, ctx);
            }
        } else if (const auto* o = std::get_if<OpenMsg>(&*res->message)) {
            (void)validate_open(*o, 65001, 1);
            try {
                (void)decode_message(encode_open(*o), ctx);
            } catch (const std::length_error&) {
                // too many capabilities to re-encode in one parameter: fine
            }
        }
    }
    return 0;
}
