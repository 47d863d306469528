// dataplane/fib/mac.hpp — the one MAC address type: what adjacency slots hold (fib.hpp), what the
// config names (static neighbours, port MACs) and what the XDP backend reads from the kernel.
// It lives in the FIB seam because workers read it and may include nothing from control/.
// Thread: value type, any thread. Cost: parse/str are a few dozen instructions, control path.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rsfwd {

using Mac = std::array<std::uint8_t, 6>;

// "02:00:00:00:00:01" (six two-digit hex groups, either case); nullopt on anything else.
inline std::optional<Mac> parse_mac(std::string_view text) noexcept {
    if (text.size() != 17) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    Mac m{};
    for (std::size_t i = 0; i < 6; ++i) {
        if (i < 5 && text[i * 3 + 2] != ':') return std::nullopt;
        const int hi = nibble(text[i * 3]), lo = nibble(text[i * 3 + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        m[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return m;
}

// "02:00:00:00:00:01".
inline std::string mac_str(const Mac& m) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s(17, ':');
    for (std::size_t i = 0; i < 6; ++i) {
        s[i * 3] = hex[m[i] >> 4];
        s[i * 3 + 1] = hex[m[i] & 0xF];
    }
    return s;
}

} // namespace rsfwd
