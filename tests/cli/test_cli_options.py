"""`--in-memory-limit` (and its old name), and the CLI's modules staying small."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pocketsr.engine import cli, cli_upscale
from pocketsr.engine.imageio import read_image, write_image

ENGINE = Path(cli.__file__).resolve().parent


def _parse(*args: str):
    return cli.build_parser().parse_args(["upscale", "in.png", *args])


@pytest.fixture
def on_disk_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The targets that were built in a file on disk (the real code still runs)."""
    calls: list[Path] = []
    real = cli_upscale._upscale_on_disk

    def spy(upscaler, pixels, shape, loaded, job, *rest):  # type: ignore[no-untyped-def]
        calls.append(job.target)
        return real(upscaler, pixels, shape, loaded, job, *rest)

    monkeypatch.setattr(cli_upscale, "_upscale_on_disk", spy)
    return calls


def test_the_limit_decides_memory_or_disk(
    tmp_path: Path, sr_model_x2: Path, on_disk_calls: list[Path]
) -> None:
    src = tmp_path / "in.png"
    write_image(src, np.zeros((8, 8, 3), np.uint8))
    base = ("upscale", str(src), "--model", str(sr_model_x2), "-q", "-o")
    assert cli.main([*base, str(tmp_path / "mem.png")]) == 0
    assert on_disk_calls == []
    assert cli.main([*base, str(tmp_path / "disk.png"), "--in-memory-limit", "0"]) == 0
    assert on_disk_calls == [tmp_path / "disk.png"]
    assert read_image(tmp_path / "disk.png").pixels.shape == (16, 16, 3)


def test_the_old_name_still_works_with_a_note(
    tmp_path: Path,
    sr_model_x2: Path,
    on_disk_calls: list[Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _parse("--memory-budget", "5").in_memory_limit_mb == 5
    src = tmp_path / "in.png"
    write_image(src, np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "out.png"
    args = ["upscale", str(src), "-o", str(out), "--model", str(sr_model_x2), "-q"]
    assert cli.main([*args, "--memory-budget", "0"]) == 0
    assert on_disk_calls == [out]
    assert "--memory-budget is now called --in-memory-limit" in capsys.readouterr().err


def test_help_names_the_new_option_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["upscale", "--help"])
    text = capsys.readouterr().out
    assert "--in-memory-limit" in text and "on disk" in text
    assert "--memory-budget" not in text


def test_the_default_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POCKETSR_IN_MEMORY_LIMIT_MB", raising=False)
    monkeypatch.delenv("POCKETSR_MEMORY_MB", raising=False)
    assert _parse().in_memory_limit_mb == 1024
    monkeypatch.setenv("POCKETSR_MEMORY_MB", "5")  # the old variable is still read
    assert _parse().in_memory_limit_mb == 5
    monkeypatch.setenv("POCKETSR_IN_MEMORY_LIMIT_MB", "7")
    assert _parse().in_memory_limit_mb == 7
    assert _parse("--in-memory-limit", "9").in_memory_limit_mb == 9


@pytest.mark.parametrize("path", sorted(ENGINE.glob("cli*.py")), ids=lambda p: p.name)
def test_every_cli_module_stays_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{path.name} has {lines} lines; split it by job"


# --- the artist's controls: --strength, --alpha-mode, --seamless ------------------------------
def _sprite(tmp_path: Path) -> Path:
    rgba = np.zeros((20, 24, 4), np.uint8)
    rgba[3:17, 5:19] = (210, 120, 30, 255)
    return write_image(tmp_path / "sprite.png", rgba)


def test_controls_reach_the_engine_and_their_outputs_equal_its_own(tmp_path: Path) -> None:
    from pocketsr.engine import Upscaler

    src = _sprite(tmp_path)
    out = tmp_path / "out.png"
    args = ["--strength", "0.4", "--alpha-mode", "model", "--seamless"]
    assert cli.main(["upscale", str(src), "-o", str(out), "-q", *args]) == 0
    pixels = read_image(src).pixels
    options = {"strength": 0.4, "alpha_mode": "model", "seamless": True}
    expected = Upscaler(device="cpu").upscale(pixels, **options)
    assert np.array_equal(read_image(out).pixels, expected)


@pytest.mark.parametrize(
    ("extra", "sentence"),
    [
        (["--strength", "1.5"], "from 0 (fidelity) to 1 (detail)"),
        (["--alpha-mode", "sharp"], "invalid choice: 'sharp'"),
    ],
)
def test_bad_controls_are_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], sentence: str
) -> None:
    src = _sprite(tmp_path)
    out = tmp_path / "out.png"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["upscale", str(src), "-o", str(out), "-q", *extra])
    assert exit_info.value.code == 2 and sentence in capsys.readouterr().err
    assert not out.exists()


def test_strength_on_a_model_without_partner_is_a_usage_error(
    tmp_path: Path, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _sprite(tmp_path)
    out = tmp_path / "out.png"
    argv = ["upscale", str(src), "-o", str(out), "-q", "--model", str(sr_model_x2)]
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--strength", "0.5"])
    assert exit_info.value.code == 2 and "has no strength control" in capsys.readouterr().err
    assert not out.exists()
