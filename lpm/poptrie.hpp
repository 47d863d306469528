// lpm/poptrie.hpp — the compressed multibit trie behind Table4/Table6 (internal; include
// lpm/lpm.hpp instead).
//
// What: a Poptrie (Asai & Ohara, SIGCOMM 2015): a direct-pointed root array indexed by the top R
// bits, then 6-bit-stride nodes. A node holds two 64-bit bitmaps: `vector` marks the positions
// that continue in a child node, `leafvec` marks where a run of equal leaves starts (leaf
// compression). Children of a node are contiguous (base1 + popcnt), so are its leaves
// (base0 + popcnt). A lookup is one root load plus, per level, one 24-byte node load and a
// popcount, ending in one 4-byte leaf load.
// Control-plane shadow: every node also carries (in a parallel array the lookup never touches)
// the routes whose prefix length ends inside it, its default (the leaf it inherits), and the
// number of routes in its subtree. Updates walk the trie to the node a prefix ends in, repaint
// its 64 leaves and re-derive only the children whose inherited default changed.
// Ownership: value type; all memory lives in std::vectors (copy = a few memcpy-like copies).
// Thread: const methods are safe to run concurrently with each other, never with a non-const
// method on the same object (see lpm/lpm.hpp for the data-plane hand-off contract).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <unordered_map>
#include <vector>

#include <sys/mman.h>

namespace rsfwd::lpm::detail {

__extension__ typedef unsigned __int128 u128;

struct V4 {
    using Key = std::uint32_t;
    static constexpr unsigned W = 32; // key width in bits
    static constexpr unsigned R = 18; // root stride (direct-pointed bits)
};
struct V6 {
    using Key = u128;
    static constexpr unsigned W = 128;
    static constexpr unsigned R = 18; // /48s end in the 5th node level (16 would need 6)
};

// A lookup node: 24 bytes, what the data plane reads.
struct Node {
    std::uint64_t vector;  // bit j: position j continues in child base1 + rank(j)
    std::uint64_t leafvec; // bit j: a new leaf run starts at position j
    std::uint32_t base0;   // first leaf of this node in leaves_
    std::uint32_t base1;   // first child of this node in nodes_
};

// Control-plane data per node, parallel to nodes_ (never read by lookups).
struct NodeInfo {
    std::uint32_t count = 0; // routes in this subtree (ending in this node or below)
    std::uint32_t dflt = 0;  // the leaf this node inherits from its parent
    std::uint32_t roff = 0;  // routes ending in this node: routes_[roff .. roff + rn)
    std::uint16_t rn = 0;
    std::uint16_t rcap = 0;
};

inline constexpr std::uint32_t node_flag = 0x80000000u; // root/state entry is a node index
inline constexpr std::uint32_t leaf_none = 0x7FFFFFFFu; // internal "no route" leaf

// Internal leaf -> public next hop (leaf_none -> 0xFFFFFFFF), branch-free.
[[nodiscard]] inline std::uint32_t to_nh(std::uint32_t v) noexcept {
    return v | ((v + 1) & 0x80000000u);
}

// Allocator for the arrays lookups touch: blocks of 2 MiB and more are 2 MiB-aligned and marked
// MADV_HUGEPAGE, so a multi-MiB table costs a handful of TLB entries instead of thousands.
// RSFWD_LPM_NO_THP=1 in the environment turns the madvise off (to compare on 4 KiB pages).
inline bool thp_wanted() noexcept {
    static const bool on = [] {
        const char* e = std::getenv("RSFWD_LPM_NO_THP");
        return !(e && *e && *e != '0');
    }();
    return on;
}

template <class T>
struct HugeAlloc {
    using value_type = T;
    static constexpr std::size_t huge = std::size_t{1} << 21;
    HugeAlloc() = default;
    template <class U>
    HugeAlloc(const HugeAlloc<U>&) noexcept {}
    T* allocate(std::size_t n) {
        std::size_t b = n * sizeof(T);
        if (b < huge) return std::allocator<T>().allocate(n);
        std::size_t r = (b + huge - 1) & ~(huge - 1);
        void* p = std::aligned_alloc(huge, r);
        if (!p) throw std::bad_alloc();
        if (thp_wanted()) ::madvise(p, r, MADV_HUGEPAGE);
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) < huge)
            std::allocator<T>().deallocate(p, n);
        else
            std::free(p);
    }
    template <class U>
    bool operator==(const HugeAlloc<U>&) const noexcept {
        return true;
    }
};

