"""kritarc edits: our switch on and off, every other byte kept; bad files left alone."""

from __future__ import annotations

import sys

import pytest
from install_world import World, snapshot

from pocketsr.installers import cli, kritarc

KEY = b"enable_pocketsr_upscale"

ON = b"[python]\n" + KEY + b"=true\n"
CASES = {
    "missing section": (b"[General]\nfoo=bar\n", b"[General]\nfoo=bar\n\n" + ON),
    "no final newline": (b"[General]\nfoo=bar", b"[General]\nfoo=bar\n\n" + ON),
    "crlf": (
        b"[General]\r\nfoo=bar\r\n\r\n[python]\r\nenable_x=true\r\n\r\n[Z]\r\na=1\r\n",
        b"[General]\r\nfoo=bar\r\n\r\n[python]\r\nenable_x=true\r\n" + KEY + b"=true\r\n"
        b"\r\n[Z]\r\na=1\r\n",
    ),
    "key off": (b"[python]\n" + KEY + b"=false\nb=2\n", b"[python]\n" + KEY + b"=true\nb=2\n"),
    "section last, no newline": (
        b"# c\n[python]\nenable_x=true",
        b"# c\n[python]\nenable_x=true\n" + KEY + b"=true\n",
    ),
    "unicode and odd keys": (
        "[General]\nname=Zoë\nk[$e]=$HOME\n".encode(),
        "[General]\nname=Zoë\nk[$e]=$HOME\n\n[python]\n".encode() + KEY + b"=true\n",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_enable_keeps_other_bytes(case: str) -> None:
    before, after = CASES[case]
    assert kritarc.enable(before, KEY) == after
    assert kritarc.enable(after, KEY) == after


@pytest.mark.parametrize("case", CASES)
def test_disable_undoes_enable(case: str) -> None:
    before, after = CASES[case]
    previous = kritarc.current_value(before, KEY)
    undone = kritarc.disable(after, KEY, previous, not kritarc.has_section(before))
    if case in ("no final newline", "section last, no newline"):
        assert undone.rstrip(b"\n") == before.rstrip(b"\n")
    else:
        assert undone == before


def test_missing_file() -> None:
    assert kritarc.enable(None, KEY) == b"[python]\n" + KEY + b"=true\n"


@pytest.mark.parametrize(
    "bad", [b"[General\nfoo=bar\n", b"[General]\njust words\n", b"\xff\xfe[x]\n", b"[a]\n\0\n"]
)
def test_malformed_is_refused(bad: bytes) -> None:
    with pytest.raises(kritarc.KritarcError):
        kritarc.enable(bad, KEY)


def test_install_with_malformed_kritarc_changes_nothing(
    linux: World, capsys: pytest.CaptureFixture
) -> None:
    linux.make_profiles()
    linux.kritarc.parent.mkdir(parents=True, exist_ok=True)
    linux.kritarc.write_bytes(b"[General]\nthis line is broken\n")
    before = snapshot(linux.home)
    argv = ["--source", str(linux.source), "--engine-python", sys.executable]
    assert cli.install_main(argv) == 1
    out = capsys.readouterr().out
    assert str(linux.kritarc) in out and "line 2" in out and "nothing was" in out
    assert snapshot(linux.home) == before


def test_krita_rewrote_kritarc_meanwhile(linux: World) -> None:
    linux.make_profiles("krita")
    linux.kritarc.parent.mkdir(parents=True, exist_ok=True)
    linux.kritarc.write_bytes(b"[General]\nfoo=bar\n")
    argv = ["--source", str(linux.source), "--engine-python", sys.executable]
    assert cli.install_main(argv) == 0
    text = linux.kritarc.read_bytes() + b"\n[MainWindow]\nState=abc\n"  # Krita saved settings
    linux.kritarc.write_bytes(text)
    assert cli.uninstall_main([]) == 0
    assert linux.kritarc.read_bytes() == b"[General]\nfoo=bar\n\n[MainWindow]\nState=abc\n"
