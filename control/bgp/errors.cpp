// control/bgp/errors.cpp — the codec's error vocabulary: NOTIFICATION and RFC 7606 action
// names for logs and `rsctl peers`, and the helpers that build a DecodeResult as problems are
// found.
//
// Thread: any (constant tables only). Cost: one formatted string per call.
#include "control/bgp/errors.hpp"

#include <fmt/format.h>

#include <array>

namespace rsfwd::bgp {

DecodeResult reset(std::uint8_t code, std::uint8_t subcode, std::vector<std::uint8_t> data,
                   std::string why) {
    DecodeResult r;
    r.action = ErrorAction::session_reset;
    r.notification = Notification{code, subcode, std::move(data)};
    r.problems.push_back(std::move(why));
    return r;
}

void raise(DecodeResult& r, ErrorAction a, std::string why) {
    if (a > r.action) r.action = a;
    r.problems.push_back(std::move(why));
}

std::string_view to_string(ErrorAction a) noexcept {
    switch (a) {
    case ErrorAction::none:
        return "none";
    case ErrorAction::attribute_discard:
        return "attribute-discard";
    case ErrorAction::treat_as_withdraw:
        return "treat-as-withdraw";
    case ErrorAction::session_reset:
        return "session-reset";
    }
    return "?";
}

std::string Notification::str() const {
    static constexpr std::array<const char*, 8> codes{"code 0",
                                                      "Message Header Error",
                                                      "OPEN Message Error",
                                                      "UPDATE Message Error",
                                                      "Hold Timer Expired",
                                                      "FSM Error",
                                                      "Cease",
                                                      "ROUTE-REFRESH Message Error"};
    std::string sub;
    if (code == err::header) {
        static constexpr std::array<const char*, 4> s{"", "Connection Not Synchronized",
                                                      "Bad Message Length", "Bad Message Type"};
        if (subcode < s.size()) sub = s[subcode];
    } else if (code == err::open) {
        static constexpr std::array<const char*, 8> s{"",
                                                      "Unsupported Version Number",
                                                      "Bad Peer AS",
                                                      "Bad BGP Identifier",
                                                      "Unsupported Optional Parameter",
                                                      "[Deprecated]",
                                                      "Unacceptable Hold Time",
                                                      "Unsupported Capability"};
        if (subcode < s.size()) sub = s[subcode];
    } else if (code == err::update) {
        static constexpr std::array<const char*, 12> s{"",
                                                       "Malformed Attribute List",
                                                       "Unrecognized Well-known Attribute",
                                                       "Missing Well-known Attribute",
                                                       "Attribute Flags Error",
                                                       "Attribute Length Error",
                                                       "Invalid ORIGIN Attribute",
                                                       "[Deprecated]",
                                                       "Invalid NEXT_HOP Attribute",
                                                       "Optional Attribute Error",
                                                       "Invalid Network Field",
                                                       "Malformed AS_PATH"};
        if (subcode < s.size()) sub = s[subcode];
    } else if (code == err::cease) {
        static constexpr std::array<const char*, 9> s{"",
                                                      "Maximum Number of Prefixes Reached",
                                                      "Administrative Shutdown",
                                                      "Peer De-configured",
                                                      "Administrative Reset",
                                                      "Connection Rejected",
                                                      "Other Configuration Change",
                                                      "Connection Collision Resolution",
                                                      "Out of Resources"};
        if (subcode < s.size()) sub = s[subcode];
    }
    const char* c = code < codes.size() ? codes[code] : "unknown code";
    if (sub.empty()) sub = fmt::format("subcode {}", subcode);
    return fmt::format("{} / {} ({}/{})", c, sub, code, subcode);
}

} // namespace rsfwd::bgp
