#!/usr/bin/env bash
# scripts/setup.sh — prepare a Debian 12 machine for rsfwd: packages, hugepages, hugetlbfs.
# Idempotent: installs only what is missing, never lowers a hugepage reservation. Says what it
# did and what it could not do. Exit status: 0 when the build and tests can run, 1 otherwise.
#
#   scripts/setup.sh            # everything (as root: packages + hugepages)
#   RSFWD_HUGEPAGES=1024 scripts/setup.sh
set -uo pipefail

PACKAGES=(
    # build
    build-essential meson ninja-build pkg-config clang clang-format clang-tidy llvm lld
    # man pages from --help (optional: the build skips them without it)
    help2man
    # libraries (all through pkg-config / meson dependency())
    libdpdk-dev dpdk-dev libbpf-dev libboost-dev libspdlog-dev libfmt-dev libgtest-dev
    libbenchmark-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libpcap-dev prometheus-cpp-dev
    # DPDK tools and example sources (testpmd, telemetry client, l3fwd sources for bench/)
    dpdk dpdk-doc
    # tests, lab and benchmarks: real BGP peers, packet tools, namespaces
    gobgpd frr bird2 python3-scapy tcpdump iproute2 iputils-ping procps util-linux jq ethtool bpftool
    prometheus # promtool: tests check the /metrics exposition
    python3-matplotlib
)
HUGEPAGES=${RSFWD_HUGEPAGES:-512}

say() { printf 'setup: %s\n' "$*"; }
problems=0

# --- packages --------------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    say "all ${#PACKAGES[@]} Debian packages already installed"
elif [ "$(id -u)" -ne 0 ]; then
    say "NOT installed (run as root to install): ${missing[*]}"
    problems=1
else
    say "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/rsfwd-apt.log 2>&1; then
        apt-get update -q >>/tmp/rsfwd-apt.log 2>&1
        if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/rsfwd-apt.log 2>&1; then
            say "apt-get install failed; see /tmp/rsfwd-apt.log"
            tail -5 /tmp/rsfwd-apt.log | sed 's/^/setup:   /'
            problems=1
        fi
    fi
    [ $problems -eq 0 ] && say "installed ${#missing[@]} packages"
fi

# FRR's package starts a service on install; rsfwd runs its own bgpd instances in the foreground.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet frr 2>/dev/null; then
    systemctl stop frr >/dev/null 2>&1 && say "stopped the frr service (tests run their own bgpd)"
fi

# FRR daemons check that their user is in the vty group; tests and the lab run them as root.
if [ "$(id -u)" -eq 0 ] && getent group frrvty >/dev/null && ! id -nG root | grep -qw frrvty; then
    usermod -a -G frrvty root && say "added root to group frrvty (FRR daemons run as root in tests)"
fi

# --- hugepages -------------------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
    say "not root: hugepages left as they are (tests fall back to --no-huge or skip)"
else
    nr=/proc/sys/vm/nr_hugepages
    have=$(cat "$nr" 2>/dev/null || echo 0)
    if [ "$have" -lt "$HUGEPAGES" ]; then
        echo "$HUGEPAGES" >"$nr" 2>/dev/null
        have=$(cat "$nr")
        if [ "$have" -lt "$HUGEPAGES" ]; then
            say "asked for $HUGEPAGES x 2 MiB hugepages, got $have (memory fragmented?)"
        else
            say "reserved $have x 2 MiB hugepages"
        fi
    else
        say "hugepages: $have x 2 MiB already reserved"
    fi
    if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
        mkdir -p /dev/hugepages
        if mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null; then
            say "mounted hugetlbfs on /dev/hugepages"
        else
            say "could not mount hugetlbfs on /dev/hugepages (DPDK will need --no-huge)"
        fi
    else
        say "hugetlbfs already mounted on /dev/hugepages"
    fi
    # DPDK 22.11 leaves map files behind after a crash; remove stale rsfwd ones.
    rm -f /dev/hugepages/rsfwd* 2>/dev/null
fi

exit $problems
