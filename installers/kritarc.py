"""Turn Krita's plug-in switch ([python] enable_NAME=true) on and off, touching nothing else."""

from __future__ import annotations

SECTION = b"[python]"


class KritarcError(Exception):
    """kritarc cannot be understood, so it is left alone."""


def key_for(plugin: str) -> bytes:
    """The kritarc key that enables a pykrita plug-in."""
    return b"enable_" + plugin.encode("ascii")


def _body(line: bytes) -> bytes:
    """A line without its line ending."""
    return line.rstrip(b"\r\n")


def check(data: bytes, where: str = "kritarc") -> None:
    """Raise KritarcError unless `data` looks like a KDE config file."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KritarcError(f"{where} is not UTF-8 text (byte {exc.start})") from None
    if b"\0" in data:
        raise KritarcError(f"{where} contains NUL bytes; it does not look like a config file")
    for number, line in enumerate(data.splitlines(), 1):
        text = line.strip()
        if not text or text.startswith(b"#"):
            continue
        if text.startswith(b"["):
            if not text.endswith(b"]"):
                raise KritarcError(f"{where} line {number}: unclosed group header {_show(text)}")
        elif b"=" not in text:
            raise KritarcError(f"{where} line {number}: expected key=value, got {_show(text)}")


def _show(text: bytes) -> str:
    """A line for an error message."""
    return repr(text.decode("utf-8", "replace")[:60])


def _eol(data: bytes) -> bytes:
    """The file's line ending."""
    return b"\r\n" if b"\r\n" in data else b"\n"


def _section_span(lines: list[bytes]) -> tuple[int, int] | None:
    """(header index, end index) of the first [python] group."""
    for i, line in enumerate(lines):
        if line.strip() == SECTION:
            end = i + 1
            while end < len(lines) and not lines[end].lstrip().startswith(b"["):
                end += 1
            return i, end
    return None


def _key_index(lines: list[bytes], span: tuple[int, int], key: bytes) -> int | None:
    """The index of `key`'s line inside the section."""
    for i in range(span[0] + 1, span[1]):
        name, sep, _ = lines[i].partition(b"=")
        if sep and name.strip() == key:
            return i
    return None


def has_section(data: bytes | None) -> bool:
    """Whether kritarc already has a [python] group."""
    return bool(data) and _section_span(data.splitlines(keepends=True)) is not None


def current_value(data: bytes | None, key: bytes) -> bytes | None:
    """The value of `key` in [python], or None."""
    if not data:
        return None
    lines = data.splitlines(keepends=True)
    span = _section_span(lines)
    index = _key_index(lines, span, key) if span else None
    return None if index is None else _body(lines[index]).partition(b"=")[2].strip()


def enable(data: bytes | None, key: bytes) -> bytes:
    """kritarc with `key`=true in [python]; every other byte kept."""
    if not data:
        return SECTION + b"\n" + key + b"=true\n"
    check(data)
    eol = _eol(data)
    lines = data.splitlines(keepends=True)
    span = _section_span(lines)
    if span is None:
        tail = b"" if data.endswith((b"\n", b"\r")) else eol
        gap = b"" if data.endswith(eol + eol) or data.endswith(b"\n\n") else eol
        return data + tail + gap + SECTION + eol + key + b"=true" + eol
    index = _key_index(lines, span, key)
    if index is not None:
        body = _body(lines[index])
        ending = lines[index][len(body) :]
        lines[index] = body.partition(b"=")[0] + b"=true" + ending
        return b"".join(lines)
    last = span[0]
    for i in range(span[0] + 1, span[1]):
        if lines[i].strip():
            last = i
    if _body(lines[last]) == lines[last]:
        lines[last] += eol
    lines.insert(last + 1, key + b"=true" + eol)
    return b"".join(lines)


def disable(data: bytes, key: bytes, previous: bytes | None, added_section: bool) -> bytes:
    """Undo enable(): restore key's previous value or drop it (and a group we added)."""
    lines = data.splitlines(keepends=True)
    span = _section_span(lines)
    index = _key_index(lines, span, key) if span else None
    if span is None or index is None:
        return data
    if previous is not None:
        body = _body(lines[index])
        lines[index] = body.partition(b"=")[0] + b"=" + previous + lines[index][len(body) :]
        return b"".join(lines)
    del lines[index]
    span = (span[0], span[1] - 1)
    if added_section and not any(lines[i].strip() for i in range(span[0] + 1, span[1])):
        del lines[span[0]]  # the header we added; blank lines after it were not ours
        if span[0] > 0 and not lines[span[0] - 1].strip():
            del lines[span[0] - 1]
    return b"".join(lines)