template <class T>
using HugeVec = std::vector<T, HugeAlloc<T>>;

// A pool of fixed-size blocks (at most 128 elements) with exact-size free lists.
template <class E>
struct Pool {
    HugeVec<E> v;
    std::vector<std::vector<std::uint32_t>> free = std::vector<std::vector<std::uint32_t>>(129);
    std::size_t free_elems = 0;

    std::uint32_t alloc(unsigned n) {
        if (n == 0) return 0;
        auto& f = free[n];
        if (!f.empty()) {
            auto o = f.back();
            f.pop_back();
            free_elems -= n;
            return o;
        }
        auto o = static_cast<std::uint32_t>(v.size());
        v.resize(v.size() + n);
        return o;
    }
    void release(std::uint32_t off, unsigned n) {
        if (n == 0) return;
        free[n].push_back(off);
        free_elems += n;
    }
    [[nodiscard]] std::size_t bytes() const noexcept {
        std::size_t b = v.capacity() * sizeof(E);
        for (const auto& f : free) b += f.capacity() * sizeof(std::uint32_t);
        return b;
    }
};

struct KeyHash {
    std::size_t operator()(std::uint32_t k) const noexcept {
        return static_cast<std::size_t>((std::uint64_t{k} * 0x9E3779B97F4A7C15ull) >> 17);
    }
    std::size_t operator()(u128 k) const noexcept {
        auto x = static_cast<std::uint64_t>(k) ^ (static_cast<std::uint64_t>(k >> 64) * 31);
        return static_cast<std::size_t>((x * 0x9E3779B97F4A7C15ull) >> 17);
    }
};

// A route as the trie sees it (key in host order, most significant bit = first address bit).
template <class Key>
struct Entry {
    Key addr;
    std::uint8_t len;
    std::uint32_t nh;
};

// T: key family (V4/V6). L: stored leaf type — uint16_t (next hops 0..narrow_max, half the leaf
// memory) or uint32_t (any next hop up to max_nexthop). Root entries are always 32-bit.
template <class T, class L = std::uint32_t>
class Trie {
public:
    using Key = typename T::Key;
    using Entry = detail::Entry<Key>;
    static constexpr unsigned W = T::W;
    static constexpr unsigned R = T::R;
    static constexpr unsigned S = 6;

    // Internal 32-bit leaf <-> stored leaf (16-bit: 0xFFFF is "no route").
    static L store_leaf(std::uint32_t v) noexcept {
        if constexpr (sizeof(L) == 4) {
            return v;
        } else {
            return static_cast<L>(v == leaf_none ? 0xFFFFu : v);
        }
    }
    static std::uint32_t load_leaf(L v) noexcept {
        if constexpr (sizeof(L) == 4) {
            return v;
        } else {
            auto w = static_cast<std::uint32_t>(v);
            return w | (((w + 1) >> 16) * 0x7FFF0000u);
        }
    }

    Trie();

    // Replaces the contents with `routes` (host bits masked; duplicates: last wins).
    void build(std::vector<Entry> routes);
    // Adds or replaces a route. len <= W and nh <= max_nexthop are the caller's checks.
    void insert(Key addr, unsigned len, std::uint32_t nh);
    bool remove(Key addr, unsigned len);

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t bytes() const noexcept;        // everything held
    [[nodiscard]] std::size_t lookup_bytes() const noexcept; // what lookups touch
    [[nodiscard]] std::size_t node_count() const noexcept {
        return nodes_.v.size() - nodes_.free_elems;
    }
    // Exports every route (order unspecified).
    [[nodiscard]] std::vector<Entry> routes() const;

