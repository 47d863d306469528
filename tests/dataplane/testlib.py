"""tests/dataplane/testlib.py — what the script tests here share: the meson skip code, the
ok/FAIL reporting (a failed check prints why and exits 1) and waiting for a log line."""

import sys
import time

SKIP = 77  # meson: the test could not run here (no root, no hugepages, no peer program)


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)


def wait_for(path, text, deadline, proc):
    """True once `text` appears in the file at `path`; False when the monotonic `deadline`
    passes or `proc` exits first."""
    while time.monotonic() < deadline:
        try:
            if text in open(path).read():
                return True
        except OSError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False
