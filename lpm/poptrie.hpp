// lpm/poptrie.hpp — the compressed multibit trie behind Table4/Table6 (internal; include
// lpm/lpm.hpp instead).
//
// What: a Poptrie (Asai & Ohara, SIGCOMM 2015): a direct-pointed root array indexed by the top R
// bits, then 6-bit-stride nodes. A node holds two 64-bit bitmaps: `vector` marks the positions
// that continue in a child node, `leafvec` marks where a run of equal leaves starts (leaf
// compression). Children of a node are contiguous (base1 + popcnt), so are its leaves
// (base0 + popcnt). A lookup is one root load plus, per level, one 24-byte node load and a
// popcount, ending in one leaf load — except below a root slot whose root-level node has no
// children and at most cap(3) leaf runs (IPv4: almost every /18 with routes up to /24): that
// node lives in a compact block {leafvec, leaves} of one cache line (or two fetched together),
// so the lookup is the root load plus one block load. The root size adapts to the table's shape:
// R_small bits for empty tables and small shallow ones, R bits past small_max routes or (IPv4)
// as soon as a route is longer than deep_len (see root_for).
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
#include <cstring>
#include <new>
#include <optional>
#include <unordered_map>
#include <vector>

#include <sys/mman.h>

namespace rsfwd::lpm::detail {

__extension__ typedef unsigned __int128 u128;

// R: root stride (direct-pointed bits) of a big table; R_small: of an empty, small or shallow one
// (a 2^R root costs 2^R * 13 bytes even when empty, and the data plane keeps a table per view,
// family and buffer copy, most of them empty). deep_len: a table holding a route longer than
// this takes the big root whatever its size (root_for).
struct V4 {
    using Key = std::uint32_t;
    static constexpr unsigned W = 32; // key width in bits
    static constexpr unsigned R = 18; // 18 + 6 = 24: a /19../24 ends in one compact block
    static constexpr unsigned R_small = 8;
    // Past /14 a key walks two or more node levels under the 8-bit root (a /24: three, through
    // the bulk path's walk) against one compact block under the 18-bit one, so a small
    // BGP-shaped table forwards faster with the big root (lpm/README.md, "Small tables").
    static constexpr unsigned deep_len = R_small + 6;
};
struct V6 {
    using Key = u128;
    static constexpr unsigned W = 128;
    static constexpr unsigned R = 18; // /48s end in the 5th node level (16 would need 6)
    static constexpr unsigned R_small = 8;
    // Size alone decides: a /48 walks node levels under either root (5 vs 7), so depth buys
    // nothing here (lpm/README.md, "Small tables").
    static constexpr unsigned deep_len = W;
};
// A table switches to the big root when it grows past small_max routes (or takes a route longer
// than deep_len), and back to the small one when it shrinks below small_max / 4 with no such
// route left (hysteresis: no flapping around the threshold). 256, not more: a 1k-route FIB
// forwarded ~30 % slower with 2048 here.
inline constexpr std::size_t small_max = 256;

// A lookup node: 24 bytes, what the data plane reads.
struct Node {
    std::uint64_t vector;  // bit j: position j continues in child base1 + rank(j)
    std::uint64_t leafvec; // bit j: a new leaf run starts at position j
    std::uint32_t base0;   // first leaf of this node in leaves_ (root-level compact node: its
                           // lookup-root entry, see below)
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

// Lookup-root entries (lroot_), 32 bits:
//   0xxx…  a leaf: the public next hop (0..max_nexthop). No longer written: a slot
//          whose control entry is a leaf points to a 1-run class-0 block of that leaf (lblk_;
//          one block per leaf value, shared by the slots), so the IPv4 bulk lookup
//          (lookup_burst4) has no leaf/block select and relies on every entry being a block or
//          a node; the single and IPv6 lookups still accept leaves.
//   10xx…  node_flag | index of a Poptrie node
//   11cc…  node_flag | compact_flag | class cc << 28 | offset in 16-byte units of a compact
//          block: the root-level node of a slot with no route longer than R + 6 (IPv4: no route
//          longer than /24) and at most cap(3) leaf runs, stored as one cache line (two for
//          class 3, fetched together) that the lookup reads right after the root: {leafvec,
//          leaves…} in 16 << cc bytes, leaf = leaves[popcount(leafvec & bits up to the position) -
//          1]. Unit 0 is a shared block whose every position is "no route": a slot without any
//          route points to it, so the root needs no "no route" leaf value and a leaf entry IS the
//          next hop.
// The control root (root_) and the trie use internal leaves: 0..max_nexthop, leaf_none.
inline constexpr std::uint32_t node_flag = 0x80000000u;
inline constexpr std::uint32_t compact_flag = 0x40000000u;
inline constexpr std::uint32_t idx_mask = 0x3FFFFFFFu;
inline constexpr std::uint32_t unit_mask = 0x0FFFFFFFu;
inline constexpr std::uint32_t leaf_none = 0x7FFFFFFFu; // internal "no route" leaf

// Internal leaf -> public next hop (leaf_none -> 0xFFFFFFFF), branch-free.
[[nodiscard]] inline std::uint32_t to_nh(std::uint32_t v) noexcept {
    return v | ((v + 1) & 0x80000000u);
}

// Unaligned/type-punned load (compiles to one mov).
template <class T>
[[nodiscard]] inline T ld(const void* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// c if e is a compact lookup-root entry (e >= node_flag | compact_flag), else d; always a
// conditional move (the compiler turns a ?: on this unpredictable condition into a branch).
template <class V>
[[nodiscard]] inline V sel_compact(std::uint32_t e, V c, V d) noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    asm("cmpl %[lim], %[e]\n\tcmovae %[c], %[d]"
        : [d] "+r"(d)
        : [c] "rm"(c), [e] "r"(e), [lim] "i"(0xC0000000u)
        : "cc");
    return d;
#else
    return e >= 0xC0000000u ? c : d;
#endif
}

// A prefetch the optimizer cannot delete. gcc 12 removed `__builtin_prefetch` from the hint
// functions below (prefetch, prefetch_next: a prefetch is their only effect) whenever they were
// called through Dual::visit's lambda, as Table4/Table6 do: IPA pure-const analysis finds the
// lambda side-effect free, and a call to such a function with a void result is dead code.
// Table4::prefetch and prefetch_next once compiled to a bare `ret` that way (tests/unit/lpm
// checks the instruction is there). An asm statement with volatile is kept. The lookups' own
// prefetches sit in functions that store results, and stay __builtin_prefetch.
inline void prefetch_hint(const void* p) noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    asm volatile("prfm pldl1keep, %0" : : "Q"(*static_cast<const char*>(p)));
#else
    __builtin_prefetch(p);
#endif
}

// Allocator for the arrays lookups touch: every block is 64-byte aligned (cache-line exact
// compact blocks); blocks of 2 MiB and more are 2 MiB-aligned and marked MADV_HUGEPAGE, so a
// multi-MiB table costs a handful of TLB entries instead of thousands.
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
    static constexpr std::size_t map_min = std::size_t{1} << 19; // mmap from 512 KiB up
    HugeAlloc() = default;
    template <class U>
    HugeAlloc(const HugeAlloc<U>&) noexcept {}
    static std::size_t mapped(std::size_t b) noexcept { return (b + huge - 1) & ~(huge - 1); }
    T* allocate(std::size_t n) {
        std::size_t b = n * sizeof(T);
        if (b < map_min) {
            void* p = std::aligned_alloc(64, ((b + 63) & ~std::size_t{63}) | (b == 0 ? 64 : 0));
            if (!p) throw std::bad_alloc();
            return static_cast<T*>(p);
        }
        // Fresh 2 MiB-aligned anonymous memory, so THP backs it at first touch (heap memory
        // that was touched before would stay on 4 KiB pages).
        std::size_t r = mapped(b);
        void* p =
            ::mmap(nullptr, r + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        auto a = reinterpret_cast<std::uintptr_t>(p);
        auto al = (a + huge - 1) & ~(huge - 1);
        if (al > a) ::munmap(p, al - a);
        if (al + r < a + r + huge) ::munmap(reinterpret_cast<void*>(al + r), a + huge - al);
        if (thp_wanted()) ::madvise(reinterpret_cast<void*>(al), r, MADV_HUGEPAGE);
        return reinterpret_cast<T*>(al);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        std::size_t b = n * sizeof(T);
        if (b < map_min)
            std::free(p);
        else
            ::munmap(p, mapped(b));
    }
    template <class U>
    bool operator==(const HugeAlloc<U>&) const noexcept {
        return true;
    }
};

template <class T>
using HugeVec = std::vector<T, HugeAlloc<T>>;

// A pool of fixed-size blocks (at most 128 elements) with exact-size free lists (allocated on
// first use, so an empty pool costs a few words).
template <class E>
struct Pool {
    HugeVec<E> v;
    std::vector<std::vector<std::uint32_t>> free;
    std::size_t free_elems = 0;

