#!/bin/sh
# bench/bgp/feed.sh — issue 6's BGP feed benchmark (rsfwd vs FRR vs BIRD); see bench/bgp/feed.py.
#   sudo bench/bgp/feed.sh [--routes 1000000] [--build build-bgp] [--only rsfwd,frr,bird]
exec /usr/bin/python3 "$(dirname "$0")/feed.py" "$@"
