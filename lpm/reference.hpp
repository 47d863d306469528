// lpm/reference.hpp — an obviously-right longest-prefix-match table, for tests and benchmarks.
//
// What: one hash map per prefix length; a lookup probes the lengths from longest to shortest.
// Nothing clever, so it serves as the oracle the fast tables (lpm/lpm.hpp) are checked against.
// Ownership: value type, owns its maps. Thread: same as the standard containers (const methods
// may run concurrently with each other, not with a non-const method).
// Cost: lookup is up to 33 (IPv4) / 129 (IPv6) hash probes; updates are one hash operation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "lpm/lpm.hpp"

namespace rsfwd::lpm {

// Masks the host bits of a prefix (IPv4 in host order).
[[nodiscard]] inline std::uint32_t mask4(std::uint32_t addr, unsigned len) noexcept {
    return len == 0 ? 0u : addr & (~0u << (32 - len));
}

// Masks the host bits of a prefix (IPv6 in network order).
[[nodiscard]] inline Addr6 mask6(const Addr6& addr, unsigned len) noexcept {
    Addr6 out{};
    for (unsigned i = 0; i < 16; ++i) {
        unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
        out[i] = keep == 0 ? 0 : static_cast<std::uint8_t>(addr[i] & (0xFFu << (8 - keep)));
    }
    return out;
}

struct Addr6Hash {
    std::size_t operator()(const Addr6& a) const noexcept {
        std::uint64_t h = 0xcbf29ce484222325ull;
        for (auto b : a) h = (h ^ b) * 0x100000001b3ull;
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};

class RefTable4 {
public:
    void insert(std::uint32_t addr, std::uint8_t len, nh_t nh) {
        if (len > 32) throw std::invalid_argument("RefTable4: prefix length > 32");
        maps_[len][mask4(addr, len)] = nh;
    }
    bool remove(std::uint32_t addr, std::uint8_t len) {
        if (len > 32) return false;
        return maps_[len].erase(mask4(addr, len)) != 0;
    }
    [[nodiscard]] nh_t lookup(std::uint32_t addr) const noexcept {
        for (int len = 32; len >= 0; --len) {
            const auto& m = maps_[static_cast<std::size_t>(len)];
            if (m.empty()) continue;
            auto it = m.find(mask4(addr, static_cast<unsigned>(len)));
            if (it != m.end()) return it->second;
        }
        return no_route;
    }
    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (const auto& m : maps_) n += m.size();
        return n;
    }
    // All routes, in no particular order.
    [[nodiscard]] std::vector<Route4> routes() const {
        std::vector<Route4> out;
        for (unsigned len = 0; len <= 32; ++len)
            for (const auto& [a, nh] : maps_[len]) out.push_back({a, std::uint8_t(len), nh});
        return out;
    }

private:
    std::array<std::unordered_map<std::uint32_t, nh_t>, 33> maps_;
};

class RefTable6 {
public:
    void insert(const Addr6& addr, std::uint8_t len, nh_t nh) {
        if (len > 128) throw std::invalid_argument("RefTable6: prefix length > 128");
        maps_[len][mask6(addr, len)] = nh;
    }
    bool remove(const Addr6& addr, std::uint8_t len) {
        if (len > 128) return false;
        return maps_[len].erase(mask6(addr, len)) != 0;
    }
    [[nodiscard]] nh_t lookup(const Addr6& addr) const noexcept {
        for (int len = 128; len >= 0; --len) {
            const auto& m = maps_[static_cast<std::size_t>(len)];
            if (m.empty()) continue;
            auto it = m.find(mask6(addr, static_cast<unsigned>(len)));
            if (it != m.end()) return it->second;
        }
        return no_route;
    }
    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (const auto& m : maps_) n += m.size();
        return n;
    }
    [[nodiscard]] std::vector<Route6> routes() const {
        std::vector<Route6> out;
        for (unsigned len = 0; len <= 128; ++len)
            for (const auto& [a, nh] : maps_[len]) out.push_back({a, std::uint8_t(len), nh});
        return out;
    }

private:
    std::array<std::unordered_map<Addr6, nh_t, Addr6Hash>, 129> maps_;
};

} // namespace rsfwd::lpm
