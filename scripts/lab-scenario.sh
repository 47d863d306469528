#!/usr/bin/env bash
# scripts/lab-scenario.sh — the seed scenario on a running lab (scripts/lab.sh up), narrated.
# scripts/demo.sh runs it to show people; tests/e2e/lab runs it with --check, where every
# expectation that does not hold fails the run (exit 1) instead of only being printed.
#
#   scripts/lab-scenario.sh [--check]
#
# Steps: BGP sessions up → what each party learned → on-prem 1 → on-prem 2 fails with
# branch-to-branch off (rsfwd counts no_route) → branch-to-branch on: both FRR routers learn the
# other's prefix and the ping succeeds → the same prefix over ER and VPN: ExpressRoute wins, then
# ASPath preference changes the winner → the NVA withdraws its prefix: failover to the backup.
set -uo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = --check ] && check=1
lab=scripts/lab.sh
failures=0

step() { printf '\n\033[1m=== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" 2>&1 | sed 's/^/  /'; }
expect() { # description, command...: the command must succeed
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        printf '  \033[32mok\033[0m   %s\n' "$what"
    else
        printf '  \033[31mFAIL\033[0m %s\n' "$what"
        failures=$((failures + 1))
    fi
}
wait_for() { # seconds, command...: poll until the command succeeds
    local limit=$1
    shift
    local end=$((SECONDS + limit))
    while [ $SECONDS -lt $end ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}
rsctl() { $lab rsctl "$@"; }
jq_rsctl() { # jq-filter, rsctl args...: true when the filter yields true
    local filter=$1
    shift
    rsctl --json "$@" | jq -e "$filter" >/dev/null
}
frr_has() { # ns prefix
    $lab vtysh "$1" "show bgp ipv4 unicast $2 json" | jq -e '.paths | length > 0' >/dev/null
}
frr_lacks() { ! frr_has "$@"; }
ping_ok() { $lab exec "$1" ping -c 2 -i 0.2 -W 1 "$2" >/dev/null; }
ping_fails() { ! $lab exec "$1" ping -c 2 -i 0.2 -W 1 "$2" >/dev/null; }
no_route() { rsctl --json stats | jq '.forwarding.drops.no_route // 0'; }

step "1. BGP sessions: FRR NVA (AS 65001) ↔ both Route Server instances; FRR edge ↔ MSEE (AS 12076)"
expect "NVA sessions and the circuit session are Established within 60 s" \
    wait_for 60 jq_rsctl '[.[] | select(.session=="bgp") | .state] | length == 3 and all(. == "Established")' peers
show rsctl peers

step "2. What each party learned (branch-to-branch off, A5)"
wait_for 20 jq_rsctl 'any(.[]; .prefix=="192.168.10.0/24" and .status=="accepted")' routes learned nva/sdwan@0
wait_for 20 jq_rsctl 'any(.[]; .prefix=="172.16.0.0/24")' routes learned er/onprem
show rsctl routes learned nva/sdwan@0
show rsctl routes learned er/onprem
expect "ARS holds the circuit's route as 12076 65100 (B4)" \
    jq_rsctl 'any(.[]; .prefix=="172.16.0.0/24" and .held_as_path=="12076 65100")' routes learned er/onprem
show rsctl routes view vnet
expect "VMs get the NVA's prefix via 10.1.2.4 (A2)" \
    jq_rsctl 'any(.[]; .prefix=="192.168.10.0/24" and .next_hops==["10.1.2.4"])' routes view vnet
expect "VMs get the circuit's prefix (A8)" jq_rsctl 'any(.[]; .prefix=="172.16.0.0/24")' routes view vnet
expect "the NVA learns the VNet space from ARS, path 65515 (A3)" wait_for 20 frr_has nva 10.1.0.0/16
expect "the NVA does not learn the circuit's prefix (A5)" frr_lacks nva 172.16.0.0/24
expect "the on-prem edge does not learn the NVA's prefix (A5)" frr_lacks edge 192.168.10.0/24
show $lab vtysh edge "show bgp ipv4 unicast"

step "3. on-prem 1 (192.168.10.10) → on-prem 2 (172.16.0.10) with branch-to-branch off"
expect "the VM reaches on-prem 1 through the NVA" ping_ok vm 192.168.10.10
expect "the VM reaches on-prem 2 through the circuit" ping_ok vm 172.16.0.10
before=$(no_route)
expect "on-prem 1 cannot reach on-prem 2" ping_fails op1 172.16.0.10
after=$(no_route)
echo "  rsfwd no_route drops: $before → $after (the replies die in view er/onprem)"
expect "rsfwd counted the no_route drops" test "$after" -gt "$before"

step "4. rsctl set branch-to-branch on (A6)"
show rsctl set branch-to-branch on
expect "the on-prem edge learns 192.168.10.0/24 (path 12076, B3)" wait_for 20 frr_has edge 192.168.10.0/24
expect "the NVA learns 172.16.0.0/24 (path 65515 12076 65100, B4)" wait_for 20 frr_has nva 172.16.0.0/24
show $lab vtysh edge "show bgp ipv4 unicast 192.168.10.0/24"
expect "on-prem 1 reaches on-prem 2" wait_for 10 ping_ok op1 172.16.0.10
show $lab exec op1 ping -c 3 -i 0.2 -W 1 172.16.0.10

step "5. The same prefix over ExpressRoute and VPN (D3, D5)"
show rsctl announce vpn/branch 172.16.0.0/24
show rsctl fib vnet 172.16.0.10
expect "routing preference ExpressRoute: the circuit wins (D3)" \
    jq_rsctl '.route.source == "expressroute"' fib vnet 172.16.0.10
show rsctl set routing-preference ASPath
show rsctl fib vnet 172.16.0.10
expect "ASPath: the VPN route (empty path) beats 12076 65100 (D5, D6)" \
    jq_rsctl '.route.source == "vpn"' fib vnet 172.16.0.10
show rsctl set routing-preference ExpressRoute
rsctl withdraw vpn/branch 172.16.0.0/24 >/dev/null

step "6. NVA withdrawal → failover (D9)"
# A backup for the branch prefix over VPN with a longer AS path: between VPN and NVA routes the
# shortest path wins (D3), so the NVA's [65001] is used while it exists.
show rsctl announce vpn/branch 192.168.10.0/24 --as-path "65200 65200"
expect "the NVA's route (shorter AS path) is preferred while it exists" \
    jq_rsctl '.route.source == "nva"' fib vnet 192.168.10.10
$lab vtysh nva "configure terminal
router bgp 65001
address-family ipv4 unicast
no network 192.168.10.0/24" >/dev/null
expect "after the withdrawal the VNet uses the VPN backup" \
    wait_for 15 jq_rsctl '.route.source == "vpn"' fib vnet 192.168.10.10
show rsctl fib vnet 192.168.10.10

step "7. Counters"
show rsctl stats

echo
if [ $failures -gt 0 ]; then
    echo "scenario: $failures expectation(s) failed"
    [ $check = 1 ] && exit 1
else
    echo "scenario: every expectation held"
fi
exit 0
