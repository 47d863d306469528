#!/usr/bin/env bash
# scripts/test.sh — the one test command (README, .ci/run): set-up, build, every test suite.
#
#   1. scripts/setup.sh (packages, hugepages)
#   2. clang-format check of every tracked C/C++ file; the layout's include rules
#      (scripts/check-includes.sh)
#   3. release build with -Dwerror=true; clang-tidy (.clang-tidy) on the product sources (lpm,
#      findings; suites unit, fuzz (corpus replay), dataplane, e2e
#   4. ASan+UBSan build; suites unit and fuzz
#   5. one closing line: "rsfwd: N passed, N failed, N skipped"
#
# Options (environment): RSFWD_SKIP_ASAN=1 skips step 4; RSFWD_SUITES="unit fuzz" limits step 3;
# RSFWD_BUILD_DIR / RSFWD_ASAN_DIR choose build folders (default build-test, build-asan).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
start=$(date +%s)
say() { printf '\n=== test: %s\n' "$*"; }

say "set-up"
if ! scripts/setup.sh; then
    echo "test: set-up incomplete; continuing, missing pieces will show as build errors or skips"
fi

failed_steps=()

# --- formatting ------------------------------------------------------------------------------
say "clang-format check"
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c' '*.cc' 2>/dev/null | grep -v '\.bpf\.c$')
if [ ${#sources[@]} -gt 0 ]; then
    if clang-format --dry-run --Werror "${sources[@]}" >/tmp/rsfwd-format.log 2>&1; then
        echo "clang-format: ${#sources[@]} files clean"
    else
        grep -E '^[^ ].*(warning|error):' /tmp/rsfwd-format.log | cut -d: -f1 | sort -u | sed 's/^/  needs clang-format: /'
        failed_steps+=("clang-format")
    fi
fi

say "include rules (scripts/check-includes.sh)"
scripts/check-includes.sh || failed_steps+=("check-includes")

# --- release build, all suites -----------------------------------------------------------------
build=${RSFWD_BUILD_DIR:-build-test}
asan=${RSFWD_ASAN_DIR:-build-asan}
suites=${RSFWD_SUITES:-unit fuzz dataplane e2e}
jobs=$(nproc)

configure() { # dir, args...
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
    else
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
    fi || {
        tail -30 "$dir.setup.log"
        return 1
    }
}

run_suite() { # dir, suite, extra args...
    local dir=$1 suite=$2
    shift 2
    meson test -C "$dir" --no-rebuild --suite "$suite" --print-errorlogs \
        --logbase "testlog-$suite" "$@" || failed_steps+=("$dir:$suite")
}

say "release build ($build, -Dwerror=true)"
rm -f "$build"/meson-logs/testlog-*.json "$asan"/meson-logs/testlog-*.json
if configure "$build" -Dwerror=true -Dbuildtype=release && ninja -C "$build" -j"$jobs"; then
    # clang-tidy (.clang-tidy: bugprone, performance, analyzer) on the product's sources
    # (scripts/tidy.sh: results cached by preprocessed-source hash), niced, in the background
    # while the suites run (the daemon suites leave a core mostly idle); collected after them:
    # zero findings or the step fails. RSFWD_TIDY=0 skips it.
    tidy_pid=
    if [ "${RSFWD_TIDY:-1}" = 1 ] && command -v clang-tidy >/dev/null; then
        say "clang-tidy: started in the background (scripts/tidy.sh $build)"
        RSFWD_TIDY_JOBS=1 nice -n 15 scripts/tidy.sh "$build" >"$build/clang-tidy.log" 2>&1 &
        tidy_pid=$!
    fi
    for s in $suites; do
        say "suite $s ($build)"
        case $s in
        unit | fuzz) run_suite "$build" "$s" --num-processes "$jobs" ;;
        *) run_suite "$build" "$s" --num-processes 1 ;; # namespaces, ports, daemons: one at a time
        esac
    done
    if [ -n "$tidy_pid" ]; then
        say "clang-tidy: waiting for it"
        wait "$tidy_pid" || failed_steps+=("clang-tidy")
        cat "$build/clang-tidy.log"
    fi
else
    failed_steps+=("$build:build")
fi

# --- sanitizer build, unit + fuzz ---------------------------------------------------------------
if [ "${RSFWD_SKIP_ASAN:-0}" != 1 ]; then
    say "ASan+UBSan build ($asan): unit and fuzz suites"
    # -O0 -g1: the sanitizers find the same bugs at any optimisation level, and this build is
    # half of CI's time at -O2 -g (measured: policy.cpp compiles in 48 s at -O0 -g1, 257 s at
    # -O2 -g); line tables are enough for symbolised reports.
    if configure "$asan" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=plain \
        -Doptimization=0 -Ddebug=false -Dcpp_args=-g1 -Dc_args=-g1 \
        -Dbenchmarks=false -Dwerror=true; then
        # Build only what the unit and fuzz suites run: the data-plane binaries are covered above.
        mapfile -t targets < <(meson introspect "$asan" --tests --targets | /usr/bin/python3 -c '
import json, os, sys
info = json.load(sys.stdin)
base = os.path.abspath(sys.argv[1])
files = {t["id"]: t["filename"][0] for t in info["targets"] if t.get("filename")}
for t in info["tests"]:
    if set(t.get("suite", [])) & {"rsfwd:unit", "rsfwd:fuzz", "unit", "fuzz"}:
        # the test binary and every target it depends on (rsctl, rsfwd-plan, ...)
        paths = [t["cmd"][0]] + [files[d] for d in t.get("depends", []) if d in files]
        for p in paths:
            if p.startswith(base + "/"):
                print(os.path.relpath(p, base))
' "$asan" | sort -u)
        if [ ${#targets[@]} -eq 0 ] || ninja -C "$asan" -j"$jobs" "${targets[@]}"; then
            export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
            export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
            run_suite "$asan" unit --num-processes "$jobs"
            run_suite "$asan" fuzz --num-processes "$jobs"
        else
            failed_steps+=("$asan:build")
        fi
    else
        failed_steps+=("$asan:configure")
    fi
fi

# --- summary -----------------------------------------------------------------------------------
say "summary"
/usr/bin/python3 - "$top/$build" "$top/$asan" <<'PY'
import json, os, sys, glob
counts = {"passed": 0, "failed": 0, "skipped": 0}
skipped = []
for d in sys.argv[1:]:
    for f in sorted(glob.glob(os.path.join(d, "meson-logs", "testlog-*.json"))):
        for line in open(f):
            try:
                t = json.loads(line)
            except ValueError:
                continue
            r = t.get("result", "")
            name = f"{os.path.basename(d)}:{t.get('name')}"
            if r in ("OK", "EXPECTEDFAIL"):
                counts["passed"] += 1
            elif r == "SKIP":
                counts["skipped"] += 1
                skipped.append(name)
            else:
                counts["failed"] += 1
                print(f"  FAILED: {name} ({r})")
for s in skipped:
    print(f"  skipped: {s}")
print(f"rsfwd: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
echo "test: took $(($(date +%s) - start)) s"
if [ ${#failed_steps[@]} -gt 0 ]; then
    echo "test: FAILED steps: ${failed_steps[*]}"
    exit 1
fi
echo "test: all green"
