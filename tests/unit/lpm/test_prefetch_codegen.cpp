// tests/unit/lpm/test_prefetch_codegen.cpp — the LPM's prefetch hints survive the optimizer.
//
// Table4/Table6::prefetch and Table4::prefetch_next have no effect but a prefetch, and gcc 12
// deleted that prefetch when the hint was reached through Dual::visit (lpm/poptrie.hpp,
// prefetch_hint): the functions compiled to a bare `ret`, and the data plane's parse loop never
// prefetched a root line. No lookup result can show that, so these tests read the machine code:
// each hint, compiled here as the data plane calls it (optimized, inlined into a caller), must
// hold a prefetch instruction. x86-64 optimized builds only (the encoding is checked, and at -O0
// nothing is inlined); elsewhere they skip.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <link.h>

#include <cstdint>
#include <cstring>

#include "lpm/lpm.hpp"

using namespace rsfwd::lpm;

// Exported (the test executable links with --export-dynamic) so that dladdr1 finds their size.
extern "C" {
[[gnu::noinline, gnu::used, gnu::visibility("default")]] void rsfwd_test_hint4(const Table4& t,
                                                                               std::uint32_t k) {
    t.prefetch(k);
}
[[gnu::noinline, gnu::used, gnu::visibility("default")]] void
rsfwd_test_hint4_next(const Table4& t, std::uint32_t k) {
    t.prefetch_next(k);
}
[[gnu::noinline, gnu::used, gnu::visibility("default")]] void rsfwd_test_hint6(const Table6& t,
                                                                               const Addr6& k) {
    t.prefetch(k);
}
}

namespace {

// Prefetch instructions (0F 18 /0../3: prefetchnta, t0, t1, t2) in fn's machine code. A plain
// byte scan: it can only over-count (a 0F 18 inside another instruction), never miss one.
int prefetches_in(const void* fn) {
    Dl_info info{};
    void* extra = nullptr;
    if (dladdr1(fn, &info, &extra, RTLD_DL_SYMENT) == 0 || extra == nullptr) return -1;
    const auto* sym = static_cast<const ElfW(Sym)*>(extra);
    const auto* b = static_cast<const unsigned char*>(fn);
    int n = 0;
    for (std::size_t i = 0; i + 2 < sym->st_size; ++i)
        if (b[i] == 0x0F && b[i + 1] == 0x18 && ((b[i + 2] >> 3) & 7) <= 3) ++n;
    return n;
}

#if defined(__x86_64__)
constexpr bool x86 = true;
#else
constexpr bool x86 = false;
#endif
// The deletion is an optimizer's doing, and the check needs the hint inlined into the exported
// function: at -O0 (CI's sanitizer build) the function is a call to the out-of-line hint.
#if defined(__OPTIMIZE__)
constexpr bool optimized = true;
#else
constexpr bool optimized = false;
#endif

TEST(LpmPrefetch, Table4HintsPrefetch) {
    if (!x86) GTEST_SKIP() << "the check reads x86-64 machine code";
    if (!optimized) GTEST_SKIP() << "an unoptimized build: nothing is inlined or deleted";
    EXPECT_GE(prefetches_in(reinterpret_cast<const void*>(&rsfwd_test_hint4)), 1)
        << "Table4::prefetch compiled without a prefetch instruction";
    EXPECT_GE(prefetches_in(reinterpret_cast<const void*>(&rsfwd_test_hint4_next)), 1)
        << "Table4::prefetch_next compiled without a prefetch instruction";
}

TEST(LpmPrefetch, Table6HintPrefetches) {
    if (!x86) GTEST_SKIP() << "the check reads x86-64 machine code";
    if (!optimized) GTEST_SKIP() << "an unoptimized build: nothing is inlined or deleted";
    EXPECT_GE(prefetches_in(reinterpret_cast<const void*>(&rsfwd_test_hint6)), 1)
        << "Table6::prefetch compiled without a prefetch instruction";
}

// The hints still have no effect on results, and run on every root size and leaf width.
TEST(LpmPrefetch, HintsLeaveLookupsAlone) {
    Table4 t;
    for (std::uint32_t a : {0u, 0x0A000000u, 0xC0A80100u, 0xFFFFFFFFu}) {
        rsfwd_test_hint4(t, a);
        rsfwd_test_hint4_next(t, a);
        EXPECT_EQ(t.lookup(a), no_route);
    }
    t.insert(0x0A000000u, 8, 7);
    t.insert(0x0A010200u, 24, 70000); // wide leaves, 18-bit root
    for (std::uint32_t a : {0x0A000001u, 0x0A010203u, 0x0B000000u}) {
        rsfwd_test_hint4(t, a);
        rsfwd_test_hint4_next(t, a);
    }
    EXPECT_EQ(t.lookup(0x0A000001u), 7u);
    EXPECT_EQ(t.lookup(0x0A010203u), 70000u);
    EXPECT_EQ(t.lookup(0x0B000000u), no_route);
    Table6 t6;
    Addr6 k{};
    k[0] = 0x20;
    rsfwd_test_hint6(t6, k);
    EXPECT_EQ(t6.lookup(k), no_route);
}

} // namespace
