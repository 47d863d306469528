"""tests/dataplane/testlib.py — what the script tests here share: the meson skip code, the
ok/FAIL reporting (a failed check prints why and exits 1), waiting for a log line, and the head
of their rsfwd configs (tests/xdp imports that head too)."""

import sys
import time

SKIP = 77  # meson: the test could not run here (no root, no hugepages, no peer program)

# A route server in a one-view VNet (10.1.0.0/16); the test appends its ports (and the rest).
HUB_CONFIG_HEAD = """\
route_server:
  name: ars
  instance_ips: [10.1.0.4, 10.1.0.5]
vnet:
  name: hub
  address_space: [10.1.0.0/16]
ports:
"""


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
