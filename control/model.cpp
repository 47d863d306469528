// control/model.cpp — parsing and formatting of the shared vocabulary. Parsing is strict: a
// config or CLI value that is not exactly an address/prefix/path is refused, never guessed at.
#include "control/model.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace rsfwd {

IpAddr IpAddr::v4(std::uint32_t host_order) noexcept {
    IpAddr a;
    a.family = Family::v4;
    a.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
    a.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
    a.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
    a.bytes[3] = static_cast<std::uint8_t>(host_order);
    return a;
}

IpAddr IpAddr::v6(const std::array<std::uint8_t, 16>& network_order) noexcept {
    IpAddr a;
    a.family = Family::v6;
    a.bytes = network_order;
    return a;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
    if (text.empty() || text.size() > 45) return std::nullopt;
    char buf[64];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddr a;
    if (text.find(':') == std::string_view::npos) {
        if (inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
        a.family = Family::v4;
    } else {
        if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
        a.family = Family::v6;
    }
    return a;
}

std::uint32_t IpAddr::v4_host() const noexcept {
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
           (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

std::string IpAddr::str() const {
    char buf[INET6_ADDRSTRLEN];
    if (is_v4()) return inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
    if (is_v6()) return inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    return "-";
}

Prefix Prefix::make(const IpAddr& addr, int len) noexcept {
    Prefix p;
    p.addr = addr;
    const int width = addr.bit_width();
    len = std::clamp(len, 0, width);
    p.len = static_cast<std::uint8_t>(len);
    // Byte masks, not a loop per bit: the FIB compiler masks every prefix it is given.
    for (int i = 0; i < 16; ++i) {
        const int keep = std::clamp(len - 8 * i, 0, 8);
        p.addr.bytes[static_cast<std::size_t>(i)] &= static_cast<std::uint8_t>(0xFF00u >> keep);
    }
    return p;
}

std::optional<Prefix> Prefix::parse(std::string_view text, bool strict) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto addr = IpAddr::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    const auto len_text = text.substr(slash + 1);
    int len = -1;
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc{} || ptr != len_text.data() + len_text.size() || len_text.empty()) {
        return std::nullopt;
    }
    if (len < 0 || len > addr->bit_width()) return std::nullopt;
    Prefix p = make(*addr, len);
    if (strict && p.addr != *addr) return std::nullopt; // host bits set
    return p;
}

bool Prefix::contains(const IpAddr& a) const noexcept {
    if (a.family != addr.family) return false;
    const int full = len / 8;
    if (std::memcmp(a.bytes.data(), addr.bytes.data(), full) != 0) return false;
    const int rest = len % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFF00u >> rest);
    return (a.bytes[full] & mask) == addr.bytes[full];
}

bool Prefix::covers(const Prefix& other) const noexcept {
    return other.family() == family() && other.len >= len && contains(other.addr);
}

std::string Prefix::str() const {
    return addr.str() + "/" + std::to_string(len);
}

std::size_t PrefixHash::operator()(const Prefix& p) const noexcept {
    // Two 64-bit words of (masked) address, mixed with the length and family: no loop per
    // byte. Hash maps keyed by prefix are on every route event's path (policy, sessions, FIB).
    std::uint64_t a, b;
    std::memcpy(&a, p.addr.bytes.data(), 8);
    std::memcpy(&b, p.addr.bytes.data() + 8, 8);
    std::uint64_t h = a * 0x9E3779B97F4A7C15ull;
    h ^= (b + (std::uint64_t{p.len} << 8 | static_cast<std::uint64_t>(p.addr.family))) *
         0xC2B2AE3D27D4EB4Full;
    h ^= h >> 31;
    h *= 0xD6E8FEB86659FD93ull;
    return static_cast<std::size_t>(h ^ (h >> 32));
}

std::size_t IpAddrHash::operator()(const IpAddr& a) const noexcept {
    return PrefixHash{}(Prefix{a, static_cast<std::uint8_t>(a.bit_width())});
}

AsPath AsPath::of(std::initializer_list<std::uint32_t> seq) {
    AsPath p;
    if (seq.size() != 0) p.segments.push_back({AsPathSegment::sequence, seq});
    return p;
}

namespace {
std::optional<std::uint32_t> parse_u32(std::string_view s) {
    std::uint32_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}
} // namespace

