"""tests/dataplane/testlib.py — what the script tests here share: the meson skip code and the
ok/FAIL reporting (a failed check prints why and exits 1)."""

import sys

SKIP = 77  # meson: the test could not run here (no root, no hugepages, no peer program)


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)
