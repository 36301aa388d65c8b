"""The Lava process supervisor: every Lava run happens in a child process, under a time limit,
and leaves nothing behind, whatever happens to it.

A worker (``python -m MODULE REQUEST.json``, e.g. :mod:`ff_neuro.run.lava.worker`) runs in its
own process group with its own temporary folder (``TMPDIR`` inside the run's work folder, or a
short folder under ``/tmp`` when that path is too long for the Unix sockets that Python's
multiprocessing, which Lava uses, creates in its ``pymp-*`` folders):

* the worker always calls ``stop()`` (in ``finally``);
* a run that hangs (a ProcessModel that raises can block ``run()`` forever) or exceeds its time
  limit is killed, the whole process group at once;
* after any end, normal or not (the worker killed, Ctrl-C or SIGTERM in the parent, a time
  limit, a failing model), the parent kills what is left of the group, unlinks the
  shared-memory segments the group used (Lava's ``/dev/shm/psm_*``, tracked while it runs) and
  removes the work folder;
* the worker watches its parent and its own deadline (:func:`start_watchdog`): if the parent
  dies (even by ``kill -9``) or the deadline passes, it unlinks its group's segments, removes
  the work folder and kills its group, itself included.

Errors are one line (:class:`LavaRunError`, :class:`LavaTimeoutError`): what failed and what to
do, and where the details are. The details (the child's traceback, the failing ProcessModel's
traceback, every process's stack for a hung run, the last output) go to a log file under
:func:`log_dir` and to the exception's ``details``.

Nothing here imports Lava: the parent only starts, watches and cleans up after the child.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence, Set

SHM_DIR = Path("/dev/shm")
#: how often the parent records the shared memory its worker's group uses
SCAN_EVERY_S = 0.25
#: the worker kills its own group this long after the parent's time limit (a backstop)
WORKER_DEADLINE_GRACE_S = 20.0


class LavaRunError(RuntimeError):
    """A Lava run failed. ``str()`` is one line; ``details`` holds the child's traceback and
    output, also written to ``log_path``. ``pgid`` is the run's process group, all of which was
    killed (and its shared memory released) before this was raised."""

    def __init__(self, message: str, details: str = "", log_path: Optional[Path] = None):
        super().__init__(message)
        self.details = details
        self.log_path = log_path
        self.pgid: Optional[int] = None


class LavaTimeoutError(LavaRunError):
    """A Lava run exceeded its time limit and was killed."""


def log_dir() -> Path:
    """Where failed runs leave their details: ``$FF_NEURO_LOG_DIR``, else
    ``~/.cache/ff-neuro/logs``."""
    return Path(os.environ.get("FF_NEURO_LOG_DIR")
                or Path.home() / ".cache" / "ff-neuro" / "logs")


def _write_log(what: str, details: str) -> Optional[Path]:
    try:
        d = log_dir()
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"lava-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        path.write_text(f"{what}\n\n{details}\n")
        return path
    except OSError:
        return None


def check_timeout(timeout_s) -> float:
    """``timeout_s`` as a positive finite number of seconds, else a ValueError."""
    try:
        t = float(timeout_s)
    except (TypeError, ValueError):
        t = float("nan")
    if not (math.isfinite(t) and t > 0):
        raise ValueError(f"the Lava time limit must be a positive number of seconds, got "
                         f"{timeout_s!r}")
    return t


# -- processes and shared memory -----------------------------------------------------------
def group_pids(pgid: int) -> Set[int]:
    """Live processes of process group ``pgid``."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    with open(f"/proc/{entry}/stat") as fh:
                        if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                            out.add(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


def shm_used_by(pids: Iterable[int]) -> Set[str]:
    """Shared-memory files that processes ``pids`` map or hold open."""
    names = set()
    prefix = str(SHM_DIR) + "/"
    for pid in pids:
        try:
            with open(f"/proc/{pid}/maps") as fh:
                for line in fh:
                    i = line.find(prefix)
                    if i >= 0:
                        names.add(line[i:].split(" (deleted)")[0].strip())
        except OSError:
            pass
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith(prefix):
                    names.add(target.split(" (deleted)")[0])
        except OSError:
            pass
    return names


def _all_pids() -> Set[int]:
    return {int(e) for e in os.listdir("/proc") if e.isdigit()}


def _shm_files() -> Set[str]:
    try:
        return {str(SHM_DIR / n) for n in os.listdir(SHM_DIR)}
    except OSError:
        return set()


def kill_group(pgid: int, wait_s: float = 5.0) -> None:
    """SIGKILL every process of group ``pgid`` and wait (up to ``wait_s``) until none is left."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    end = time.monotonic() + wait_s
    while group_pids(pgid) and time.monotonic() < end:
        time.sleep(0.02)


def unlink_all(paths: Iterable[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


class ShmTracker:
    """Records the shared-memory segments a process group uses while it runs, so that they can
    be released after the group dies, however it died. Segments that appeared during the run
    and that no live process uses any more are released too (a segment created in the last
    moment before a kill, before the next scan)."""

    def __init__(self, pgid: int):
        self.pgid = pgid
        self.before = _shm_files()
        self.used: Set[str] = set()
        self._last = 0.0

    def scan(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= SCAN_EVERY_S:
            self._last = now
            self.used |= shm_used_by(group_pids(self.pgid))

    def release(self) -> None:
        """Unlink the group's segments (call once the group is dead)."""
        new = _shm_files() - self.before
        orphans = new - shm_used_by(_all_pids()) if new else set()
        unlink_all((self.used | orphans) & _shm_files())


# -- the worker side -------------------------------------------------------------------------
def start_watchdog(parent_pid: int, deadline: float, cleanup_dirs: Iterable[str]) -> None:
    """In a worker: a thread that, when the parent dies or ``deadline`` (``time.time()``) passes,
    releases the group's shared memory, removes ``cleanup_dirs`` and kills the group (the worker
    included). Lava forks its processes from the worker after this; they do not inherit the
    thread."""
    cleanup_dirs = list(cleanup_dirs or ())

    def watch() -> None:
        while True:
            time.sleep(0.2)
            orphaned = os.getppid() != parent_pid
            if orphaned or time.time() > deadline:
                pgid = os.getpgrp()
                pids = group_pids(pgid)
                shm = shm_used_by(pids)
                for pid in pids - {os.getpid()}:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                unlink_all(shm)
                if orphaned:
                    for d in cleanup_dirs:
                        shutil.rmtree(d, ignore_errors=True)
                os.killpg(pgid, signal.SIGKILL)

    threading.Thread(target=watch, name="ff-neuro-watchdog", daemon=True).start()


# -- the parent side -------------------------------------------------------------------------
def _dump_stacks(pgid: int, wait_s: float = 1.0) -> None:
    """Ask every process of a hung run to print its Python stack (the worker registers
    ``faulthandler`` on SIGUSR1), then give them a moment to write it."""
    try:
        os.killpg(pgid, signal.SIGUSR1)
    except (ProcessLookupError, PermissionError):
        return
    time.sleep(wait_s)


def _read_result(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _tail(path: Path, n_chars: int = 6000) -> str:
    try:
        return path.read_text(errors="replace")[-n_chars:]
    except OSError:
        return ""


def _details(result: dict, log_tail: str) -> str:
    parts = []
    for tb in result.get("model_tracebacks", []):
        parts.append("ProcessModel traceback (from Lava's child process):\n" + tb.rstrip())
    if result.get("traceback"):
        parts.append("Worker traceback:\n" + result["traceback"].rstrip())
    if log_tail:
        parts.append("Last output of the Lava processes:\n" + log_tail.rstrip())
    return "\n\n".join(parts)


class Terminated(SystemExit):
    """SIGTERM while supervising a run: unwinds through the clean-up, then exits."""


#: longest TMPDIR for a worker: multiprocessing adds ``/pymp-XXXXXXXX/listener-XXXXXXXX`` (34
#: characters) for a Unix socket, whose path may not exceed 107 bytes
MAX_TMPDIR = 70


def worker_tmpdir(work: Path) -> Path:
    """The worker's temporary folder: ``work/tmp``, or a new short folder under ``/tmp`` when
    that path is too long for a Unix socket."""
    tmp = work / "tmp"
    if len(os.fsencode(str(tmp.resolve()))) <= MAX_TMPDIR:
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp
    base = "/tmp" if os.access("/tmp", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="ffn-", dir=base))


def _on_sigterm(signum, frame):
    raise Terminated(128 + signum)


def run_worker(module: str, work: Path, request: dict, *, what: str, timeout_s: float,
               stop_grace_s: float = 10.0, cleanup: Sequence[str] = ()) -> dict:
    """Run ``python -m module work/request.json`` as a Lava worker and return its result dict.

    ``work`` is the run's folder (the caller removes it): the worker's ``TMPDIR`` is inside it,
    and the worker removes the whole folder itself if the caller dies. The worker runs in its own
    process
    group under ``timeout_s``; it is also killed ``stop_grace_s`` after reporting a failed run
    (Lava's ``stop()`` hangs after a failure). Failures raise :class:`LavaRunError` /
    :class:`LavaTimeoutError` with a one-line message.
    """
    timeout_s = check_timeout(timeout_s)
    work = Path(work)
    tmp = worker_tmpdir(work)
    result_path = work / "result.json"
    request = {**request, "result": str(result_path), "parent_pid": os.getpid(),
               "deadline": time.time() + timeout_s + stop_grace_s + WORKER_DEADLINE_GRACE_S,
               "cleanup_dirs": [str(work), str(tmp)] + [str(d) for d in cleanup]}
    (work / "request.json").write_text(json.dumps(request))
    log_path = work / "worker.log"
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = tracker = None
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, str(work / "request.json")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env=env)
        tracker = ShmTracker(proc.pid)
        deadline = time.monotonic() + timeout_s
        failed_at = None
        rc = None
        while True:
            tracker.scan()
            rc = proc.poll()
            if rc is not None:
                break
            now = time.monotonic()
            if now > deadline:
                break
            if failed_at is None:
                res = _read_result(result_path)
                if res.get("phase") == "stopping" and not res.get("ok"):
                    failed_at = now
            elif now - failed_at > stop_grace_s:
                break
            time.sleep(0.05)
        if rc is None:                      # hung or too slow: stacks, then the group dies
            tracker.scan(force=True)
            _dump_stacks(proc.pid)
            kill_group(proc.pid)
            proc.wait()
            partial = _read_result(result_path)
            details = _details(partial, _tail(log_path))
            if partial.get("error"):
                raise _error(LavaRunError, f"Lava run ({what}) failed: {partial['error']}; "
                             "Lava then hung in stop() and was killed", details, proc)
            raise _error(LavaTimeoutError,
                         f"Lava run ({what}) did not finish within {timeout_s:g} s and was "
                         "stopped; raise the time limit (--timeout) or run fewer samples",
                         details, proc)
        result = _read_result(result_path)
        if rc != 0 or not result.get("ok"):
            why = result.get("error") or (f"the worker was killed (signal {-rc})" if rc < 0
                                          else f"the worker exited with code {rc}")
            raise _error(LavaRunError, f"Lava run ({what}) failed: {why}",
                         _details(result, _tail(log_path)), proc)
        return result
    finally:
        if proc is not None:
            kill_group(proc.pid)            # no Lava process may outlive the run
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            tracker.release()
        shutil.rmtree(tmp, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _error(cls, message: str, details: str, proc) -> LavaRunError:
    path = _write_log(message, details)
    exc = cls(message + (f" (details: {path})" if path else ""), details, path)
    exc.pgid = proc.pid
    return exc
