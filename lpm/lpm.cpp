// lpm/lpm.cpp — the public tables: argument checks and key conversion around detail::Trie.
#include "lpm/lpm.hpp"

#include <algorithm>
#include <stdexcept>

namespace rsfwd::lpm {

namespace {
// Applying a batch in address order makes consecutive changes hit neighbouring root slots and
// nodes (often the same cache lines) instead of random ones. Stable, so among equal prefixes in
// the upserts the last still wins.
template <class Route, class KeyOf>
std::vector<Route> sorted_batch(std::span<const Route> in, KeyOf key) {
    std::vector<Route> v(in.begin(), in.end());
    std::stable_sort(v.begin(), v.end(), [&](const Route& a, const Route& b) {
        auto ka = key(a), kb = key(b);
        return ka < kb || (ka == kb && a.len < b.len);
    });
    return v;
}
constexpr std::size_t sort_threshold = 64;
} // namespace

Table4::Table4() = default;
Table4::Table4(const Table4&) = default;
Table4& Table4::operator=(const Table4&) = default;
Table4::Table4(Table4&&) noexcept = default;
Table4& Table4::operator=(Table4&&) noexcept = default;

Table4 Table4::build(std::span<const Route4> routes) {
    std::vector<detail::Entry<std::uint32_t>> e;
    e.reserve(routes.size());
    for (const auto& r : routes) {
        if (r.len > 32) throw std::invalid_argument("Table4::build: prefix length > 32");
        if (r.nh > max_nexthop)
            throw std::invalid_argument("Table4::build: next hop > max_nexthop");
        e.push_back({r.addr, r.len, r.nh});
    }
    Table4 t;
    t.t_.build(std::move(e));
    return t;
}

void Table4::insert(std::uint32_t addr, std::uint8_t len, nh_t nh) {
    if (len > 32) throw std::invalid_argument("Table4::insert: prefix length > 32");
    if (nh > max_nexthop) throw std::invalid_argument("Table4::insert: next hop > max_nexthop");
    t_.need(nh);
    t_.visit([&](auto& t) { t.insert(addr, len, nh); });
}

bool Table4::remove(std::uint32_t addr, std::uint8_t len) {
    if (len > 32) return false;
    return t_.visit([&](auto& t) { return t.remove(addr, len); });
}

void Table4::apply(std::span<const Route4> upserts, std::span<const Route4> removals) {
    for (const auto& r : upserts) {
        if (r.len > 32) throw std::invalid_argument("Table4::apply: prefix length > 32");
        if (r.nh > max_nexthop)
            throw std::invalid_argument("Table4::apply: next hop > max_nexthop");
        t_.need(r.nh);
    }
    t_.visit([&](auto& tr) {
        auto k4 = [](const Route4& r) { return r.addr; };
        if (removals.size() >= sort_threshold) {
            for (const auto& r : sorted_batch(removals, k4))
                if (r.len <= 32) tr.remove(r.addr, r.len, false);
        } else {
            for (const auto& r : removals)
                if (r.len <= 32) tr.remove(r.addr, r.len, false);
        }
        if (upserts.size() >= sort_threshold) {
            for (const auto& r : sorted_batch(upserts, k4)) tr.insert(r.addr, r.len, r.nh);
        } else {
            for (const auto& r : upserts) tr.insert(r.addr, r.len, r.nh);
        }
        tr.fit_root(); // removals above did not shrink the root: only the net change may
    });
}

std::vector<Route4> Table4::routes() const {
    std::vector<Route4> out;
    for (const auto& e : t_.visit([](const auto& t) { return t.routes(); }))
        out.push_back({e.addr, e.len, e.nh});
    return out;
}

Table6::Table6() = default;
Table6::Table6(const Table6&) = default;
Table6& Table6::operator=(const Table6&) = default;
Table6::Table6(Table6&&) noexcept = default;
Table6& Table6::operator=(Table6&&) noexcept = default;

Table6 Table6::build(std::span<const Route6> routes) {
    std::vector<detail::Entry<detail::u128>> e;
    e.reserve(routes.size());
    for (const auto& r : routes) {
        if (r.len > 128) throw std::invalid_argument("Table6::build: prefix length > 128");
        if (r.nh > max_nexthop)
            throw std::invalid_argument("Table6::build: next hop > max_nexthop");
        e.push_back({key(r.addr), r.len, r.nh});
    }
    Table6 t;
    t.t_.build(std::move(e));
    return t;
}

void Table6::insert(const Addr6& addr, std::uint8_t len, nh_t nh) {
    if (len > 128) throw std::invalid_argument("Table6::insert: prefix length > 128");
    if (nh > max_nexthop) throw std::invalid_argument("Table6::insert: next hop > max_nexthop");
    t_.need(nh);
    t_.visit([&](auto& t) { t.insert(key(addr), len, nh); });
}

bool Table6::remove(const Addr6& addr, std::uint8_t len) {
    if (len > 128) return false;
    return t_.visit([&](auto& t) { return t.remove(key(addr), len); });
}

void Table6::apply(std::span<const Route6> upserts, std::span<const Route6> removals) {
    for (const auto& r : upserts) {
        if (r.len > 128) throw std::invalid_argument("Table6::apply: prefix length > 128");
        if (r.nh > max_nexthop)
            throw std::invalid_argument("Table6::apply: next hop > max_nexthop");
        t_.need(r.nh);
    }
    t_.visit([&](auto& tr) {
        auto k6 = [](const Route6& r) { return key(r.addr); };
        if (removals.size() >= sort_threshold) {
            for (const auto& r : sorted_batch(removals, k6))
                if (r.len <= 128) tr.remove(key(r.addr), r.len, false);
        } else {
            for (const auto& r : removals)
                if (r.len <= 128) tr.remove(key(r.addr), r.len, false);
        }
        if (upserts.size() >= sort_threshold) {
            for (const auto& r : sorted_batch(upserts, k6)) tr.insert(key(r.addr), r.len, r.nh);
        } else {
            for (const auto& r : upserts) tr.insert(key(r.addr), r.len, r.nh);
        }
        tr.fit_root(); // removals above did not shrink the root: only the net change may
    });
}

std::vector<Route6> Table6::routes() const {
    std::vector<Route6> out;
    for (const auto& e : t_.visit([](const auto& t) { return t.routes(); }))
        out.push_back({addr(e.addr), e.len, e.nh});
    return out;
}

} // namespace rsfwd::lpm
