#!/usr/bin/env bash
# e2e: the lab's seed scenario with real FRR peers, real BGP and real packets through rsfwd on
# DPDK net_af_packet ports (scripts/lab.sh + scripts/lab-scenario.sh --check).
# Needs root (namespaces, DPDK) and FRR: exits 77 with the reason without them.
# Usage: test_lab.sh SOURCE_ROOT BUILD_ROOT
set -uo pipefail
src=$1 build=$2
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (network namespaces, DPDK)"; exit 77; }
[ -x /usr/lib/frr/bgpd ] || { echo "SKIP: FRR is not installed (scripts/setup.sh)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed (scripts/setup.sh)"; exit 77; }
export RSFWD_BUILD_DIR=$build RSFWD_LAB_DIR=/tmp/rsfwd-lab-e2e-$$
cd "$src" || exit 1
trap 'scripts/lab.sh down >/dev/null 2>&1' EXIT
scripts/lab.sh up || { cat "$RSFWD_LAB_DIR/rsfwd.log" 2>/dev/null | tail -30; exit 1; }
scripts/lab-scenario.sh --check
rc=$?
[ $rc -eq 0 ] || { echo "--- rsfwd log"; tail -40 "$RSFWD_LAB_DIR/rsfwd.log"; }
exit $rc
