#!/usr/bin/env bash
# scripts/build-l3fwd.sh — build DPDK's l3fwd example (from Debian's dpdk-doc sources) for the
# benchmark harness, outside the source tree, with the one patch it needs to run on vdevs.
#
#   scripts/build-l3fwd.sh [OUTDIR]      # default OUTDIR: build-bench/l3fwd; prints the binary path
#
# Why a patch: l3fwd (22.11) hard-codes `.rxmode.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM` in its
# port_conf and passes it unchanged to rte_eth_dev_configure(). vdevs (net_pcap, net_null,
# net_vhost, virtio_user, net_memif) do not advertise IPv4/UDP/TCP checksum offload, so ethdev
# refuses the configuration ("Ethdev port_id=0 requested Rx offloads 0xe doesn't match Rx offloads
# capabilities 0x0") and l3fwd exits. The patch inserts, right after rte_eth_dev_info_get() in the
# port-init loop of main(), a line that masks the requested Rx offloads with the device's
# capabilities (and prints what it dropped):
#     local_port_conf.rxmode.offloads &= dev_info.rx_offload_capa;
# and, in the Rx-queue set-up loop, masks the per-queue offloads the same way:
#     rxq_conf.offloads = port_conf.rxmode.offloads & dev_info.rx_offload_capa;
# Nothing else changes: the LPM/FIB lookup paths, burst sizes and TX are stock. l3fwd does not
# verify checksums in software either way, so forwarding work is the same on hardware and vdevs.
#
# Build: copies /usr/share/dpdk/examples/{l3fwd,common} to OUTDIR/src, applies the patch with sed
# (the build fails if the anchor line is not found), compiles with the example's own Makefile
# (`make shared`, pkg-config libdpdk, -O3). Needs dpdk-doc (sources) and dpdk-dev (libdpdk.pc).
#
# Traps when running it (scripts/bench.sh handles them):
#   - --rule_ipv4 is ignored unless --rule_ipv6 is also given (both or the built-in tables);
#   - --parse-ptype is required on vdevs (they set no packet type; l3fwd drops untyped packets);
#   - its IPv4 LPM holds at most 1024 rules (IPV4_L3FWD_LPM_MAX_RULES): use <= 1000 routes;
#   - rule lines are "R<addr>/<depth> <port>", port must be an enabled port id;
#   - it opens one TX queue per lcore *including the main lcore*, and single-queue vdevs (net_pcap)
#     refuse 2: run it with one lcore (`-l 1`: the main lcore is the worker) inside a process
#     affinity of cores 0,1, so EAL control threads (telemetry, interrupts) land on core 0;
#   - the FIB mode (--lookup fib) holds at most 65536 IPv4 routes (config max_routes = 1<<16).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-bench/l3fwd}
examples=${DPDK_EXAMPLES:-/usr/share/dpdk/examples}
[ -f "$examples/l3fwd/main.c" ] || {
    echo "build-l3fwd: $examples/l3fwd not found (apt-get install dpdk-doc)" >&2
    exit 1
}
pkg-config --exists libdpdk || {
    echo "build-l3fwd: pkg-config libdpdk not found (apt-get install dpdk-dev)" >&2
    exit 1
}
mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp="$out/.stamp-$(pkg-config --modversion libdpdk)-$(md5sum "$0" | cut -c1-8)"
if [ -x "$out/l3fwd" ] && [ -f "$stamp" ]; then
    echo "$out/l3fwd"
    exit 0
fi
rm -rf "$out/src"
mkdir -p "$out/src/examples"
cp -r "$examples/l3fwd" "$examples/common" "$out/src/examples/"
main="$out/src/examples/l3fwd/main.c"
anchor='ret = rte_eth_dev_info_get(portid, &dev_info);'
grep -qF "$anchor" "$main" || {
    echo "build-l3fwd: patch anchor not found in $main (DPDK version changed?)" >&2
    exit 1
}
# Insert after the error check that follows the first rte_eth_dev_info_get() in main()'s port loop:
# the 5-line block "ret = ...; if (ret != 0) rte_exit(...);" ends at the line with "portid, strerror".
/usr/bin/python3 - "$main" <<'PY'
import sys
path = sys.argv[1]
src = open(path).read()
anchor = "ret = rte_eth_dev_info_get(portid, &dev_info);"
i = src.index(anchor)
j = src.index("strerror(-ret));", i) + len("strerror(-ret));")
patch = """

		/* rsfwd bench patch: vdevs advertise no Rx checksum offload; request only
		 * what the device supports instead of failing rte_eth_dev_configure(). */
		if (local_port_conf.rxmode.offloads & ~dev_info.rx_offload_capa)
			printf("Port %u: dropping unsupported Rx offloads %#" PRIx64 "\\n", portid,
			       local_port_conf.rxmode.offloads & ~dev_info.rx_offload_capa);
		local_port_conf.rxmode.offloads &= dev_info.rx_offload_capa;"""
src = src[:j] + patch + src[j:]
# Second site: the per-queue Rx conf copies the *global* port_conf offloads; mask it the same way
# (dev_info was refreshed for this port just above it).
old = "rxq_conf.offloads = port_conf.rxmode.offloads;"
assert src.count(old) == 1, "second patch anchor not found"
src = src.replace(old, "rxq_conf.offloads = port_conf.rxmode.offloads & dev_info.rx_offload_capa;")
open(path, "w").write(src)
PY
make -C "$out/src/examples/l3fwd" shared >"$out/build.log" 2>&1 || {
    tail -30 "$out/build.log" >&2
    exit 1
}
cp "$out/src/examples/l3fwd/build/l3fwd-shared" "$out/l3fwd"
rm -f "$out"/.stamp-*
touch "$stamp"
echo "$out/l3fwd"
