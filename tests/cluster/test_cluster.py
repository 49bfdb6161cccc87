"""`pocketsr upscale --cluster` on a real local Ray (2 CPUs) started and stopped here."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from pocketsr.engine import cli, cluster
from pocketsr.engine.imageio import ImageMeta, read_image, write_image

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow
WORK_FILE = re.compile(r"^\.pocketsr-(\d+)(@[0-9a-f]{8})?-\w+\.(part|raw)$")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A real Ray on this machine with 2 CPUs, for the whole module."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _tree(root: Path, side: tuple[int, int]) -> Path:
    """12 images in three folders (grey, RGB, RGBA, 8 and 16 bit); d1/img5.png is corrupt."""
    rng = np.random.default_rng(5)
    shapes = [(), (3,), (4,)]
    for i in range(12):
        path = root / f"d{i % 3}" / f"img{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if i == 5:
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))  # a header and nothing after
            continue
        dtype = np.uint16 if i % 4 == 0 else np.uint8
        shape = (*side, *shapes[i % 3])
        write_image(path, rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype), ImageMeta())
    return root


@pytest.fixture
def slow_job(tmp_path: Path, onnx_models: ModuleType, models_dir: Path) -> tuple[Path, Path]:
    """A slower model and the 12-image tree at 240x200: long enough per file to interrupt."""
    model = onnx_models.make_sr_model(models_dir / "slow.onnx", 2, features=32, layers=4)
    return model, _tree(tmp_path / "in", (240, 200))


def _run(*args: str | Path) -> int:
    return cli.main(["upscale", *(str(a) for a in args)])


def _outputs(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def _work_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if WORK_FILE.match(p.name)]


def _report(folder: Path) -> dict:
    return json.loads((folder / "pocketsr-report.json").read_text())


def test_cluster_outputs_equal_the_local_cli_and_a_rerun_skips_them(
    tmp_path: Path, local_ray: None, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = _tree(tmp_path / "in", (20, 24))
    model = ("--model", sr_model_x2, "-q")
    assert _run(inputs, "--out-dir", tmp_path / "local", *model) == cli.EXIT_FAILED
    capsys.readouterr()
    out = tmp_path / "ray"
    assert _run(inputs, "--out-dir", out, "--cluster", "local", *model) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "img5.png" in err and "not a readable PNG" in err
    assert "11 upscaled, 0 skipped (already whole), 1 failed" in err
    expected = _outputs(tmp_path / "local")
    assert len(expected) == 11 and _outputs(out) == expected  # bit for bit, same names
    report = _report(out)
    assert (report["done"], report["skipped"], report["failed"]) == (11, 0, 1)
    assert report["actors"] == 2 and report["output_mp"] > 0
    failed = [f for f in report["files"] if f["status"] == "failed"]
    assert [Path(f["source"]).name for f in failed] == ["img5.png"]
    assert "not a readable PNG" in failed[0]["message"]

    # A rerun skips the 11 whole outputs (the corrupt input fails again) and changes nothing.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    assert _run(inputs, "--out-dir", out, "--cluster", "local", *model) == cli.EXIT_FAILED
    assert "0 upscaled, 11 skipped (already whole), 1 failed" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == stamps
    assert _report(out)["skipped"] == 11

    # An output cut short is redone without --overwrite; --overwrite redoes all of them.
    cut = out / "d0" / "img0_x2.png"
    cut.write_bytes(cut.read_bytes()[:100])
    assert _run(inputs, "--out-dir", out, "--cluster", "local", *model) == cli.EXIT_FAILED
    assert "1 upscaled, 10 skipped" in capsys.readouterr().err
    assert _outputs(out) == expected
    assert _run(inputs, "--out-dir", out, "--cluster", "local", "--overwrite", *model) == 1
    assert "11 upscaled, 0 skipped" in capsys.readouterr().err
    assert _outputs(out) == expected and not _work_files(out)


def test_options_reach_the_actors_and_model_checks_come_first(
    tmp_path: Path, local_ray: None, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every per-file option travels to the actors as parsed (here --seamless and --width),
    and the options the model decides are refused before any file, as locally."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(3):
        data = np.random.default_rng(i).integers(0, 256, (14, 18, 4), dtype=np.uint8)
        write_image(inputs / f"t{i}.png", data, ImageMeta())
    flags = ("--model", sr_model_x2, "--seamless", "--width", "30", "-q")
    assert _run(inputs, "--out-dir", tmp_path / "local", *flags) == cli.EXIT_OK
    assert _run(inputs, "--out-dir", tmp_path / "ray", *flags, "--cluster", "local") == 0
    expected = _outputs(tmp_path / "local")
    assert len(expected) == 3 and _outputs(tmp_path / "ray") == expected
    plain = tmp_path / "plain"
    assert _run(inputs, "--out-dir", plain, "--model", sr_model_x2, "--width", "30", "-q") == 0
    assert _outputs(plain) != expected  # --seamless did change the pixels
    capsys.readouterr()
    bad = ("--model", sr_model_x2, "--scale", "9", "--cluster", "local")
    with pytest.raises(SystemExit) as done:
        _run(inputs, "--out-dir", tmp_path / "bad", *bad)
    assert done.value.code == cli.EXIT_USAGE
    assert "scale 9.0 is out of range" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


class _Killer(threading.Thread):
    """SIGKILLs the first Ray worker seen with a working file (mid-image) under `folder`."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.killed: list[tuple[int, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and not self.killed:
            for path in _work_files(self.folder) if self.folder.exists() else []:
                pid = int(WORK_FILE.match(path.name).group(1))
                try:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if title.startswith(b"ray::"):  # only a Ray worker of this test's cluster
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append((pid, path.name))
                    return
            time.sleep(0.002)


