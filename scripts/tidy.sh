#!/usr/bin/env bash
# scripts/tidy.sh — clang-tidy (the repo's .clang-tidy) on the product's C++ sources, with a
# result cache keyed like ccache's: the hash of the preprocessed translation unit (comments
# kept: NOLINT lives in them), the compile flags and .clang-tidy, with the checkout's path taken
# out (so a clone elsewhere on the same machine, as CI's, reuses the results). An unchanged file (and its headers) is not analysed again; a full run
# costs ~15 CPU-minutes here (the analyzer checks), a cached one seconds.
#
#   scripts/tidy.sh BUILD_DIR [REGEX]      # default REGEX: lpm/, control/, dataplane/, bench/fwd/
#   RSFWD_TIDY_CACHE=DIR (default ~/.cache/rsfwd-tidy), RSFWD_TIDY_JOBS=N (default nproc)
#
# Prints every finding in our own files; exit 0 with none, 1 with any, 2 on a usage error.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${1:-}
regex=${2:-"^$top/(lpm|control|dataplane|bench/fwd)/.*\\.cpp\$"}
[ -n "$build" ] && [ -f "$build/compile_commands.json" ] || {
    echo "usage: scripts/tidy.sh BUILD_DIR [REGEX] (BUILD_DIR/compile_commands.json needed)" >&2
    exit 2
}
command -v clang-tidy >/dev/null || {
    echo "tidy: clang-tidy is not installed" >&2
    exit 2
}
cache=${RSFWD_TIDY_CACHE:-$HOME/.cache/rsfwd-tidy}
mkdir -p "$cache"
jobs=${RSFWD_TIDY_JOBS:-$(nproc)}

/usr/bin/python3 - "$top" "$build" "$regex" "$cache" "$jobs" <<'PY'
import concurrent.futures, hashlib, json, os, re, shlex, subprocess, sys

top, build, regex, cache, jobs = sys.argv[1:6]
entries = json.load(open(os.path.join(build, "compile_commands.json")))
pat = re.compile(regex)
tidy_cfg = open(os.path.join(top, ".clang-tidy"), "rb").read()
version = subprocess.run(["clang-tidy", "--version"], capture_output=True).stdout
ansi = re.compile(r"\x1b\[[0-9;]*m")

def unit(e):
    src = os.path.normpath(os.path.join(e["directory"], e["file"]))
    return src, e

units = {}
for e in entries:
    src, e = unit(e)
    if pat.match(src) and src not in units:
        units[src] = e

def key(src, e):
    args = shlex.split(e["command"]) if "command" in e else list(e["arguments"])
    if args and os.path.basename(args[0]) == "ccache":
        args = args[1:]
    out = []
    skip = False
    for a in args:  # the same compile, preprocessed to stdout
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MQ", "-MT"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD"):
            continue
        out.append(a)
    # -C keeps comments: NOLINT lives in them, so a suppression added is a new key.
    pre = subprocess.run(out + ["-E", "-P", "-C", "-o", "-"], cwd=e["directory"],
                         capture_output=True)
    # Keys do not depend on where the checkout lives (CI clones to another folder).
    rel = lambda b: b.replace(top.encode(), b"@TOP@")
    h = hashlib.sha256()
    for part in (version, tidy_cfg, rel(" ".join(out).encode()), rel(src.encode()),
                 rel(pre.stdout)):
        h.update(part)
        h.update(b"\0")
    return h.hexdigest()

def findings(src, e):
    k = key(src, e)
    path = os.path.join(cache, k)
    if os.path.exists(path):
        return src, open(path).read(), True
    r = subprocess.run(["clang-tidy", "-p", build, "-quiet", src], capture_output=True, text=True)
    text = ansi.sub("", r.stdout + r.stderr)
    lines = sorted({l for l in text.splitlines()
                    if re.match(r"^\S*" + re.escape(top) + r"/.*: (warning|error):", l)})
    res = "\n".join(lines) + ("\n" if lines else "")
    # Cached whatever the exit status: clang-tidy also exits non-zero for clang errors in
    # system headers (the GCC-built DPDK headers), which are not findings in our files.
    if r.returncode >= 0:  # killed by a signal: not cached
        with open(path + ".tmp", "w") as f:
            f.write(res)
        os.replace(path + ".tmp", path)
    return src, res, False

found = set()
hits = 0
with concurrent.futures.ThreadPoolExecutor(max_workers=int(jobs)) as ex:
    for src, res, hit in ex.map(lambda kv: findings(*kv), units.items()):
        hits += hit
        found.update(l for l in res.splitlines() if l)
for l in sorted(found):
    print("  " + l)
print("tidy: %d files (%d from the cache), %d findings" % (len(units), hits, len(found)))
sys.exit(1 if found else 0)
PY