std::optional<AsPath> AsPath::parse(std::string_view text) {
    AsPath path;
    std::size_t i = 0;
    auto skip = [&] {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    };
    for (skip(); i < text.size(); skip()) {
        if (text[i] == '{') {
            const auto close = text.find('}', i);
            if (close == std::string_view::npos) return std::nullopt;
            AsPathSegment seg{AsPathSegment::set, {}};
            auto body = text.substr(i + 1, close - i - 1);
            std::size_t j = 0;
            while (j <= body.size()) {
                auto comma = body.find(',', j);
                if (comma == std::string_view::npos) comma = body.size();
                auto item = body.substr(j, comma - j);
                while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
                while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
                auto asn = parse_u32(item);
                if (!asn) return std::nullopt;
                seg.asns.push_back(*asn);
                j = comma + 1;
            }
            path.segments.push_back(std::move(seg));
            i = close + 1;
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '{') {
            ++end;
        }
        auto asn = parse_u32(text.substr(i, end - i));
        if (!asn) return std::nullopt;
        if (path.segments.empty() || path.segments.back().type != AsPathSegment::sequence) {
            path.segments.push_back({AsPathSegment::sequence, {}});
        }
        path.segments.back().asns.push_back(*asn);
        i = end;
    }
    return path;
}

std::size_t AsPath::length() const noexcept {
    std::size_t n = 0;
    for (const auto& s : segments) {
        if (s.type == AsPathSegment::sequence)
            n += s.asns.size();
        else if (s.type == AsPathSegment::set)
            n += 1;
    }
    return n;
}

bool AsPath::contains(std::uint32_t asn) const noexcept {
    for (const auto& s : segments) {
        if (std::find(s.asns.begin(), s.asns.end(), asn) != s.asns.end()) return true;
    }
    return false;
}

std::optional<std::uint32_t> AsPath::first_asn() const noexcept {
    for (const auto& s : segments) {
        if (s.type == AsPathSegment::sequence && !s.asns.empty()) return s.asns.front();
        if (!s.asns.empty()) return std::nullopt; // leftmost is a set: no single neighbour AS
    }
    return std::nullopt;
}

void AsPath::prepend(std::uint32_t asn, int times) {
    if (times <= 0) return;
    if (segments.empty() || segments.front().type != AsPathSegment::sequence ||
        segments.front().asns.size() + static_cast<std::size_t>(times) > 255) {
        segments.insert(segments.begin(), AsPathSegment{AsPathSegment::sequence, {}});
    }
    auto& a = segments.front().asns;
    a.insert(a.begin(), static_cast<std::size_t>(times), asn);
}

std::string AsPath::str() const {
    std::string out;
    for (const auto& s : segments) {
        const bool is_set = s.type == AsPathSegment::set || s.type == AsPathSegment::confed_set;
        if (!out.empty()) out += ' ';
        if (is_set) out += '{';
        for (std::size_t i = 0; i < s.asns.size(); ++i) {
            if (i) out += is_set ? "," : " ";
            out += std::to_string(s.asns[i]);
        }
        if (is_set) out += '}';
    }
    return out;
}

std::optional<Community> parse_community(std::string_view text) {
    if (text == "no-export" || text == "NO_EXPORT") return communities::no_export;
    if (text == "no-advertise" || text == "NO_ADVERTISE") return communities::no_advertise;
    if (text == "no-export-subconfed" || text == "NO_EXPORT_SUBCONFED") {
        return communities::no_export_subconfed;
    }
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto hi = parse_u32(text.substr(0, colon));
    auto lo = parse_u32(text.substr(colon + 1));
    if (!hi || !lo || *hi > 0xFFFF || *lo > 0xFFFF) return std::nullopt;
    return community(static_cast<std::uint16_t>(*hi), static_cast<std::uint16_t>(*lo));
}

std::string community_str(Community c) {
    return std::to_string(c >> 16) + ":" + std::to_string(c & 0xFFFF);
}

bool Route::has_community(Community c) const noexcept {
    return std::find(communities.begin(), communities.end(), c) != communities.end();
}

std::string_view to_string(RouteSource s) noexcept {
    switch (s) {
    case RouteSource::vnet_local:
        return "vnet";
    case RouteSource::nva:
        return "nva";
    case RouteSource::er:
        return "expressroute";
    case RouteSource::vpn:
        return "vpn";
    case RouteSource::static_udr:
        return "udr";
    }
    return "?";
}

} // namespace rsfwd

namespace rsfwd {

void NextHops::sort_unique() noexcept {
    std::sort(a_.begin(), a_.begin() + n_);
    n_ = static_cast<std::uint8_t>(std::unique(a_.begin(), a_.begin() + n_) - a_.begin());
}

} // namespace rsfwd
