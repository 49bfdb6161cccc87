"""The bridge's failure paths that need no model: config, garbage, hangs, version mismatch."""

from __future__ import annotations

import json
import sys
import time

import pytest
from bridge_testutil import fake_python, python_script_as_interpreter, wait_gone

from pocketsr.engine import protocol
from pocketsr.plugin import bridge

# A fake worker: answers hello like the real one, then misbehaves as argv asks.
FAKE_WORKER = """
import sys, time
from pocketsr.engine import protocol
inp, out = sys.stdin.buffer, sys.stdout.buffer
hello = protocol.read_frame(inp)
protocol.write_frame(out, {"type": "hello", "id": hello.header["id"],
                           "protocol": PROTO, "engine_version": "9.9.9"})
request = protocol.read_frame(inp)
out.write(b"Traceback (most recent call last): oops\\n")
out.flush()
time.sleep(30)
"""


def test_missing_interpreter_names_the_path(make_bridge):
    b = make_bridge(python="/nonexistent/engine/bin/python")
    with pytest.raises(bridge.ConfigError, match="/nonexistent/engine/bin/python") as info:
        b.info()
    assert info.value.code == "config"


def test_no_interpreter_configured(make_bridge, monkeypatch, tmp_path):
    monkeypatch.delenv("POCKETSR_PYTHON", raising=False)
    monkeypatch.setenv("POCKETSR_CONFIG", str(tmp_path / "absent.json"))
    b = make_bridge(python=None, config=None)
    with pytest.raises(bridge.ConfigError, match="installer"):
        b.info()


def test_config_file_and_env_override(monkeypatch, tmp_path):
    cfg = tmp_path / "plugin.json"
    cfg.write_text(json.dumps({"python": "/from/config", "log_dir": str(tmp_path / "l")}))
    monkeypatch.setenv("POCKETSR_CONFIG", str(cfg))
    monkeypatch.delenv("POCKETSR_PYTHON", raising=False)
    b = bridge.connect()
    assert isinstance(b, bridge.Bridge)
    assert b.python == "/from/config" and b.log_path == str(tmp_path / "l" / "worker.log")
    monkeypatch.setenv("POCKETSR_PYTHON", "/from/env")
    assert bridge.connect().python == "/from/env"
    cfg.write_text("{not json")
    with pytest.raises(bridge.ConfigError, match="cannot be read"):
        bridge.connect()


def test_interpreter_printing_garbage_is_a_protocol_error(make_bridge, tmp_path):
    python = fake_python(tmp_path, "echo 'Python 3.99 welcome banner'; exec sleep 30")
    b = make_bridge(python=python, start_timeout=20)
    start = time.monotonic()
    with pytest.raises(bridge.ProtocolError, match="not a PocketSR frame"):
        b.info()
    assert time.monotonic() - start < 5
    assert b.worker_pid is None


def test_truncated_frame_times_out_as_protocol_error(make_bridge, tmp_path):
    python = fake_python(tmp_path, "printf 'PSRF\\000\\000'; exec sleep 30")
    b = make_bridge(python=python, start_timeout=20, frame_timeout=1.0)
    start = time.monotonic()
    with pytest.raises(bridge.ProtocolError, match="incomplete frame"):
        b.info()
    assert time.monotonic() - start < 5


def test_silent_interpreter_times_out(make_bridge, tmp_path):
    b = make_bridge(python=fake_python(tmp_path, "exec sleep 30"), start_timeout=1.0)
    with pytest.raises(bridge.WorkerTimeoutError, match="did not start within 1 s"):
        b.info()


def test_interpreter_that_exits_is_reported_with_its_code(make_bridge, tmp_path):
    b = make_bridge(python=fake_python(tmp_path, "echo 'no module named pocketsr' >&2; exit 3"))
    with pytest.raises(bridge.WorkerCrashedError, match="exited with code 3") as info:
        b.info()
    assert info.value.returncode == 3
    assert "no module named pocketsr" in "\n".join(b.last_log_lines(10))


def test_garbage_in_the_middle_of_a_job(make_bridge, tmp_path):
    script = FAKE_WORKER.replace("PROTO", str(protocol.PROTOCOL_VERSION))
    b = make_bridge(python=python_script_as_interpreter(tmp_path, script))
    start = time.monotonic()
    with pytest.raises(bridge.ProtocolError):
        b.upscale(b"\0" * 12, 2, 2, 3, "uint8")
    assert time.monotonic() - start < 10
    assert b.worker_pid is None


def test_engine_speaking_another_protocol(make_bridge, tmp_path):
    script = FAKE_WORKER.replace("PROTO", str(protocol.PROTOCOL_VERSION + 1))
    b = make_bridge(python=python_script_as_interpreter(tmp_path, script))
    with pytest.raises(bridge.VersionMismatchError, match="needs a PocketSR engine") as info:
        b.info()
    assert "9.9.9" in str(info.value)


def test_plugin_speaking_another_protocol_is_refused_by_the_real_worker(make_bridge):
    class FutureBridge(bridge.Bridge):
        protocol_version = 99
        client_version = "7.0.0"

    b = make_bridge()
    b.__class__ = FutureBridge
    with pytest.raises(bridge.VersionMismatchError) as info:
        b.info()
    message = str(info.value)
    assert "plug-in 7.0.0 (protocol 99) needs a PocketSR engine speaking protocol 99" in message
    assert f"protocol {protocol.PROTOCOL_VERSION}" in message and sys.executable in message
    assert b.worker_pid is None


def test_real_worker_handshake(make_bridge):
    b = make_bridge()
    b._ensure_worker()
    info = b.worker_info
    assert info["protocol"] == protocol.PROTOCOL_VERSION
    assert info["log_path"] == b.log_path
    pid = b.worker_pid
    b.close()
    assert wait_gone(pid, 5)
