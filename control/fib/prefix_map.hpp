// control/fib/prefix_map.hpp — a flat open-addressing hash map keyed by Prefix, for the FIB
// compiler's per-view state (installed routes, pending changes).
//
// What: linear probing over one array of {Prefix, V} slots (a Prefix with family none marks an
// empty slot), backward-shift deletion (no tombstones), power-of-two capacity, load ≤ 5/8.
// Why not std::unordered_map: a 1M-route view is 1M node allocations and pointer chases there;
// here it is one allocation and, on a hit, usually one cache line.
// Ownership: value type; owns its slot array. Pointers returned by find()/try_emplace() are
// invalidated by any later insertion or erase.
// Thread: not thread-safe (control thread only).
// Cost: find/insert/erase O(1) expected; for_each O(capacity); 24..28 bytes per slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "control/model.hpp"

namespace rsfwd::fib {

template <class V>
class PrefixMap {
public:
    struct Slot {
        Prefix key; // key.addr.family == Family::none: empty
        V value;
    };

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    void reserve(std::size_t n) {
        std::size_t cap = 16;
        while (cap * 5 < n * 8) cap *= 2;
        if (cap > slots_.size()) rehash(cap);
    }
    // Large maps give their memory back: a pending-ops map that held a 1M-route load would
    // otherwise cost a 2M-slot sweep on every later (small) batch.
    void clear() noexcept {
        if (slots_.size() > 1024) {
            std::vector<Slot>().swap(slots_);
            mask_ = 0;
        } else {
            for (Slot& s : slots_) s.key.addr.family = Family::none;
        }
        size_ = 0;
    }

    [[nodiscard]] V* find(const Prefix& k) noexcept {
        if (slots_.empty()) return nullptr;
        for (std::size_t i = home(k);; i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (s.key.addr.family == Family::none) return nullptr;
            if (s.key == k) return &s.value;
        }
    }
    [[nodiscard]] const V* find(const Prefix& k) const noexcept {
        return const_cast<PrefixMap*>(this)->find(k);
    }

    // Inserts {k, v} if k is absent. Returns the value slot and whether it was inserted.
    std::pair<V*, bool> try_emplace(const Prefix& k, const V& v) {
        if ((size_ + 1) * 8 > slots_.size() * 5) rehash(slots_.empty() ? 16 : slots_.size() * 2);
        for (std::size_t i = home(k);; i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (s.key.addr.family == Family::none) {
                s.key = k;
                s.value = v;
                ++size_;
                return {&s.value, true};
            }
            if (s.key == k) return {&s.value, false};
        }
    }
    void insert_or_assign(const Prefix& k, const V& v) {
        auto [p, inserted] = try_emplace(k, v);
        if (!inserted) *p = v;
    }

    bool erase(const Prefix& k) noexcept {
        if (slots_.empty()) return false;
        std::size_t i = home(k);
        for (;; i = (i + 1) & mask_) {
            if (slots_[i].key.addr.family == Family::none) return false;
            if (slots_[i].key == k) break;
        }
        // Backward shift: pull later members of the probe run into the hole when their home
        // slot does not lie cyclically in (hole, j].
        for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
            Slot& s = slots_[j];
            if (s.key.addr.family == Family::none) break;
            const std::size_t h = home(s.key);
            const bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
            if (!stays) {
                slots_[i] = s;
                i = j;
            }
        }
        slots_[i].key.addr.family = Family::none;
        --size_;
        return true;
    }

    // fn(const Prefix&, V&) for every entry, in slot order. fn must not insert or erase.
    template <class Fn>
    void for_each(Fn&& fn) {
        for (Slot& s : slots_)
            if (s.key.addr.family != Family::none) fn(static_cast<const Prefix&>(s.key), s.value);
    }
    template <class Fn>
    void for_each(Fn&& fn) const {
        for (const Slot& s : slots_)
            if (s.key.addr.family != Family::none) fn(s.key, s.value);
    }

private:
    [[nodiscard]] std::size_t home(const Prefix& k) const noexcept {
        return static_cast<std::size_t>(PrefixHash{}(k)) & mask_;
    }
    void rehash(std::size_t cap) {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(cap, Slot{});
        mask_ = cap - 1;
        for (const Slot& s : old) {
            if (s.key.addr.family == Family::none) continue;
            std::size_t i = home(s.key);
            while (slots_[i].key.addr.family != Family::none) i = (i + 1) & mask_;
            slots_[i] = s;
        }
    }

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

} // namespace rsfwd::fib
