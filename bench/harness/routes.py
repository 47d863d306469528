"""bench/harness/routes.py — seeded, BGP-shaped route tables for the end-to-end harness.

What: `table(family, n, seed)` returns n distinct prefixes (as (int address, length) tuples) whose
prefix-length mix follows today's Internet tables (IPv4: ~60 % /24, the rest mostly /16../23;
IPv6: ~45 % /48, then /32../44), placed at random in public unicast space, so nesting and
covering prefixes occur as in a real feed. Tables are nested: the 16-, 1k- and 100k-route tables
are prefixes of the same seeded 1M-route sequence, so a smaller FIB is a subset of a larger one.

Why here and not lpm/gen.hpp: the driver must write the same table for every forwarder (l3fwd rule
files, rsfwd configs) without depending on a C++ build; the shape follows the same published
distributions. Cost: ~3 s for 1M IPv4 routes; results are cached by the driver as text files.
"""

import numpy as np

# (length, weight) — IPv4: CIDR report / bgp.potaroo.net shape (2024), rounded.
V4_LENGTHS = [
    (8, 0.0002), (9, 0.0002), (10, 0.0004), (11, 0.001), (12, 0.002), (13, 0.004), (14, 0.007),
    (15, 0.012), (16, 0.013), (17, 0.009), (18, 0.015), (19, 0.03), (20, 0.045), (21, 0.045),
    (22, 0.11), (23, 0.095), (24, 0.6118),
]
# IPv6: /48 dominant, then provider /32, /44, /40, /36, /29.
V6_LENGTHS = [
    (19, 0.001), (20, 0.002), (24, 0.003), (28, 0.01), (29, 0.05), (32, 0.13), (33, 0.01),
    (36, 0.04), (40, 0.07), (44, 0.1), (46, 0.03), (47, 0.03), (48, 0.524),
]
# IPv4 first octets that are not public unicast (0, 10, 100.64/10 kept out via 100, 127, 169,
# 172, 192, 198 partially, multicast and above).
_V4_BAD_FIRST = {0, 10, 100, 127, 169, 172, 192, 198, 203}


def _lengths(rng, n, table):
    lens = np.array([length for length, _ in table])
    w = np.array([weight for _, weight in table], dtype=float)
    return rng.choice(lens, size=n, p=w / w.sum())


def _v4_batch(rng, n):
    lens = _lengths(rng, n, V4_LENGTHS)
    first = rng.integers(1, 224, size=n)
    bad = np.isin(first, list(_V4_BAD_FIRST))
    first[bad] = rng.integers(11, 99, size=int(bad.sum()))
    rest = rng.integers(0, 1 << 24, size=n)
    addr = (first.astype(np.uint64) << 24) | rest.astype(np.uint64)
    mask = (np.uint64(0xFFFFFFFF) << (np.uint64(32) - lens.astype(np.uint64))) & np.uint64(0xFFFFFFFF)
    return [(int(a), int(m)) for a, m in zip(addr & mask, lens)]


def _v6_batch(rng, n):
    lens = _lengths(rng, n, V6_LENGTHS)
    out = []
    # 2000::/3 global unicast, routes use the top 64 bits only (all lengths <= 48 here).
    hi = rng.integers(0, 1 << 61, size=n, dtype=np.uint64) | np.uint64(1 << 61)
    for h, length in zip(hi, lens):
        h = int(h) & ~((1 << (64 - int(length))) - 1)
        out.append((h << 64, int(length)))
    return out


def table(family, n, seed=1):
    """n distinct BGP-shaped prefixes [(address int, length)], stable for (family, seed)."""
    rng = np.random.default_rng(seed + (0 if family == 4 else 1000))
    seen = set()
    out = []
    batch = _v4_batch if family == 4 else _v6_batch
    while len(out) < n:
        for p in batch(rng, 65536):  # fixed batch: table(n) is a prefix of table(m > n)
            if p not in seen:
                seen.add(p)
                out.append(p)
                if len(out) == n:
                    break
    return out


def fmt_addr(family, a):
    if family == 4:
        return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)
    import ipaddress

    return str(ipaddress.IPv6Address(a))


def fmt_addr_full(family, a):
    """IPv6 written in full 8-group form (l3fwd's rule parser needs it)."""
    if family == 4:
        return fmt_addr(4, a)
    return ":".join("%04x" % ((a >> (112 - 16 * i)) & 0xFFFF) for i in range(8))
