"""`ehr-bridge listen mllp` as a real process: binds, answers, stops cleanly on SIGINT."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from ehr_bridge.store import open_store
from tests.mllp.test_listener import Client, sample


def test_listen_mllp_process(db_url: str) -> None:
    env = {**os.environ, "EHR_BRIDGE_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ehr_bridge", "listen", "mllp", "--port", "0", "--db", db_url],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"listening for MLLP on 127\.0\.0\.1:(\d+)", line)
        assert m, line
        c = Client(int(m.group(1)))
        assert c.roundtrip(sample("ADT-00__nho.hl7", "X1"))["code"] == "AA"
        assert c.roundtrip(sample("MSG__broken_unknown_type.hl7", "X2"))["code"] == "AR"
        c.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "stopped: AA=1 AE=0 AR=1" in err
    assert open_store(db_url).counts().get("Patient") == 1