    std::uint32_t alloc(unsigned n) {
        if (n == 0) return 0;
        if (!free.empty() && !free[n].empty()) {
            auto o = free[n].back();
            free[n].pop_back();
            free_elems -= n;
            return o;
        }
        auto o = static_cast<std::uint32_t>(v.size());
        v.resize(v.size() + n);
        return o;
    }
    void release(std::uint32_t off, unsigned n) {
        if (n == 0) return;
        if (free.empty()) free.resize(129);
        free[n].push_back(off);
        free_elems += n;
    }
    [[nodiscard]] std::size_t bytes() const noexcept {
        std::size_t b = v.capacity() * sizeof(E) + free.capacity() * sizeof(free[0]);
        for (const auto& f : free) b += f.capacity() * sizeof(std::uint32_t);
        return b;
    }
};

// 16-byte units for compact blocks; a block of 2^k units (k <= 3) is 2^k-unit aligned, so a
// block of up to 64 bytes never straddles a cache line and a 128-byte one takes exactly two. Unit 0
// is the shared "no route" block (leafvec = 1, leaf 0 = stored no-route); bulk lookups also read
// it, branch-free, for keys whose root entry is a leaf.
struct alignas(16) Unit {
    std::uint64_t w[2];
};
// clang-tidy 14 names the loop index of the implicit copy of the free[] array member '__i0'
// and reports it as a reserved identifier; nothing here declares it.
struct UnitPool {                                     // NOLINT(bugprone-reserved-identifier)
    HugeVec<Unit> v = HugeVec<Unit>(4, Unit{{0, 0}}); // units 1..3: padding of unit 0's line
    std::vector<std::uint32_t> free[4];               // by log2(units)
    std::size_t free_units = 0;
    UnitPool() { v[0].w[0] = 1; }

