// lpm/poptrie.cpp — building and updating the Poptrie (see poptrie.hpp for the layout).
//
// Why this shape of update: Poptrie pushes leaves down (every position holds its final next
// hop), so a route change must be re-painted into every position it covers that no longer
// prefix overrides. Each node remembers the routes that end inside it and the default it
// inherits, so an update re-paints exactly one node and then re-derives, recursively, only the
// children whose inherited default changed (`relief` stops as soon as a default is unchanged).
// Children of a node must stay contiguous, so adding/removing a child copies the sibling
// records (24 bytes each, at most 63) into a new block; the siblings' own subtrees do not move.
// Blocks are at most 128 elements, so exact-size free lists recycle them without search.
//
// Why compact blocks: in a BGP-shaped IPv4 table almost every root slot (/18) that has longer
// routes has none longer than /24, so its root-level node is leaf-only. Such a node's leaves are
// kept in one cache-line block (leafvec + leaves) instead of a node record plus a leaf array, so
// a /19../24 lookup is two dependent loads (root entry, block line) instead of three. Every
// mutation happens below one root slot, so `sync(slot)` after it keeps the lookup root right.
#include "lpm/poptrie.hpp"

#include <algorithm>
#include <cstring>

namespace rsfwd::lpm::detail {

template <class T, class L>
Trie<T, L>::Trie(unsigned r) : r_(r) {
    lroot_.assign(std::size_t{1} << r_, node_flag | compact_flag); // unit 0: no route
    root_.assign(std::size_t{1} << r_, leaf_none);
    rdef_.assign(std::size_t{1} << r_, leaf_none);
    rdef_len_.assign(std::size_t{1} << r_, -1);
    lblk_.assign(std::size_t{1} << r_, 0);
    shorts_.resize(r_ + 1);
}

namespace {
template <class Key, unsigned W>
unsigned bits_at(Key addr, unsigned off, unsigned l) {
    return static_cast<unsigned>(static_cast<Key>(addr << off) >> (W - l));
}
} // namespace

template <class T, class L>
std::uint32_t Trie<T, L>::alloc_nodes(unsigned n) {
    auto o = nodes_.alloc(n);
    if (info_.size() < nodes_.v.size()) info_.resize(nodes_.v.size());
    return o;
}

template <class T, class L>
void Trie<T, L>::build(std::vector<Entry> routes) {
    for (auto& r : routes) r.addr = mask(r.addr, r.len);
    std::stable_sort(routes.begin(), routes.end(), [](const Entry& a, const Entry& b) {
        return a.addr < b.addr || (a.addr == b.addr && a.len < b.len);
    });
    // Deduplicate, keeping the last of equal prefixes (stable sort kept input order).
    std::size_t w = 0;
    for (std::size_t i = 0; i < routes.size(); ++i) {
        if (i + 1 < routes.size() && routes[i + 1].addr == routes[i].addr &&
            routes[i + 1].len == routes[i].len)
            continue;
        routes[w++] = routes[i];
    }
    routes.resize(w);
    std::size_t deep = 0;
    for (const auto& r : routes) deep += r.len > T::deep_len;
    *this = Trie(root_for(w, deep));
    size_ = w;
    deep_ = deep;
    const unsigned R = r_;

    std::vector<Entry> shorts;
    std::vector<Entry> longs;
    longs.reserve(routes.size());
    for (const auto& r : routes) (r.len <= R ? shorts : longs).push_back(r);
    routes.clear();
    routes.shrink_to_fit();
    std::stable_sort(shorts.begin(), shorts.end(),
                     [](const Entry& a, const Entry& b) { return a.len < b.len; });
    for (const auto& r : shorts) {
        shorts_[r.len][r.addr] = r.nh;
        std::uint32_t s0 = slot(r.addr);
        std::uint32_t cnt = std::uint32_t{1} << (R - r.len);
        for (std::uint32_t s = s0; s < s0 + cnt; ++s) {
            rdef_[s] = r.nh;
            rdef_len_[s] = static_cast<std::int8_t>(r.len);
        }
    }
    root_ = rdef_;
    // Rough reservations: one node per ~4 long routes, ~2 leaves per route.
    nodes_.v.reserve(longs.size() / 4 + 16);
    info_.reserve(longs.size() / 4 + 16);
    leaves_.v.reserve(longs.size() / 2 + 64);
    units_.v.reserve(longs.size() / 2 + 64);
    routes_.v.reserve(longs.size() + 64);
    for (std::size_t i = 0; i < longs.size();) {
        std::uint32_t s = slot(longs[i].addr);
        std::size_t j = i;
        while (j < longs.size() && slot(longs[j].addr) == s) ++j;
        std::uint32_t ni = alloc_nodes(1);
        build_node(ni, R, rdef_[s], longs.data() + i, longs.data() + j);
        root_[s] = node_flag | ni;
        i = j;
    }
    nodes_.v.shrink_to_fit();
    info_.shrink_to_fit();
    leaves_.v.shrink_to_fit();
    routes_.v.shrink_to_fit();
    for (std::uint32_t s = 0; s < root_.size(); ++s) sync(s); // adds the shared leaf blocks
    units_.v.shrink_to_fit();
}

template <class T, class L>
void Trie<T, L>::build_node(std::uint32_t ni, unsigned off, std::uint32_t dflt, const Entry* b,
                            const Entry* e) {
    std::uint64_t own[128];
    unsigned nown = 0;
    std::uint64_t vector = 0;
    const Entry* cb[64];
    const Entry* ce[64];
    for (const Entry* p = b; p != e; ++p) {
        if (p->len <= off + S) {
            unsigned l = p->len - off;
            std::uint64_t code = (std::uint64_t{1} << l) | bits_at<Key, W>(p->addr, off, l);
            own[nown++] = (code << 32) | p->nh;
        } else {
            unsigned j = pos(p->addr, off);
            std::uint64_t bit = std::uint64_t{1} << j;
            if (!(vector & bit)) cb[j] = p;
            vector |= bit;
            ce[j] = p + 1;
        }
    }
    std::sort(own, own + nown);
    {
        NodeInfo& in = info_[ni];
        in.count = static_cast<std::uint32_t>(e - b);
        in.dflt = dflt;
        in.rn = static_cast<std::uint16_t>(nown);
        in.rcap = static_cast<std::uint16_t>(nown ? std::bit_ceil(nown) : 0);
    }
    if (nown) {
        auto ro = routes_.alloc(info_[ni].rcap);
        info_[ni].roff = ro;
        std::memcpy(&routes_.v[ro], own, nown * sizeof(std::uint64_t));
    } else {
        info_[ni].roff = 0;
    }
    std::uint32_t leaves[64];
    paint(ni, leaves);
    std::uint32_t cblk = alloc_nodes(static_cast<unsigned>(std::popcount(vector)));
    nodes_.v[ni].base1 = cblk;
    write_leaves(ni, leaves, vector, true, off);
    unsigned k = 0;
    for (std::uint64_t v = vector; v; v &= v - 1, ++k) {
        unsigned j = static_cast<unsigned>(std::countr_zero(v));
        build_node(cblk + k, off + S, leaves[j], cb[j], ce[j]);
    }
}

template <class T, class L>
void Trie<T, L>::paint(std::uint32_t ni, std::uint32_t* leaves) const {
    const NodeInfo& in = info_[ni];
    std::fill(leaves, leaves + 64, in.dflt);
    for (unsigned i = 0; i < in.rn; ++i) {
        std::uint64_t r = routes_.v[in.roff + i];
        auto code = static_cast<unsigned>(r >> 32);
        unsigned l = static_cast<unsigned>(std::bit_width(code)) - 1;
        unsigned lo = (code & ((1u << l) - 1)) << (S - l);
        std::fill(leaves + lo, leaves + lo + (1u << (S - l)), static_cast<std::uint32_t>(r));
    }
}

template <class T, class L>
void Trie<T, L>::release_block(std::uint32_t e) {
    units_.release(e & unit_mask, e >> 28 & 3);
    --ncompact_;
}

// Stores node ni's leaves. A root-level node (off == r_) without children and with at most
// cap(2) leaf runs keeps them in a compact block whose lookup-root entry sits in base0; any
// other node in leaves_.
template <class T, class L>
void Trie<T, L>::write_leaves(std::uint32_t ni, const std::uint32_t* leaves, std::uint64_t vector,
                              bool fresh, unsigned off) {
    std::uint32_t vals[64];
    unsigned nl = 0;
    std::uint64_t leafvec = 0;
    for (unsigned j = 0; j < 64; ++j) {
        if (vector >> j & 1) continue;
        if (nl == 0 || leaves[j] != vals[nl - 1]) {
            leafvec |= std::uint64_t{1} << j;
            vals[nl++] = leaves[j];
        }
    }
    const Node old = nodes_.v[ni];
    const bool had_compact = !fresh && compact_node(off, old.vector, old.leafvec);
    const bool had_leaves = !fresh && !had_compact;
    std::uint32_t base0;
    if (compact_node(off, vector, leafvec)) {
        unsigned c = class_for(nl);
        std::uint32_t uo;
        if (had_compact && (old.base0 >> 28 & 3) == c) {
            uo = old.base0 & unit_mask;
        } else {
            if (had_compact) release_block(old.base0);
            if (had_leaves)
                leaves_.release(old.base0, static_cast<unsigned>(std::popcount(old.leafvec)));
            uo = units_.alloc(c);
            ++ncompact_;
        }
        auto* b = reinterpret_cast<unsigned char*>(units_.v.data()) + std::size_t{uo} * 16;
        std::memset(b, 0, 16u << c);
        std::memcpy(b, &leafvec, 8);
        for (unsigned i = 0; i < nl; ++i) {
            L v = store_leaf(vals[i]);
            std::memcpy(b + 8 + i * sizeof(L), &v, sizeof(L));
        }
        base0 = node_flag | compact_flag | (c << 28) | uo;
    } else {
        if (had_compact) release_block(old.base0);
        if (had_leaves && static_cast<unsigned>(std::popcount(old.leafvec)) == nl) {
            base0 = old.base0;
        } else {
            if (had_leaves)
                leaves_.release(old.base0, static_cast<unsigned>(std::popcount(old.leafvec)));
            base0 = leaves_.alloc(nl);
        }
        for (unsigned i = 0; i < nl; ++i) leaves_.v[base0 + i] = store_leaf(vals[i]);
    }
    Node& nd = nodes_.v[ni];
    nd.vector = vector;
    nd.leafvec = leafvec;
    nd.base0 = base0;
}

// The lookup root entry of slot s from the control root (after any change below slot s).
// A slot whose control entry is a leaf (no route longer than r_ below it) points to the 1-run
// class-0 block of that leaf, so that every lookup-root entry is a block or a node: IPv4 bulk
// lookups then resolve every key with the same block read, without a leaf/block select. Slots
// share one block per leaf value (a default route covers all 2^r_ slots: one 16-byte block,
// not 4 MiB of them), reference-counted in the block's last 4 bytes, which no lookup reads.
template <class T, class L>
void Trie<T, L>::sync(std::uint32_t s) {
    std::uint32_t e = root_[s];
    if (e & node_flag || e == leaf_none) {
        if (lblk_[s]) {
            unref_leaf_block(lblk_[s]);
            lblk_[s] = 0;
        }
        if (e & node_flag) {
            const Node& nd = nodes_.v[e & idx_mask];
            if (compact_node(r_, nd.vector, nd.leafvec)) e = nd.base0;
        } else {
            e = node_flag | compact_flag; // the shared no-route block
        }
    } else {
        std::uint32_t u = lblk_[s];
        if (!u || leaf_block_leaf(u) != e) {
            if (u) unref_leaf_block(u);
            u = ref_leaf_block(e);
            lblk_[s] = u;
        }
        e = node_flag | compact_flag | u;
    }
    lroot_[s] = e;
}

// Leaf blocks: {leafvec = 1, leaf, …, refs (u32 at byte 12)}.
template <class T, class L>
std::uint32_t Trie<T, L>::leaf_block_leaf(std::uint32_t u) const noexcept {
    L v;
    std::memcpy(&v, reinterpret_cast<const unsigned char*>(&units_.v[u]) + 8, sizeof(L));
    return load_leaf(v);
}

template <class T, class L>
std::uint32_t Trie<T, L>::ref_leaf_block(std::uint32_t leaf) {
    std::uint32_t u = memo_unit_;
    if (!u || memo_leaf_ != leaf) { // slots come in runs of one leaf: the map is rarely asked
        auto [it, fresh] = leafblk_.try_emplace(leaf, 0u);
        if (fresh) {
            it->second = units_.alloc(0);
            auto* b = reinterpret_cast<unsigned char*>(&units_.v[it->second]);
            std::uint64_t lv = 1;
            L v = store_leaf(leaf);
            std::memset(b, 0, sizeof(Unit));
            std::memcpy(b, &lv, 8);
            std::memcpy(b + 8, &v, sizeof(L));
        }
        u = it->second;
        memo_leaf_ = leaf;
        memo_unit_ = u;
    }
    auto* b = reinterpret_cast<unsigned char*>(&units_.v[u]);
    std::uint32_t refs;
    std::memcpy(&refs, b + 12, 4);
    ++refs;
    std::memcpy(b + 12, &refs, 4);
    return u;
}

template <class T, class L>
void Trie<T, L>::unref_leaf_block(std::uint32_t u) {
    auto* b = reinterpret_cast<unsigned char*>(&units_.v[u]);
    std::uint32_t refs;
    std::memcpy(&refs, b + 12, 4);
    if (--refs) {
        std::memcpy(b + 12, &refs, 4);
        return;
    }
    leafblk_.erase(leaf_block_leaf(u));
    if (memo_unit_ == u) memo_unit_ = 0;
    std::memset(b, 0, sizeof(Unit));
    units_.release(u, 0);
}

template <class T, class L>
void Trie<T, L>::relief(std::uint32_t ni, std::uint32_t dflt, unsigned off) {
    if (info_[ni].dflt == dflt) return;
    info_[ni].dflt = dflt;
    repaint_and_relief(ni, off);
}

template <class T, class L>
void Trie<T, L>::repaint_and_relief(std::uint32_t ni, unsigned off) {
    std::uint32_t leaves[64];
    paint(ni, leaves);
    write_leaves(ni, leaves, nodes_.v[ni].vector, false, off);
    const Node nd = nodes_.v[ni];
    unsigned k = 0;
    for (std::uint64_t v = nd.vector; v; v &= v - 1, ++k)
        relief(nd.base1 + k, leaves[std::countr_zero(v)], off + S);
}

template <class T, class L>
bool Trie<T, L>::insert_rec(std::uint32_t ni, unsigned off, Key addr, unsigned len,
                            std::uint32_t nh) {
    if (len <= off + S) {
        unsigned l = len - off;
        std::uint32_t code = (1u << l) | bits_at<Key, W>(addr, off, l);
        NodeInfo in = info_[ni];
        unsigned i = 0;
        while (i < in.rn && (routes_.v[in.roff + i] >> 32) < code) ++i;
        if (i < in.rn && (routes_.v[in.roff + i] >> 32) == code) {
            if (static_cast<std::uint32_t>(routes_.v[in.roff + i]) == nh) return false;
            routes_.v[in.roff + i] = (std::uint64_t{code} << 32) | nh;
            repaint_and_relief(ni, off);
            return false;
        }
        if (in.rn == in.rcap) {
            unsigned ncap = in.rcap ? in.rcap * 2u : 1u;
            auto no = routes_.alloc(ncap);
            if (in.rn)
                std::memmove(&routes_.v[no], &routes_.v[in.roff], in.rn * sizeof(std::uint64_t));
            routes_.release(in.roff, in.rcap);
            in.roff = no;
            in.rcap = static_cast<std::uint16_t>(ncap);
        }
        std::uint64_t* rp = &routes_.v[in.roff];
        std::memmove(rp + i + 1, rp + i, (in.rn - i) * sizeof(std::uint64_t));
        rp[i] = (std::uint64_t{code} << 32) | nh;
        in.rn++;
        in.count++;
        info_[ni] = in;
        repaint_and_relief(ni, off);
        return true;
    }
    std::uint64_t bit = std::uint64_t{1} << pos(addr, off);
    const Node nd = nodes_.v[ni];
    if (nd.vector & bit) {
        std::uint32_t ci =
            nd.base1 + static_cast<std::uint32_t>(std::popcount(nd.vector & (bit - 1)));
        bool nw = insert_rec(ci, off + S, addr, len, nh);
        if (nw) info_[ni].count++;
        return nw;
    }
    add_child(ni, pos(addr, off), Entry{addr, static_cast<std::uint8_t>(len), nh}, off);
    info_[ni].count++;
    return true;
}

template <class T, class L>
void Trie<T, L>::add_child(std::uint32_t ni, unsigned j, const Entry& r, unsigned off) {
    const Node nd = nodes_.v[ni];
    std::uint64_t bit = std::uint64_t{1} << j;
    auto nc = static_cast<unsigned>(std::popcount(nd.vector));
    auto rank = static_cast<unsigned>(std::popcount(nd.vector & (bit - 1)));
    std::uint32_t nb = alloc_nodes(nc + 1);
    for (unsigned k = 0; k < nc; ++k) {
        std::uint32_t dst = nb + (k < rank ? k : k + 1);
        nodes_.v[dst] = nodes_.v[nd.base1 + k];
        info_[dst] = info_[nd.base1 + k];
    }
    nodes_.release(nd.base1, nc);
    std::uint32_t leaves[64];
    paint(ni, leaves);
    nodes_.v[ni].base1 = nb;
    write_leaves(ni, leaves, nd.vector | bit, false, off);
    build_node(nb + rank, off + S, leaves[j], &r, &r + 1);
}

template <class T, class L>
void Trie<T, L>::drop_child(std::uint32_t ni, unsigned j, unsigned off) {
    const Node nd = nodes_.v[ni];
    std::uint64_t bit = std::uint64_t{1} << j;
    auto nc = static_cast<unsigned>(std::popcount(nd.vector));
    auto rank = static_cast<unsigned>(std::popcount(nd.vector & (bit - 1)));
    std::uint32_t nb = alloc_nodes(nc - 1);
    for (unsigned k = 0; k < nc; ++k) {
        if (k == rank) continue;
        std::uint32_t dst = nb + (k < rank ? k : k - 1);
        nodes_.v[dst] = nodes_.v[nd.base1 + k];
        info_[dst] = info_[nd.base1 + k];
    }
    nodes_.release(nd.base1, nc);
    std::uint32_t leaves[64];
    paint(ni, leaves);
    nodes_.v[ni].base1 = nb;
    write_leaves(ni, leaves, nd.vector & ~bit, false, off);
}

// Frees what node ni holds (its leaf, route and child blocks) once it has no routes left.
template <class T, class L>
void Trie<T, L>::release_node(std::uint32_t ni, unsigned off) {
    const Node nd = nodes_.v[ni];
    if (compact_node(off, nd.vector, nd.leafvec))
        release_block(nd.base0);
    else
        leaves_.release(nd.base0, static_cast<unsigned>(std::popcount(nd.leafvec)));
    nodes_.release(nd.base1, static_cast<unsigned>(std::popcount(nd.vector)));
    NodeInfo& in = info_[ni];
    routes_.release(in.roff, in.rcap);
    in = NodeInfo{};
    nodes_.v[ni] = Node{0, 0, 0, 0};
}

template <class T, class L>
int Trie<T, L>::remove_rec(std::uint32_t ni, unsigned off, Key addr, unsigned len) {
    if (len <= off + S) {
        unsigned l = len - off;
        std::uint32_t code = (1u << l) | bits_at<Key, W>(addr, off, l);
        NodeInfo in = info_[ni];
        unsigned i = 0;
        while (i < in.rn && (routes_.v[in.roff + i] >> 32) < code) ++i;
        if (i == in.rn || (routes_.v[in.roff + i] >> 32) != code) return 0;
        std::uint64_t* rp = &routes_.v[in.roff];
        std::memmove(rp + i, rp + i + 1, (in.rn - i - 1) * sizeof(std::uint64_t));
        in.rn--;
        in.count--;
        info_[ni] = in;
        if (in.count == 0) {
            release_node(ni, off);
            return 2;
        }
        repaint_and_relief(ni, off);
        return 1;
    }
    unsigned j = pos(addr, off);
    std::uint64_t bit = std::uint64_t{1} << j;
    const Node nd = nodes_.v[ni];
    if (!(nd.vector & bit)) return 0;
    std::uint32_t ci = nd.base1 + static_cast<std::uint32_t>(std::popcount(nd.vector & (bit - 1)));
    int r = remove_rec(ci, off + S, addr, len);
    if (r == 0) return 0;
    if (--info_[ni].count == 0) {
        release_node(ni, off);
        return 2;
    }
    if (r == 2) drop_child(ni, j, off);
    return 1;
}

template <class T, class L>
void Trie<T, L>::set_slot_default(std::uint32_t s) {
    std::uint32_t e = root_[s];
    if (e & node_flag)
        relief(e & idx_mask, rdef_[s], r_);
    else
        root_[s] = rdef_[s];
    sync(s);
}

template <class T, class L>
void Trie<T, L>::insert(Key addr, unsigned len, std::uint32_t nh) {
    addr = mask(addr, len);
    const unsigned R = r_;
    if (len <= R) {
        auto [it, inserted] = shorts_[len].try_emplace(addr, nh);
        if (!inserted) {
            if (it->second == nh) return;
            it->second = nh;
        } else {
            count(len, 1);
        }
        std::uint32_t s0 = slot(addr);
        std::uint32_t cnt = std::uint32_t{1} << (R - len);
        for (std::uint32_t s = s0; s < s0 + cnt; ++s) {
            if (rdef_len_[s] > static_cast<int>(len)) continue;
            rdef_[s] = nh;
            rdef_len_[s] = static_cast<std::int8_t>(len);
            set_slot_default(s);
        }
    } else {
        std::uint32_t s = slot(addr);
        std::uint32_t e = root_[s];
        if (e & node_flag) {
            if (insert_rec(e & idx_mask, R, addr, len, nh)) count(len, 1);
        } else {
            std::uint32_t ni = alloc_nodes(1);
            Entry r{addr, static_cast<std::uint8_t>(len), nh};
            build_node(ni, R, rdef_[s], &r, &r + 1);
            root_[s] = node_flag | ni;
            count(len, 1);
        }
        sync(s);
    }
    if (r_ == T::R_small && root_for(size_, deep_) == T::R) build(routes()); // root switch
}

template <class T, class L>
void Trie<T, L>::fit_root() {
    // Hysteresis: grow past small_max (or at the first deep route), shrink below small_max / 4.
    const bool grow = r_ == T::R_small && root_for(size_, deep_) == T::R;
    const bool shrink = r_ == T::R && size_ < small_max / 4 && deep_ == 0;
    if (grow || shrink) build(routes());
}

template <class T, class L>
bool Trie<T, L>::remove(Key addr, unsigned len, bool shrink) {
    addr = mask(addr, len);
    const unsigned R = r_;
    if (len <= R) {
        if (shorts_[len].erase(addr) == 0) return false;
        count(len, -1);
        std::uint32_t s0 = slot(addr);
        std::uint32_t cnt = std::uint32_t{1} << (R - len);
        for (std::uint32_t s = s0; s < s0 + cnt; ++s) {
            if (rdef_len_[s] != static_cast<int>(len)) continue;
            std::uint32_t best = leaf_none;
            int bl = -1;
            Key base = static_cast<Key>(Key{s} << (W - R));
            for (int l = static_cast<int>(len) - 1; l >= 0; --l) {
                const auto& m = shorts_[static_cast<std::size_t>(l)];
                if (m.empty()) continue;
                auto it = m.find(mask(base, static_cast<unsigned>(l)));
                if (it != m.end()) {
                    best = it->second;
                    bl = l;
                    break;
                }
            }
            rdef_[s] = best;
            rdef_len_[s] = static_cast<std::int8_t>(bl);
            set_slot_default(s);
        }
    } else {
        std::uint32_t s = slot(addr);
        std::uint32_t e = root_[s];
        if (!(e & node_flag)) return false;
        std::uint32_t ni = e & idx_mask;
        int r = remove_rec(ni, R, addr, len);
        if (r == 0) return false;
        count(len, -1);
        if (r == 2) {
            nodes_.release(ni, 1);
            root_[s] = rdef_[s];
        }
        sync(s);
    }
    if (shrink) fit_root();
    return true;
}

template <class T, class L>
void Trie<T, L>::export_rec(std::uint32_t ni, unsigned off, Key base,
                            std::vector<Entry>& out) const {
    const NodeInfo& in = info_[ni];
    for (unsigned i = 0; i < in.rn; ++i) {
        std::uint64_t r = routes_.v[in.roff + i];
        auto code = static_cast<unsigned>(r >> 32);
        unsigned l = static_cast<unsigned>(std::bit_width(code)) - 1;
        Key a = base | static_cast<Key>(Key{code & ((1u << l) - 1)} << (W - off - l));
        out.push_back(Entry{a, static_cast<std::uint8_t>(off + l), static_cast<std::uint32_t>(r)});
    }
    const Node nd = nodes_.v[ni];
    unsigned k = 0;
    for (std::uint64_t v = nd.vector; v; v &= v - 1, ++k) {
        auto j = static_cast<unsigned>(std::countr_zero(v));
        export_rec(nd.base1 + k, off + S, base | static_cast<Key>(Key{j} << (W - off - S)), out);
    }
}

template <class T, class L>
std::vector<typename Trie<T, L>::Entry> Trie<T, L>::routes() const {
    std::vector<Entry> out;
    out.reserve(size_);
    for (unsigned l = 0; l <= r_; ++l)
        for (const auto& [a, nh] : shorts_[l])
            out.push_back(Entry{a, static_cast<std::uint8_t>(l), nh});
    for (std::uint32_t s = 0; s < root_.size(); ++s)
        if (root_[s] & node_flag)
            export_rec(root_[s] & idx_mask, r_, static_cast<Key>(Key{s} << (W - r_)), out);
    return out;
}

// Lookups touch the lookup root, the compact blocks, the nodes below root level (root-level
// records of compact slots are control data only) and the leaves.
template <class T, class L>
std::size_t Trie<T, L>::lookup_bytes() const noexcept {
    return lroot_.size() * sizeof(std::uint32_t) +
           (units_.v.size() - units_.free_units) * sizeof(Unit) +
           (node_count() - ncompact_) * sizeof(Node) +
           (leaves_.v.size() - leaves_.free_elems) * sizeof(L);
}

template <class T, class L>
std::size_t Trie<T, L>::bytes() const noexcept {
    std::size_t b = sizeof(*this) + lroot_.capacity() * 4 + root_.capacity() * 4 +
                    rdef_.capacity() * 4 + rdef_len_.capacity() + lblk_.capacity() * 4 +
                    nodes_.bytes() + info_.capacity() * sizeof(NodeInfo) + leaves_.bytes() +
                    units_.bytes() + routes_.bytes() + shorts_.capacity() * sizeof(shorts_[0]);
    for (const auto& m : shorts_)
        b += m.size() * (sizeof(Key) + 4 + 2 * sizeof(void*)) + m.bucket_count() * sizeof(void*);
    b += leafblk_.size() * (8 + 2 * sizeof(void*)) + leafblk_.bucket_count() * sizeof(void*);
    return b;
}

template class Trie<V4, std::uint16_t>;
template class Trie<V4, std::uint32_t>;
template class Trie<V6, std::uint16_t>;
template class Trie<V6, std::uint32_t>;

} // namespace rsfwd::lpm::detail