    [[nodiscard]] static Key mask(Key k, unsigned len) noexcept {
        return len == 0 ? Key{0} : static_cast<Key>(k & (~Key{0} << (W - len)));
    }
    [[nodiscard]] static std::uint32_t slot(Key k) noexcept {
        return static_cast<std::uint32_t>(k >> (W - R));
    }
    // The 6 bits at offset off (< W), zero-padded past the end of the key.
    [[nodiscard]] static unsigned pos(Key k, unsigned off) noexcept {
        return static_cast<unsigned>(static_cast<Key>(k << off) >> (W - S));
    }

    [[nodiscard]] std::uint32_t lookup(Key k) const noexcept {
        const Node* nodes = nodes_.v.data();
        std::uint32_t e = root_[slot(k)];
        unsigned off = R;
        while (e & node_flag) {
            const Node& n = nodes[e & ~node_flag];
            std::uint64_t bit = std::uint64_t{1} << pos(k, off);
            if (n.vector & bit) {
                e = node_flag |
                    (n.base1 + static_cast<std::uint32_t>(std::popcount(n.vector & (bit - 1))));
                off += S;
            } else {
                e = load_leaf(
                    leaves_
                        .v[n.base0 +
                           static_cast<std::uint32_t>(std::popcount(n.leafvec & ((bit << 1) - 1))) -
                           1]);
            }
        }
        return to_nh(e);
    }

    // A 24-byte node straddles two cache lines in 2 of 8 positions: fetch both.
    static void prefetch_node(const Node* p) noexcept {
        __builtin_prefetch(p);
        __builtin_prefetch(reinterpret_cast<const char*>(p) + sizeof(Node) - 1);
    }

    // Looks up n <= MaxBurst keys, interleaved: every round advances all unfinished lookups by one
    // level and prefetches what the next round reads, so the misses of independent lookups
    // overlap. conv(in[i]) yields the Key.
    template <unsigned MaxBurst, class In, class Conv>
    void lookup_burst(const In* in, std::uint32_t* out, unsigned n, Conv conv) const noexcept {
        Key k[MaxBurst];
        std::uint32_t st[MaxBurst];
        std::uint8_t off[MaxBurst];
        std::uint8_t act[MaxBurst];
        const std::uint32_t* root = root_.data();
        const Node* nodes = nodes_.v.data();
        const L* leaves = leaves_.v.data();
        for (unsigned i = 0; i < n; ++i) {
            k[i] = conv(in[i]);
            __builtin_prefetch(&root[slot(k[i])]);
        }
        unsigned m = 0;
        for (unsigned i = 0; i < n; ++i) {
            std::uint32_t e = root[slot(k[i])];
            st[i] = e;
            off[i] = R;
            out[i] = to_nh(e);
            act[m] = static_cast<std::uint8_t>(i);
            m += (e >> 31);
            prefetch_node(&nodes[e & ~node_flag]);
        }
        while (m != 0) {
            unsigned m2 = 0;
            for (unsigned t = 0; t < m; ++t) {
                unsigned i = act[t];
                std::uint32_t s = st[i];
                if (s & node_flag) {
                    const Node& nd = nodes[s & ~node_flag];
                    std::uint64_t bit = std::uint64_t{1} << pos(k[i], off[i]);
                    std::uint32_t ns;
                    if (nd.vector & bit) {
                        ns = node_flag | (nd.base1 + static_cast<std::uint32_t>(
                                                         std::popcount(nd.vector & (bit - 1))));
                        off[i] = static_cast<std::uint8_t>(off[i] + S);
                        prefetch_node(&nodes[ns & ~node_flag]);
                    } else {
                        ns = nd.base0 +
                             static_cast<std::uint32_t>(
                                 std::popcount(nd.leafvec & ((bit << 1) - 1))) -
                             1;
                        __builtin_prefetch(&leaves[ns]);
                    }
                    st[i] = ns;
                    act[m2++] = static_cast<std::uint8_t>(i);
                } else {
                    out[i] = to_nh(load_leaf(leaves[s]));
                }
            }
            m = m2;
        }
    }

private:
    void build_node(std::uint32_t ni, unsigned off, std::uint32_t dflt, const Entry* b,
                    const Entry* e);
    void paint(std::uint32_t ni, std::uint32_t* leaves) const;
    void write_leaves(std::uint32_t ni, const std::uint32_t* leaves, std::uint64_t vector,
                      bool fresh);
    void relief(std::uint32_t ni, std::uint32_t dflt);
    void repaint_and_relief(std::uint32_t ni);
    bool insert_rec(std::uint32_t ni, unsigned off, Key addr, unsigned len, std::uint32_t nh);
    int remove_rec(std::uint32_t ni, unsigned off, Key addr, unsigned len);
    void set_slot_default(std::uint32_t s);
    void add_child(std::uint32_t ni, unsigned j, const Entry& r, unsigned child_off);
    void drop_child(std::uint32_t ni, unsigned j);
    void release_node(std::uint32_t ni);
    std::uint32_t alloc_nodes(unsigned n);
    void export_rec(std::uint32_t ni, unsigned off, Key base, std::vector<Entry>& out) const;

