#!/usr/bin/env bash
# scripts/check-includes.sh — the layout's include rules (docs/architecture.md, "Include rules"):
#
#   lpm/                 the standard library only: no DPDK, no control/, no dataplane/
#   dataplane/fib/       the FIB seam: std, lpm/, rte_rcu_qsbr (+ rte_cycles), Boost.Lockfree
#   dataplane/worker/    what runs on lcores: the seam, lpm/, DPDK's per-packet headers; never
#                        control/ or the engine (dataplane/engine/, dataplane/xdp/)
#   control/             never the worker side (dataplane/worker/)
#
# Prints every violation as FILE:LINE: RULE and exits 1 if there is one. Run by scripts/test.sh.
set -uo pipefail
cd "$(dirname "$0")/.."

bad=0
check() { # folder, rule text, grep -E pattern of forbidden include targets
    local dir=$1 rule=$2 pat=$3
    local hits
    hits=$(git ls-files "$dir" | grep -E '\.(c|cc|cpp|h|hpp)$' |
        xargs -r grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pat)" || true)
    if [ -n "$hits" ]; then
        while IFS= read -r h; do echo "$h: $rule"; done <<<"$hits"
        bad=1
    fi
}

check lpm "lpm/ is a pure C++ library (no DPDK, no rsfwd headers)" 'rte_|control/|dataplane/|bench/'
# The seam may use rte_rcu_qsbr.h and rte_cycles.h (the QSBR protocol and its timestamps).
check dataplane/fib "the FIB seam depends on std, lpm/, rte_rcu_qsbr, Boost.Lockfree only" \
    'control/|dataplane/(worker|engine|xdp)/|rte_(ethdev|mbuf|mempool|ring|eal|lcore|dev|bus|telemetry)'
check dataplane/worker "worker-side code includes nothing from control/ or the engine" \
    'control/|dataplane/(engine|xdp)/|nlohmann/|spdlog/|fmt/|yaml-cpp/|CLI/'
check control "control/ never includes the worker side" 'dataplane/worker/'

if [ $bad -ne 0 ]; then
    echo "check-includes: FAILED (rules in scripts/check-includes.sh and docs/architecture.md)"
    exit 1
fi
echo "check-includes: lpm/, dataplane/fib/, dataplane/worker/, control/ clean"
