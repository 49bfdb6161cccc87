# -*- coding: utf-8 -*-
"""The bridge's reader thread: frames from the worker's stdout into a queue."""

from __future__ import absolute_import

import threading
import time

try:
    import queue
except ImportError:  # Python 2
    import Queue as queue  # noqa: N813

from .errors import ProtocolError
from .frames import FrameError, parse_header, parse_prefix
from .wire import PREFIX

# The bridge's sentences for each way a worker's frame can be malformed.
_SENTENCES = {
    "sizes": "The engine worker sent a frame with impossible sizes.",
    "json": "The engine worker sent a frame header that is not JSON.",
    "type": "The engine worker sent a frame header without a type.",
}


class FrameReader(threading.Thread):
    """Reads frames from the worker's stdout into a queue, so waits can time out and poll.

    Queue items: ("frame", header, payload), ("eof", None, None) or ("error", exc, None).
    """

    def __init__(self, stream):
        threading.Thread.__init__(self, name="pocketsr-bridge-reader")
        self.daemon = True
        self.stream = stream
        self.frames = queue.Queue()
        # Set while a frame is half read: a worker stuck mid-frame is a protocol error.
        self.partial_since = None

    def _read_exact(self, n, what, first=False):
        """n bytes, or a ProtocolError if the stream ends inside the frame."""
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            count = self.stream.readinto(view[got:])
            if not count:
                if first and got == 0:
                    return None
                raise ProtocolError(
                    "The engine worker's output ended inside a frame %s (%d of %d bytes)."
                    % (what, got, n))
            if self.partial_since is None:
                self.partial_since = time.time()
            got += count
        return buf

    def _read_frame(self):
        """One (header, payload), or None at the end of the stream."""
        self.partial_since = None
        prefix = self._read_exact(PREFIX.size, "prefix", first=True)
        if prefix is None:
            return None
        try:
            header_len, payload_len = parse_prefix(prefix)
            header = parse_header(self._read_exact(header_len, "header"))
        except FrameError as exc:
            if exc.kind == "magic":
                raise ProtocolError(
                    "The engine worker printed something that is not a PocketSR frame "
                    "(%r); is the configured Python really the engine's?" % bytes(prefix))
            raise ProtocolError(_SENTENCES.get(exc.kind, str(exc)))
        payload = self._read_exact(payload_len, "payload") if payload_len else b""
        self.partial_since = None
        return header, payload

    def run(self):
        try:
            while True:
                frame = self._read_frame()
                if frame is None:
                    self.frames.put(("eof", None, None))
                    return
                self.frames.put(("frame", frame[0], frame[1]))
        except ProtocolError as exc:
            self.frames.put(("error", exc, None))
        except (IOError, OSError, ValueError) as exc:
            self.frames.put(("error", ProtocolError("Reading from the engine worker failed: %s"
                                                    % exc), None))
