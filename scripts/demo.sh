#!/usr/bin/env bash
# scripts/demo.sh — the main job: set-up, build, then a narrated Route Server run on the seed
# topology (examples/seed.yaml): what each party learns with branch-to-branch off and on.
#
#   scripts/demo.sh            # set-up + build + demo
#   RSFWD_BUILD_DIR=build scripts/demo.sh
set -uo pipefail
cd "$(dirname "$0")/.."
build=${RSFWD_BUILD_DIR:-build}
step() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

step "set-up (Debian packages, hugepages)"
scripts/setup.sh || echo "demo: set-up incomplete, trying anyway"

step "build ($build)"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbuildtype=release >/dev/null || exit 1
fi
ninja -C "$build" -j"$(nproc)" >/tmp/rsfwd-demo-build.log 2>&1 || {
    tail -30 /tmp/rsfwd-demo-build.log
    exit 1
}
rsfwd=$build/dataplane/rsfwd
[ -x "$rsfwd" ] || { echo "demo: $rsfwd was not built"; exit 1; }

seed=examples/seed.yaml
tmp=$(mktemp -d /tmp/rsfwd-demo.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

step "1. The seed topology with branch-to-branch OFF (the Azure default, A5)"
echo "NVA1 (SD-WAN, on-prem 1 behind it) and an ExpressRoute circuit (on-prem 2) both peer with"
echo "the Route Server. With branch-to-branch off, neither learns the other's routes:"
"$rsfwd" plan --config "$seed" || exit 1

step "2. The same topology with branch-to-branch ON (A6)"
sed -E 's/^([[:space:]]*branch_to_branch:).*/\1 true/' "$seed" >"$tmp/seed-b2b.yaml"
grep -q 'branch_to_branch: true' "$tmp/seed-b2b.yaml" || echo "demo: (seed has no branch_to_branch key; showing defaults)"
"$rsfwd" plan --config "$tmp/seed-b2b.yaml" || exit 1

step "3. The same answers as JSON (docs/plan-json.md), e.g. the vnet view"
"$rsfwd" plan --config "$tmp/seed-b2b.yaml" --json | /usr/bin/python3 -c '
import json, sys
plan = json.load(sys.stdin)
views = plan.get("views", {})
items = views.items() if isinstance(views, dict) else ((v.get("name"), v) for v in views)
for name, view in items:
    routes = view.get("routes", view) if isinstance(view, dict) else view
    print(f"view {name}: {len(routes)} routes")
'

echo
echo "demo: done. Next: README.md (lab, benchmarks), docs/."