    std::uint32_t alloc(unsigned lg) {
        std::uint32_t n = 1u << lg;
        if (!free[lg].empty()) {
            auto o = free[lg].back();
            free[lg].pop_back();
            free_units -= n;
            return o;
        }
        auto sz = static_cast<std::uint32_t>(v.size());
        while (sz & (n - 1)) { // pad to alignment; padding goes to the smaller free lists
            std::uint32_t c = sz & (0u - sz);
            free[std::countr_zero(c)].push_back(sz);
            free_units += c;
            sz += c;
        }
        v.resize(sz + n, Unit{{0, 0}});
        return sz;
    }
    void release(std::uint32_t off, unsigned lg) {
        free[lg].push_back(off);
        free_units += 1u << lg;
    }
    [[nodiscard]] std::size_t bytes() const noexcept {
        std::size_t b = v.capacity() * sizeof(Unit);
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
    static constexpr unsigned S = 6;
    // Compact block classes 0..3 hold {leafvec, up to cap(c) leaves} in 16 << c bytes (class 3:
    // two lines, both prefetched at once, so still one dependent step).
    static constexpr unsigned cap(unsigned c) noexcept {
        return static_cast<unsigned>(((16u << c) - 8) / sizeof(L));
    }
    static constexpr unsigned class_for(unsigned nl) noexcept {
        return nl <= cap(0) ? 0u : nl <= cap(1) ? 1u : nl <= cap(2) ? 2u : 3u;
    }
    // Whether a node is stored as a compact block (root level, leaf-only, few enough runs).
    [[nodiscard]] bool compact_node(unsigned off, std::uint64_t vector,
                                    std::uint64_t leafvec) const noexcept {
        return off == r_ && vector == 0 && static_cast<unsigned>(std::popcount(leafvec)) <= cap(3);
    }

    // Stored leaves (in leaves_ and compact blocks) are next hop + 1, 0 = no route, so that the
    // public next hop is one subtraction away (0 - 1 = no_route) and a zeroed block means "no
    // route". Internal leaves (trie, control root) use leaf_none.
    static L store_leaf(std::uint32_t v) noexcept { return static_cast<L>((v + 1) & 0x7FFFFFFFu); }
    static std::uint32_t load_leaf(L v) noexcept { // -> internal
        return (static_cast<std::uint32_t>(v) - 1) & 0x7FFFFFFFu;
    }
    static std::uint32_t pub_leaf(L v) noexcept { // -> public next hop
        return static_cast<std::uint32_t>(v) - 1;
    }
    // A key's top 64 bits (all a root slot and the root-level node look at: r_ + 6 <= 64).
    [[nodiscard]] static std::uint64_t top64(Key k) noexcept {
        if constexpr (W == 32) {
            return std::uint64_t{k} << 32;
        } else {
            return static_cast<std::uint64_t>(k >> 64);
        }
    }

    explicit Trie(unsigned r = T::R_small);

    // Replaces the contents with `routes` (host bits masked; duplicates: last wins). Picks the
    // root stride from the table's shape (root_for).
    void build(std::vector<Entry> routes);
    // Adds or replaces a route. len <= W and nh <= max_nexthop are the caller's checks. May
    // switch to the big root (one rebuild).
    void insert(Key addr, unsigned len, std::uint32_t nh);
    // Removes a route (false if absent). With shrink, may switch back to the small root; a batch
    // passes false and calls fit_root() once at its end, so a withdraw-and-announce of a
    // table's only deep route does not rebuild twice.
    bool remove(Key addr, unsigned len, bool shrink = true);
    // Switches root stride if the table's shape calls for the other one (one rebuild).
    void fit_root();
    // The root stride for a table of n routes, `deep` of them longer than T::deep_len.
    [[nodiscard]] static unsigned root_for(std::size_t n, std::size_t deep) noexcept {
        return n > small_max || deep > 0 ? T::R : T::R_small;
    }
    [[nodiscard]] std::size_t deep_routes() const noexcept { return deep_; }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t bytes() const noexcept;        // everything held
    [[nodiscard]] std::size_t lookup_bytes() const noexcept; // what lookups touch
    [[nodiscard]] std::size_t node_count() const noexcept {
        return nodes_.v.size() - nodes_.free_elems;
    }
    [[nodiscard]] unsigned root_bits() const noexcept { return r_; }
    // Exports every route (order unspecified).
    [[nodiscard]] std::vector<Entry> routes() const;

    [[nodiscard]] static Key mask(Key k, unsigned len) noexcept {
        return len == 0 ? Key{0} : static_cast<Key>(k & (~Key{0} << (W - len)));
    }
    [[nodiscard]] std::uint32_t slot(Key k) const noexcept {
        return static_cast<std::uint32_t>(k >> (W - r_));
    }
    // The 6 bits at offset off (< W), zero-padded past the end of the key.
    [[nodiscard]] static unsigned pos(Key k, unsigned off) noexcept {
        if constexpr (W > 64) {
            // IPv6: positions in the top 64 bits (every level down to /58, so every /48) on
            // the high half alone: two 64-bit shifts instead of a 128-bit shift (shld, shl,
            // test, two cmovs) per level and key.
            if (off <= 64 - S)
                return static_cast<unsigned>((static_cast<std::uint64_t>(k >> (W - 64)) << off) >>
                                             (64 - S));
        }
        return static_cast<unsigned>(static_cast<Key>(k << off) >> (W - S));
    }

    // The public next hop of position p in the compact block of lookup-root entry e.
    [[nodiscard]] std::uint32_t compact_leaf(std::uint32_t e, unsigned p) const noexcept {
        const auto* b = reinterpret_cast<const unsigned char*>(units_.v.data()) +
                        std::size_t{e & unit_mask} * sizeof(Unit);
        auto cnt = static_cast<unsigned>(
            std::popcount(ld<std::uint64_t>(b) & ((std::uint64_t{2} << p) - 1)));
        return pub_leaf(ld<L>(b + 8 + (cnt - 1) * sizeof(L)));
    }

    // Walks Poptrie nodes from state e (node_flag | node index) at key offset off.
    [[nodiscard]] std::uint32_t walk(std::uint32_t e, Key k, unsigned off) const noexcept {
        const Node* nodes = nodes_.v.data();
        while (e & node_flag) {
            const Node& n = nodes[e & idx_mask];
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
        return e;
    }

    // A hint for a caller that knows a key ahead of its lookup: the root entry's line.
    void prefetch(Key k) const noexcept { prefetch_hint(&lroot_[slot(k)]); }
    // The second stage, some time after prefetch(k): reads the root entry and prefetches the
    // line the lookup reads next (the compact block, or the node).
    void prefetch_next(Key k) const noexcept {
        const std::uint32_t e = lroot_[slot(k)];
        if (!(e & node_flag)) return;
        if (e & compact_flag)
            prefetch_hint(reinterpret_cast<const unsigned char*>(units_.v.data()) +
                          std::size_t{e & unit_mask} * sizeof(Unit));
        else
            prefetch_hint(&nodes_.v[e & idx_mask]);
    }

    [[nodiscard]] std::uint32_t lookup(Key k) const noexcept {
        std::uint32_t e = lroot_[slot(k)];
        if (e & node_flag) {
            if (e & compact_flag) return compact_leaf(e, pos(k, r_));
            return to_nh(walk(e, k, r_));
        }
        return e;
    }

    // A 24-byte node straddles two cache lines in 2 of 8 positions: fetch both.
    static void prefetch_node(const Node* p) noexcept {
        __builtin_prefetch(p);
        __builtin_prefetch(reinterpret_cast<const char*>(p) + sizeof(Node) - 1);
    }

    // Looks up n <= MaxBurst keys, in passes over the whole burst so that the cache misses of
    // independent lookups overlap: (1) compute slots, prefetch root entries; (2) read root
    // entries; a key at a root-level node takes that node's step at once (the root-level nodes
    // are few and hot: 324 in the 250k IPv6 table) and prefetches the line it reads next (child
    // node or leaf); a key at a compact block or a leaf prefetches its block line; (3) resolve
    // the compact and leaf keys (branch-free); (4) keys still at nodes walk on, one level per
    // round for all of them (walk_burst). conv(in[i]) yields the Key. IPv4 has its own version
    // (lookup_burst4): there nearly every key ends in a compact block.
    // Cheaper than sending every key through pass 3 with the root-level node as the walk's
    // first round (lpm/README.md has the measurement).
    // RootsPrefetched: the caller issued prefetch() for every key (IPv4 only; ignored for IPv6).
    template <unsigned MaxBurst, bool RootsPrefetched = false, class In, class Conv>
    void lookup_burst(const In* in, std::uint32_t* out, unsigned n, Conv conv) const noexcept {
        if constexpr (W == 32) {
            lookup_burst4<MaxBurst, RootsPrefetched>(in, out, n, conv);
            return;
        }
        Key k[MaxBurst];
        std::uint64_t hi[MaxBurst]; // top64(k[i]): every position down to /64 comes from it
        std::uint32_t st[MaxBurst];
        std::uint8_t act[MaxBurst], lf[MaxBurst], cl[MaxBurst];
        const std::uint32_t* root = lroot_.data();
        const auto* ub = reinterpret_cast<const unsigned char*>(units_.v.data());
        const Node* nodes = nodes_.v.data();
        const L* leaves = leaves_.v.data();
        const unsigned char* bp[MaxBurst];
        const unsigned r = r_; // locals: out[] stores could alias the members
        const unsigned sh = 64 - r, sh2 = 64 - r - S;
        for (unsigned i = 0; i < n; ++i) {
            k[i] = conv(in[i]);
            hi[i] = top64(k[i]);
            __builtin_prefetch(&root[hi[i] >> sh]);
        }
        unsigned m = 0, nl = 0, nc = 0;
        for (unsigned i = 0; i < n; ++i) {
            const std::uint32_t e = root[hi[i] >> sh];
            st[i] = e;
            const unsigned char* b = ub + std::size_t{e & unit_mask} * sizeof(Unit);
            b = sel_compact(e, b, ub); // a leaf entry reads the shared block (pass 3)
            bp[i] = b;
            if ((e >> 30) == 2) [[likely]] { // a node: its step now (hot line)
                const Node& nd = nodes[e & idx_mask];
                const std::uint64_t bit = std::uint64_t{1} << ((hi[i] << r) >> (64 - S));
                const bool c = (nd.vector & bit) != 0;
                const std::uint32_t child =
                    nd.base1 + static_cast<std::uint32_t>(std::popcount(nd.vector & (bit - 1)));
                const std::uint32_t li =
                    nd.base0 +
                    static_cast<std::uint32_t>(std::popcount(nd.leafvec & ((bit << 1) - 1))) - 1;
                st[i] = c ? (node_flag | child) : li;
                act[m] = static_cast<std::uint8_t>(i);
                m += c;
                lf[nl] = static_cast<std::uint8_t>(i);
                nl += !c;
                const char* pf = c ? reinterpret_cast<const char*>(&nodes[child])
                                   : reinterpret_cast<const char*>(&leaves[li]);
                __builtin_prefetch(pf);
                if (c) __builtin_prefetch(pf + sizeof(Node) - 1);
            } else { // a compact block or a leaf
                __builtin_prefetch(b);
                // Class 3 blocks (e >= 0xF0000000) span two lines: fetch the second one too.
                __builtin_prefetch(b + (std::size_t{e >= 0xF0000000u} << 6));
                cl[nc++] = static_cast<std::uint8_t>(i);
            }
        }
        for (unsigned t = 0; t < nc; ++t) {
            const unsigned i = cl[t];
            const std::uint32_t e = st[i];
            const unsigned char* b = bp[i];
            // popcount of the leafvec bits up to the key's position: shift the others out.
            unsigned s = static_cast<unsigned>(~hi[i] >> sh2) & 63;
            auto cnt = static_cast<unsigned>(std::popcount(ld<std::uint64_t>(b) << s));
            std::uint32_t v = pub_leaf(ld<L>(b + 8 - sizeof(L) + cnt * sizeof(L)));
            out[i] = sel_compact(e, v, e);
        }
        // (4) Keys still at nodes walk on, one level per round for all of them (as walk_burst,
        // which lookup_burst4 uses). Written out here: as a call, an always_inline call or with
        // a step helper, gcc's code ran the IPv6 bulk lookups slower (lpm/README.md). hi[] gives
        // every position down to /64 (every /48).
        unsigned off = r + S;
        while (m != 0) {
            unsigned m2 = 0;
            for (unsigned t = 0; t < m; ++t) {
                const unsigned i = act[t];
                const Node& nd = nodes[st[i] & idx_mask];
                const unsigned p = off <= 64 - S ? static_cast<unsigned>((hi[i] << off) >> (64 - S))
                                                 : pos(k[i], off);
                const std::uint64_t bit = std::uint64_t{1} << p;
                const bool c = (nd.vector & bit) != 0;
                const std::uint32_t child =
                    nd.base1 + static_cast<std::uint32_t>(std::popcount(nd.vector & (bit - 1)));
                const std::uint32_t li =
                    nd.base0 +
                    static_cast<std::uint32_t>(std::popcount(nd.leafvec & ((bit << 1) - 1))) - 1;
                st[i] = c ? (node_flag | child) : li;
                act[m2] = static_cast<std::uint8_t>(i);
                m2 += c;
                lf[nl] = static_cast<std::uint8_t>(i);
                nl += !c;
                const char* pf = c ? reinterpret_cast<const char*>(&nodes[child])
                                   : reinterpret_cast<const char*>(&leaves[li]);
                __builtin_prefetch(pf);
                if (c) __builtin_prefetch(pf + sizeof(Node) - 1);
            }
            m = m2;
            off += S;
        }
        for (unsigned t = 0; t < nl; ++t) {
            const unsigned i = lf[t];
            out[i] = pub_leaf(leaves[st[i]]);
        }
    }

    // lookup_burst for IPv4: the same passes with about half the instructions per key (the
    // bulk cost is half instructions, half memory; lpm/README.md): 32-bit shifts (no 64-bit
    // widening), loops unrolled, no leaf/block select (every root entry is a block or a node, see
    // sync), and no per-key bookkeeping for keys at nodes (0.6 % of uniform keys): pass 2
    // prefetches their node behind a rarely taken branch and raises a flag, and only a burst with
    // the flag set lists them. The second line of a class-3 block (2.6 % of keys) is also
    // prefetched behind a branch: cheaper than the five instructions of a branch-free address. With
    // RootsPrefetched the first pass only copies the keys: the caller's prefetch() calls fetched
    // the root lines.
    template <unsigned MaxBurst, bool RootsPrefetched, class In, class Conv>
    void lookup_burst4(const In* in, std::uint32_t* out, unsigned n, Conv conv) const noexcept {
        std::uint32_t k[MaxBurst];
        std::uint32_t st[MaxBurst];
        const unsigned char* bp[MaxBurst];
        const std::uint32_t* root = lroot_.data();
        const auto* ub = reinterpret_cast<const unsigned char*>(units_.v.data());
        const Node* nodes = nodes_.v.data();
        const unsigned r = r_; // locals: out[] stores could alias the members
        const unsigned sh = W - r, sh2 = W - r - S;
#pragma GCC unroll 4
        for (unsigned i = 0; i < n; ++i) {
            k[i] = static_cast<std::uint32_t>(conv(in[i]));
            if constexpr (!RootsPrefetched) __builtin_prefetch(&root[k[i] >> sh]);
        }
        bool any_node = false;
#pragma GCC unroll 4
        for (unsigned i = 0; i < n; ++i) {
            std::uint32_t e = root[k[i] >> sh];
            st[i] = e;
            const unsigned char* b = ub + std::size_t{e & unit_mask} * sizeof(Unit);
            bp[i] = b;
            if (e < (node_flag | compact_flag)) [[unlikely]] { // a node entry (no leaf entries)
                bp[i] = ub; // pass 3 reads the "no route" block; the walk overwrites out[i]
                b = reinterpret_cast<const unsigned char*>(&nodes[e & idx_mask]);
                any_node = true;
            }
            __builtin_prefetch(b);
            if (e >= 0xF0000000u) [[unlikely]] // class 3: two lines
                __builtin_prefetch(b + 64);
        }
#pragma GCC unroll 4
        for (unsigned i = 0; i < n; ++i) {
            const unsigned char* b = bp[i];
            // popcount of the leafvec bits up to the key's position: shift the others out.
            unsigned s = (~k[i] >> sh2) & 63;
            auto cnt = static_cast<unsigned>(std::popcount(ld<std::uint64_t>(b) << s));
            out[i] = pub_leaf(ld<L>(b + 8 - sizeof(L) + cnt * sizeof(L)));
        }
        if (any_node) [[unlikely]] {
            std::uint8_t act[MaxBurst], lf[MaxBurst];
            std::uint64_t hi[MaxBurst];
            unsigned m = 0;
            for (unsigned i = 0; i < n; ++i) {
                act[m] = static_cast<std::uint8_t>(i);
                m += st[i] < (node_flag | compact_flag);
                hi[i] = std::uint64_t{k[i]} << 32;
            }
            for (unsigned t = 0; t < m; ++t) prefetch_node(&nodes[st[act[t]] & idx_mask]);
            walk_burst<MaxBurst>(k, hi, st, act, m, lf, 0, r, out);
        }
    }

private:
    // One node step of key i: to the child (st = node_flag | child, i joins act) or to its leaf
    // (st = leaf index, i joins lf), branch-free but for the second prefetch, which only a child
    // needs (a 24-byte record may straddle two lines; a leaf is 2 or 4 bytes).
    static void step(const Node* nodes, const L* leaves, const Node& nd, std::uint64_t bit,
                     std::uint32_t& st, std::uint8_t* act, unsigned& m, std::uint8_t* lf,
                     unsigned& nl, unsigned i) noexcept {
        const bool c = (nd.vector & bit) != 0;
        const std::uint32_t child =
            nd.base1 + static_cast<std::uint32_t>(std::popcount(nd.vector & (bit - 1)));
        const std::uint32_t li =
            nd.base0 + static_cast<std::uint32_t>(std::popcount(nd.leafvec & ((bit << 1) - 1))) - 1;
        st = c ? (node_flag | child) : li;
        act[m] = static_cast<std::uint8_t>(i);
        m += c;
        lf[nl] = static_cast<std::uint8_t>(i);
        nl += !c;
        const char* pf = c ? reinterpret_cast<const char*>(&nodes[child])
                           : reinterpret_cast<const char*>(&leaves[li]);
        __builtin_prefetch(pf);
        if (c) __builtin_prefetch(pf + sizeof(Node) - 1);
    }

    // Step (4) of lookup_burst4 (IPv4 keys under slots with routes longer than /24; IPv6 has
    // the same loop written out in lookup_burst, see there): keys act[0..m) are at nodes
    // (st[i] = node_flag | index) at key offset off, their node lines already prefetched; keys
    // lf[0..nl) already hold a leaf index. Each round advances every active key by one level,
    // branch-free: a key either moves to a child (stays active) or gets its leaf index (moves to
    // the leaf list); the next round's line is prefetched; leaves are read after the last round.
    // hi[i] = top64(k[i]).
    template <unsigned MaxBurst>
    void walk_burst(const Key* k, const std::uint64_t* hi, std::uint32_t* st, std::uint8_t* act,
                    unsigned m, std::uint8_t* lf, unsigned nl, unsigned off,
                    std::uint32_t* out) const noexcept {
        const Node* nodes = nodes_.v.data();
        const L* leaves = leaves_.v.data();
        // All active keys sit at the same depth in every round, so one offset serves all. (A
        // cmov-only variant of this loop is slower on IPv6: the child/leaf branch is mostly
        // "child" above the last level and predicts well.)
        // Positions in the top 64 bits (every level down to /64: all of IPv4, every /48) come
        // from hi[] with two 64-bit shifts; the test is per round, not per key (as a per-key
        // select gcc computed the 128-bit shift for every key: ~8 % of the IPv6 bulk cost).
        while (m != 0) {
            unsigned m2 = 0;
            if (off <= 64 - S) {
                for (unsigned t = 0; t < m; ++t) {
                    const unsigned i = act[t];
                    const auto p = static_cast<unsigned>((hi[i] << off) >> (64 - S));
                    step(nodes, leaves, nodes[st[i] & idx_mask], std::uint64_t{1} << p, st[i], act,
                         m2, lf, nl, i);
                }
            } else {
                for (unsigned t = 0; t < m; ++t) {
                    const unsigned i = act[t];
                    step(nodes, leaves, nodes[st[i] & idx_mask], std::uint64_t{1} << pos(k[i], off),
                         st[i], act, m2, lf, nl, i);
                }
            }
            m = m2;
            off += S;
        }
        for (unsigned t = 0; t < nl; ++t) {
            unsigned i = lf[t];
            out[i] = pub_leaf(leaves[st[i]]);
        }
    }

    void build_node(std::uint32_t ni, unsigned off, std::uint32_t dflt, const Entry* b,
                    const Entry* e);
    void paint(std::uint32_t ni, std::uint32_t* leaves) const;
    void write_leaves(std::uint32_t ni, const std::uint32_t* leaves, std::uint64_t vector,
                      bool fresh, unsigned off);
    void relief(std::uint32_t ni, std::uint32_t dflt, unsigned off);
    void repaint_and_relief(std::uint32_t ni, unsigned off);
    bool insert_rec(std::uint32_t ni, unsigned off, Key addr, unsigned len, std::uint32_t nh);
    int remove_rec(std::uint32_t ni, unsigned off, Key addr, unsigned len);
    void set_slot_default(std::uint32_t s);
    void add_child(std::uint32_t ni, unsigned j, const Entry& r, unsigned off);
    void drop_child(std::uint32_t ni, unsigned j, unsigned off);
    void release_node(std::uint32_t ni, unsigned off);
    void release_block(std::uint32_t e);
    void sync(std::uint32_t s);
    std::uint32_t ref_leaf_block(std::uint32_t leaf);
    void unref_leaf_block(std::uint32_t u);
    [[nodiscard]] std::uint32_t leaf_block_leaf(std::uint32_t u) const noexcept;
    std::uint32_t alloc_nodes(unsigned n);
    void export_rec(std::uint32_t ni, unsigned off, Key base, std::vector<Entry>& out) const;

    unsigned r_;                        // root stride: T::R_small or T::R
    HugeVec<std::uint32_t> lroot_;      // 2^r_ lookup entries (leaf, node or compact block)
    std::vector<std::uint32_t> root_;   // 2^r_ control entries: node_flag|node or a leaf
    std::vector<std::uint32_t> rdef_;   // per slot: best route of length <= r_ (a leaf)
    std::vector<std::int8_t> rdef_len_; // its length, -1 none
    std::vector<std::uint32_t> lblk_;   // per slot: its leaf's 1-run block (a leaf slot), 0 none
    Pool<Node> nodes_;
    std::vector<NodeInfo> info_; // parallel to nodes_.v
    Pool<L> leaves_;
    UnitPool units_;           // compact blocks of root-level leaf-only nodes
    std::size_t ncompact_ = 0; // root-level nodes stored as compact blocks
    std::unordered_map<std::uint32_t, std::uint32_t> leafblk_; // leaf -> its shared 1-run block
    std::uint32_t memo_leaf_ = 0, memo_unit_ = 0;              // the last ref_leaf_block (0: none)
    Pool<std::uint64_t> routes_; // (code << 32) | leaf, code = (1 << rel_len) | bits
    std::vector<std::unordered_map<Key, std::uint32_t, KeyHash>> shorts_; // len <= r_
    std::size_t size_ = 0;
    std::size_t deep_ = 0; // routes longer than T::deep_len
    void count(unsigned len, int d) noexcept {
        size_ += static_cast<std::size_t>(d);
        if (len > T::deep_len) deep_ += static_cast<std::size_t>(d);
    }
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
