#!/usr/bin/env bash
# scripts/bench.sh — rsfwd's end-to-end throughput harness, next to dpdk-testpmd and DPDK's l3fwd.
# The driver is bench/harness/bench.py (Debian's python3 with python3-numpy/-matplotlib);
# `scripts/bench.sh --help` explains every option, docs/benchmarks.md shows the latest results.
#
#   scripts/bench.sh                        # default matrix, 5 rounds x 5 s (~15-25 min)
#   scripts/bench.sh --quick                # <= 2 min: v4 64 B, testpmd/l3fwd 1k/rsfwd 1k+1M
#   scripts/bench.sh --quick --regress --report-only   # what CI runs
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
if ! "$py" -c 'import numpy, matplotlib' 2>/dev/null; then
    echo "bench: needs Debian's python3-numpy and python3-matplotlib (apt-get install -y" \
        "python3-numpy python3-matplotlib)" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ] && [[ " $* " != *" --help "* && " $* " != *" -h "* ]]; then
    echo "bench: DPDK vdevs and /var/run/dpdk need root here; run as root" >&2
    exit 2
fi
exec "$py" bench/harness/bench.py "$@"
