// control/bgp/as_path.cpp — AS_PATH / AS4_PATH segments to and from bytes, and the RFC 6793
// merge that lets a 2-octet session carry 4-octet ASNs.
//
// Thread: any. Cost: one pass over the path.
#include "control/bgp/as_path.hpp"

#include "control/bgp/codec.hpp"
#include "control/bgp/wire.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace rsfwd::bgp {

namespace {

// RFC 4271 §9.1.2.2 / RFC 5065 path length, as RFC 6793 §4.2.3 uses it.
std::size_t merge_count(const AsPath& p) {
    std::size_t n = 0;
    for (const auto& s : p.segments) {
        if (s.type == AsPathSegment::sequence)
            n += s.asns.size();
        else if (s.type == AsPathSegment::set)
            n += 1;
    }
    return n;
}

} // namespace

bool parse_as_path(std::span<const std::uint8_t> data, int asn_bytes, AsPath& out,
                   std::string& why) {
    Reader r(data);
    while (!r.empty()) {
        const auto type = r.u8();
        const auto count = r.u8();
        if (r.bad()) {
            why = "AS_PATH segment header truncated";
            return false;
        }
        if (type < 1 || type > 4) {
            why = fmt::format("AS_PATH segment type {}", type);
            return false;
        }
        if (count == 0) {
            why = "AS_PATH segment of length 0";
            return false;
        }
        if (r.left() < static_cast<std::size_t>(count) * static_cast<std::size_t>(asn_bytes)) {
            why = "AS_PATH segment overruns the attribute";
            return false;
        }
        AsPathSegment seg;
        seg.type = static_cast<AsPathSegment::Type>(type);
        seg.asns.reserve(count);
        for (int i = 0; i < count; ++i) seg.asns.push_back(asn_bytes == 4 ? r.u32() : r.u16());
        out.segments.push_back(std::move(seg));
    }
    return true;
}

bool is_confed(const AsPathSegment& s) {
    return s.type == AsPathSegment::confed_sequence || s.type == AsPathSegment::confed_set;
}

AsPath merge_as4(const AsPath& as_path, const AsPath& as4_path) {
    const std::size_t n2 = merge_count(as_path), n4 = merge_count(as4_path);
    if (n2 < n4) return as_path;
    std::size_t need = n2 - n4;
    AsPath out;
    for (const auto& s : as_path.segments) {
        if (need == 0) break;
        if (s.type == AsPathSegment::sequence) {
            AsPathSegment cut{s.type, {}};
            const auto take = std::min(need, s.asns.size());
            cut.asns.assign(s.asns.begin(), s.asns.begin() + static_cast<std::ptrdiff_t>(take));
            need -= take;
            out.segments.push_back(std::move(cut));
        } else if (s.type == AsPathSegment::set) {
            out.segments.push_back(s);
            need -= 1;
        } else {
            out.segments.push_back(s);
        }
    }
    for (const auto& s : as4_path.segments) {
        if (!out.segments.empty() && s.type == AsPathSegment::sequence &&
            out.segments.back().type == AsPathSegment::sequence &&
            out.segments.back().asns.size() + s.asns.size() <= 255) {
            auto& back = out.segments.back().asns;
            back.insert(back.end(), s.asns.begin(), s.asns.end());
        } else {
            out.segments.push_back(s);
        }
    }
    return out;
}

std::vector<std::uint8_t> as_path_bytes(const AsPath& p, int asn_bytes, bool map_trans) {
    Writer w;
    for (const auto& s : p.segments) {
        for (std::size_t i = 0; i < s.asns.size(); i += 255) {
            const auto n = std::min<std::size_t>(255, s.asns.size() - i);
            w.u8(s.type);
            w.u8(static_cast<std::uint8_t>(n));
            for (std::size_t j = i; j < i + n; ++j) {
                const auto asn = s.asns[j];
                if (asn_bytes == 4)
                    w.u32(asn);
                else
                    w.u16(map_trans && asn > 0xFFFF ? as_trans : static_cast<std::uint16_t>(asn));
            }
        }
    }
    return std::move(w.out);
}

bool needs_as4(const AsPath& p) {
    for (const auto& s : p.segments) {
        for (auto a : s.asns) {
            if (a > 0xFFFF) return true;
        }
    }
    return false;
}

} // namespace rsfwd::bgp
