// control/bgp/errors.hpp — internal to the codec: building a DecodeResult as errors are found.
//
// Thread: any. Cost: one string per problem (the log line).
// Why two shapes: RFC 7606 lets most errors degrade the message (raise() keeps decoding and
// remembers the harshest action), while framing errors end decoding at once with a fresh result
// that carries only the NOTIFICATION to send (reset()).
#pragma once

#include "control/bgp/codec.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rsfwd::bgp {

// A session-reset result: send NOTIFICATION (code, subcode, data), log `why`.
[[nodiscard]] DecodeResult reset(std::uint8_t code, std::uint8_t subcode,
                                 std::vector<std::uint8_t> data, std::string why);

// Records a problem and raises r.action to `a` if that is harsher.
void raise(DecodeResult& r, ErrorAction a, std::string why);

// What a decoding step returns: a session reset to hand back as is, or nullopt to carry on.
using MaybeReset = std::optional<DecodeResult>;

} // namespace rsfwd::bgp
