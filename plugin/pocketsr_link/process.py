# -*- coding: utf-8 -*-
"""The worker process from the host's side: starting it, how it ended, what it left behind."""

from __future__ import absolute_import

import errno
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

try:
    import queue
except ImportError:  # Python 2
    import Queue as queue  # noqa: N813

from .paths import STDERR_LOG_NAME

def tail_lines(path, n):
    """The last n lines of a text file ([] when it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024 - 200 * n))
            data = f.read()
    except (IOError, OSError):
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[-n:] if n > 0 else []


def _signal_name(num):
    """SIGKILL for 9, etc."""
    for name in dir(signal):
        if name.startswith("SIG") and not name.startswith("SIG_") and getattr(signal, name) == num:
            return name
    return "signal %d" % num


def describe_exit(returncode):
    """A sentence fragment for how a process ended."""
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        sig = -returncode
        name = _signal_name(sig)
        why = {
            getattr(signal, "SIGKILL", -1):
                " (killed, for example by the system when memory ran out)",
            getattr(signal, "SIGSEGV", -1): " (a crash in native code)",
            getattr(signal, "SIGABRT", -1): " (aborted by native code)",
            getattr(signal, "SIGBUS", -1): " (a crash in native code)",
            getattr(signal, "SIGTERM", -1): " (terminated)",
        }.get(sig, "")
        return "was killed by %s%s" % (name, why)
    if returncode == 0:
        return "exited unexpectedly"
    return "exited with code %d" % returncode


def _pid_alive(pid):
    """True when a process with this pid exists (POSIX)."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def remove_stale_transfer_dirs():
    """Delete transfer folders left by bridges whose process died (e.g. a killed GIMP plug-in)."""
    if sys.platform == "win32":
        return
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        parts = name.split("-")
        ours = len(parts) >= 3 and parts[0] == "pocketsr" and parts[1].isdigit()
        if ours and not _pid_alive(int(parts[1])):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


class Launcher(threading.Thread):
    """One long-lived thread that starts every worker.

    Linux's parent-death signal fires when the *thread* that forked the worker ends, so
    workers must not be started from a host's short-lived job threads.
    """

    _instance = None
    _guard = threading.Lock()

    def __init__(self):
        threading.Thread.__init__(self, name="pocketsr-bridge-launcher")
        self.daemon = True
        self.requests = queue.Queue()

    @classmethod
    def popen(cls, argv, **kwargs):
        """subprocess.Popen(argv, **kwargs), run on the launcher thread."""
        with cls._guard:
            if cls._instance is None or not cls._instance.is_alive():
                cls._instance = Launcher()
                cls._instance.start()
        reply = queue.Queue()
        cls._instance.requests.put((argv, kwargs, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value

    def run(self):
        while True:
            argv, kwargs, reply = self.requests.get()
            try:
                reply.put((True, subprocess.Popen(argv, **kwargs)))
            except Exception as exc:  # noqa: BLE001 - handed back to the caller's thread
                reply.put((False, exc))


class WorkerProcess(object):
    """One running worker: its pipes, its reader thread, its stderr file, and its end."""

    def __init__(self, argv, env, log_dir, reader_class):
        self.log_dir = log_dir
        self._stderr_offset = 0
        self._stderr_file = self._open_stderr_log()
        kwargs = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = 0x08000000  # CREATE_NO_WINDOW
        else:
            kwargs["close_fds"] = True
        self.proc = Launcher.popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr_file or open(os.devnull, "wb"),  # noqa: SIM115 - the child's
            bufsize=0, env=env, **kwargs)
        # Unbuffered views of the pipes; they live as long as the worker.
        self.stdin = io.open(self.proc.stdin.fileno(), "wb", buffering=0,  # noqa: SIM115
                             closefd=False)
        stdout = io.open(self.proc.stdout.fileno(), "rb", buffering=0,  # noqa: SIM115
                         closefd=False)
        self.reader = reader_class(stdout)
        self.reader.start()

    @property
    def pid(self):
        """The worker's process id."""
        return self.proc.pid

    def alive(self):
        """True while the process runs."""
        return self.proc.poll() is None

    def _open_stderr_log(self):
        """The file the worker's stderr goes to (faulthandler tracebacks land there)."""
        try:
            if not os.path.isdir(self.log_dir):
                os.makedirs(self.log_dir)
            path = os.path.join(self.log_dir, STDERR_LOG_NAME)
            if os.path.exists(path) and os.path.getsize(path) > (1 << 20):
                os.remove(path)
            f = open(path, "ab")  # noqa: SIM115 - the worker's stderr, closed by reap()
            f.seek(0, os.SEEK_END)
            self._stderr_offset = f.tell()
            return f
        except (IOError, OSError):
            return None

    def close_stdin(self):
        """Close our end of the worker's stdin (it exits on EOF)."""
        for f in (self.stdin, self.proc.stdin):
            try:
                if f is not None:
                    f.close()
            except (IOError, OSError):
                pass

    def wait_exit(self, timeout):
        """Wait up to timeout seconds for the process to exit; True if it did."""
        deadline = time.time() + timeout
        while self.proc.poll() is None:
            if time.time() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def kill(self):
        """Kill the worker now."""
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass

    def reap(self):
        """Wait for the (dying) worker, close its pipes and files."""
        self.close_stdin()
        if not self.wait_exit(5.0):
            self.kill()
            self.proc.wait()
        try:
            self.proc.stdout.close()
        except (IOError, OSError):
            pass
        self.reader.join(1.0)
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None

    def stderr_since_start(self, n=200):
        """The first n lines the (now dead) worker wrote to stderr."""
        path = os.path.join(self.log_dir, STDERR_LOG_NAME)
        try:
            with open(path, "rb") as f:
                f.seek(self._stderr_offset)
                data = f.read()
        except (IOError, OSError):
            return []
        return data.decode("utf-8", "replace").splitlines()[:n]
