// tests/fuzz/config — libFuzzer target for the config loader (control/config.cpp) and, for
// inputs that load, the policy engine and the plan renderer on top. Contract under test: any
// input either loads or raises ConfigError; nothing else escapes, nothing crashes.
#include "control/config.hpp"
#include "control/plan.hpp"
#include "control/policy.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0; // configs are small; keep iterations fast
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const rsfwd::Config cfg = rsfwd::parse_config(text, "<fuzz>");
        rsfwd::RouteServer rs(cfg);
        auto d = rs.announce_config_routes();
        (void)rsfwd::render_plan_json(rs, d.events);
        (void)rs.set_branch_to_branch(!rs.branch_to_branch());
        (void)rsfwd::render_plan_text(rs, d.events);
    } catch (const rsfwd::ConfigError&) {
        // expected for most inputs
    }
    return 0;
}