    HugeVec<std::uint32_t> root_;       // 2^R entries: node_flag|node or a leaf
    HugeVec<std::uint32_t> rdef_;       // per slot: best route of length <= R (a leaf)
    std::vector<std::int8_t> rdef_len_; // its length, -1 none
    Pool<Node> nodes_;
    std::vector<NodeInfo> info_; // parallel to nodes_.v
    Pool<L> leaves_;
    Pool<std::uint64_t> routes_; // (code << 32) | leaf, code = (1 << rel_len) | bits
    std::vector<std::unordered_map<Key, std::uint32_t, KeyHash>> shorts_; // len <= R
    std::size_t size_ = 0;
};

inline constexpr std::uint32_t narrow_max = 0xFFFEu; // largest next hop 16-bit leaves hold

// A table in one of two leaf widths: 16-bit leaves while every next hop is <= narrow_max (the
// common case: half the leaf memory), 32-bit leaves otherwise. Switching to wide rebuilds once;
// lookups dispatch on one predictable branch per call (per burst for bulk lookups).
template <class F>
class Dual {
public:
    using Narrow = Trie<F, std::uint16_t>;
    using Wide = Trie<F, std::uint32_t>;
    using Key = typename F::Key;

    Dual() : n_(std::in_place) {}

    template <class Fn>
    decltype(auto) visit(Fn&& fn) const {
        return n_ ? fn(*n_) : fn(*w_);
    }
    template <class Fn>
    decltype(auto) visit(Fn&& fn) {
        return n_ ? fn(*n_) : fn(*w_);
    }
    void build(std::vector<Entry<Key>> e) {
        std::uint32_t mx = 0;
        for (const auto& r : e) mx = r.nh > mx ? r.nh : mx;
        if (mx > narrow_max) {
            w_.emplace();
            w_->build(std::move(e));
            n_.reset();
        } else {
            n_.emplace();
            n_->build(std::move(e));
            w_.reset();
        }
    }
    // Called before storing next hop nh: widens the leaves if nh does not fit 16 bits.
    void need(std::uint32_t nh) {
        if (n_ && nh > narrow_max) {
            auto r = n_->routes();
            w_.emplace();
            w_->build(std::move(r));
            n_.reset();
        }
    }
    [[nodiscard]] bool wide() const noexcept { return w_.has_value(); }

private:
    std::optional<Narrow> n_;
    std::optional<Wide> w_;
};

extern template class Trie<V4, std::uint16_t>;
extern template class Trie<V4, std::uint32_t>;
extern template class Trie<V6, std::uint16_t>;
extern template class Trie<V6, std::uint32_t>;

} // namespace rsfwd::lpm::detail