@pytest.mark.skipif(sys.platform != "linux", reason="finds the worker through /proc")
def test_a_worker_killed_mid_image_leaves_whole_outputs_and_no_work_files(
    tmp_path: Path,
    local_ray: None,
    slow_job: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Built on disk (--in-memory-limit 0): each output's working file lives the whole
    # upscale, so the kill lands mid-image.
    model, inputs = slow_job
    flags = ("--model", model, "--in-memory-limit", "0", "-q")
    out = tmp_path / "ray"
    killer = _Killer(out)
    killer.start()
    try:
        code = _run(inputs, "--out-dir", out, "--cluster", "local", *flags)
    finally:
        killer.stop.set()
        killer.join()
    assert killer.killed, "no worker was caught mid-image"
    assert code == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "11 upscaled, 0 skipped (already whole), 1 failed" in err
    assert "its Ray worker died; trying it again." in err
    report = _report(out)
    assert report["retries"] >= 1 and report["done"] == 11
    assert not _work_files(out), "a working file was left"
    assert _run(inputs, "--out-dir", tmp_path / "local", *flags) == cli.EXIT_FAILED
    expected = _outputs(tmp_path / "local")
    got = _outputs(out)
    assert len(got) == 11 and got.keys() == expected.keys()
    for name in got:  # whole: each decodes to the local CLI's pixels
        local = read_image(tmp_path / "local" / name).pixels
        np.testing.assert_array_equal(read_image(out / name).pixels, local)


def test_a_cancelled_run_reports_what_it_did_and_a_rerun_finishes(
    tmp_path: Path,
    local_ray: None,
    slow_job: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C once the first output is in: whole outputs only, a report, then a rerun."""
    model, inputs = slow_job
    flags = ("--model", model, "--actors", "1", "-q")
    out = tmp_path / "ray"

    def interrupt_after_first_output() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(out.rglob("*_x2.png")):
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: the CLI's handler cancels the run

    thread = threading.Thread(target=interrupt_after_first_output)
    thread.start()
    try:
        code = _run(inputs, "--out-dir", out, "--cluster", "local", *flags)
    finally:
        thread.join()
    assert code == cli.EXIT_CANCELLED
    err = capsys.readouterr().err
    assert "cancelled; the files in progress were abandoned" in err
    report = _report(out)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*_x2.png"))
    assert report["cancelled"] is True and 1 <= report["done"] == len(written) < 11
    assert report["done"] + report["failed"] + report["not_done"] == 12
    assert {f["status"] for f in report["files"]} <= {"done", "failed", "cancelled"}
    assert not _work_files(out), "a working file was left"
    assert _run(inputs, "--out-dir", out, "--cluster", "local", *flags) == cli.EXIT_FAILED
    rerun = _report(out)
    assert rerun["skipped"] == len(written) and rerun["done"] == 11 - len(written)
    assert not rerun["cancelled"]


def test_cluster_local_starts_and_stops_its_own_ray(tmp_path: Path, sr_model_x2: Path) -> None:
    """The command as users run it: `--cluster local` starts Ray here and stops it after."""
    (tmp_path / "in").mkdir()
    for i in range(2):
        data = np.full((12, 10, 3), 40 * i, np.uint8)
        write_image(tmp_path / "in" / f"a{i}.png", data, ImageMeta())
    command = [sys.executable, "-m", "pocketsr.engine.cli", "upscale", str(tmp_path / "in")]
    command += ["--out-dir", str(tmp_path / "out"), "--model", str(sr_model_x2)]
    command += ["--cluster", "local", "--actors", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 upscaled, 0 skipped (already whole), 0 failed" in done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a0_x2.png",
        "a1_x2.png",
        "pocketsr-report.json",
    ]
    assert _report(tmp_path / "out")["actors"] == 1


def test_without_ray_cluster_says_how_to_install_it(
    tmp_path: Path,
    sr_model_x2: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    assert cluster.import_ray() is None
    src = tmp_path / "a.png"
    write_image(src, np.zeros((8, 8, 3), np.uint8), ImageMeta())
    assert _run(src, "--model", sr_model_x2, "--cluster", "local") == cli.EXIT_SETUP
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["pocketsr: " + cluster.INSTALL_HINT]
    assert "pip install 'pocketsr[cluster]'" in cluster.INSTALL_HINT
    assert not (tmp_path / "a_x2.png").exists()
