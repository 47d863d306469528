#!/usr/bin/env bash
# scripts/demo.sh — the main job: set-up, build, then the Route Server lab on DPDK virtual
# devices (scripts/lab.sh): FRR routers as an SD-WAN NVA and as the on-prem edge of an
# ExpressRoute circuit peer with rsfwd over BGP; rsfwd forwards between them on net_af_packet
# ports. The narrated scenario (scripts/lab-scenario.sh) shows branch-to-branch off and on,
# routing preference and failover. Ends with `lab down`.
#
#   scripts/demo.sh            # set-up + build + lab + scenario + lab down
#   scripts/demo.sh --keep     # leave the lab up to explore (scripts/lab.sh rsctl peers, ...)
#   scripts/demo.sh --plan     # only `rsfwd plan` on examples/seed.yaml (no root needed)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${RSFWD_BUILD_DIR:-build}
keep=0 plan_only=0
for a in "$@"; do
    case $a in
    --keep) keep=1 ;;
    --plan) plan_only=1 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown option $a" >&2; exit 2 ;;
    esac
done
step() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

step "set-up (Debian packages, hugepages)"
scripts/setup.sh || echo "demo: set-up incomplete, trying anyway"

step "build ($build)"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbuildtype=release >/dev/null || exit 1
fi
ninja -C "$build" -j"$(nproc)" control/cmd/rsfwd control/cmd/rsctl >/tmp/rsfwd-demo-build.log 2>&1 || {
    tail -30 /tmp/rsfwd-demo-build.log
    exit 1
}
rsfwd=$build/control/cmd/rsfwd

step "What would Route Server do? rsfwd plan on the seed topology (examples/seed.yaml)"
"$rsfwd" plan --config examples/seed.yaml | sed -n '/^View vnet/,$p'
[ $plan_only = 1 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: the lab needs root (network namespaces, DPDK); showing the plan only"
    exit 0
fi

step "The lab: network namespaces, FRR routers, rsfwd on net_af_packet ports"
export RSFWD_BUILD_DIR=$build
trap 'scripts/lab.sh down' INT TERM
scripts/lab.sh up || { scripts/lab.sh down; exit 1; }
scripts/lab-scenario.sh
rc=$?
if [ $keep = 1 ]; then
    echo
    echo "demo: the lab stays up. Try: scripts/lab.sh rsctl peers | scripts/lab.sh status |"
    echo "      scripts/lab.sh exec op1 ping 172.16.0.10 | scripts/lab.sh down"
else
    scripts/lab.sh down
fi
exit $rc
