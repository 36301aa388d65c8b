"""The Lava process supervisor: every Lava run happens in a child process, under a time limit.

A worker (``python -m MODULE REQUEST.json``, e.g. :mod:`ff_neuro.run.lava.worker`) runs in its
own process group:

* the worker always calls ``stop()`` (in ``finally``);
* if the run hangs (a ProcessModel that raises can block ``run()`` forever) or exceeds the limit,
  the whole process group is killed, the shared-memory segments it mapped are removed, and
  :class:`LavaTimeoutError` reports the child's last output (which includes the runtime's log of
  the failing model's traceback);
* a failure inside the worker raises :class:`LavaRunError` with the child's traceback.

Nothing here imports Lava: the parent only starts, watches and cleans up after the child.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

SHM_DIR = Path("/dev/shm")


class LavaRunError(RuntimeError):
    """A Lava run failed; the message carries the child's error and traceback.

    ``pgid`` is the process group of the run, all of which was killed before this was raised.
    """

    pgid: Optional[int] = None


class LavaTimeoutError(LavaRunError):
    """A Lava run exceeded its time limit and was killed."""


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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


def _wait(proc: subprocess.Popen, result_path: Path, timeout_s: float,
          stop_grace_s: float) -> Optional[int]:
    """Wait for the worker; ``None`` if it must be killed: past ``timeout_s``, or still alive
    ``stop_grace_s`` after it reported a failed run (Lava's stop() hangs after a failure)."""
    deadline = time.monotonic() + timeout_s
    failed_at = None
    while True:
        rc = proc.poll()
        if rc is not None:
            return rc
        now = time.monotonic()
        if now > deadline:
            return None
        if failed_at is None:
            res = _read_result(result_path)
            if res.get("phase") == "stopping" and not res.get("ok"):
                failed_at = now
        elif now - failed_at > stop_grace_s:
            return None
        time.sleep(0.05)


def _failure_message(mode: str, result: dict, rc: Optional[int], log_tail: str = "") -> str:
    head = f"Lava run ({mode}) failed: {result.get('error', 'no result written')}"
    if rc is None:
        head += " (Lava then hung in stop(); its processes were killed)"
    elif rc != 0:
        head += f" (exit code {rc})"
    parts = [head]
    for tb in result.get("model_tracebacks", []):
        parts.append("ProcessModel traceback (from Lava's child process):\n" + tb.rstrip())
    if not result.get("model_tracebacks") and result.get("traceback"):
        parts.append(result["traceback"].rstrip())
    if log_tail:
        parts.append("Last output:\n" + log_tail)
    return "\n".join(parts)


def _group_shm(pgid: int) -> set:
    """Shared-memory files mapped by the processes of group ``pgid`` (read from
    ``/proc/<pid>/maps``): what a killed run would leak."""
    names = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != pgid:
                continue
            with open(f"/proc/{entry}/maps") as fh:
                for line in fh:
                    i = line.find(str(SHM_DIR) + "/")
                    if i >= 0:
                        names.add(line[i:].split(" (deleted)")[0].strip())
        except (OSError, ValueError):
            continue
    return names


def _tail(path: Path, n_chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n_chars:]
    except OSError:
        return ""


def run_worker(module: str, work: Path, request: dict, *, what: str, timeout_s: float,
               stop_grace_s: float = 10.0) -> dict:
    """Run ``python -m module work/request.json`` as a Lava worker and return its result dict.

    The worker runs in its own process group under ``timeout_s``; if it hangs (or is still
    alive ``stop_grace_s`` after reporting a failed run, when Lava's ``stop()`` hangs), every
    process of the group prints its stack and is killed, and the shared memory it mapped is
    released. Failures raise :class:`LavaRunError` / :class:`LavaTimeoutError` (with ``pgid``).
    """
    request = {**request, "result": str(work / "result.json")}
    (work / "request.json").write_text(json.dumps(request))
    log_path = work / "worker.log"
    proc = None
    leaked: set = set()
    try:
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, str(work / "request.json")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            rc = _wait(proc, work / "result.json", timeout_s, stop_grace_s)
            if rc is None:  # hung: collect stacks, kill the group, report
                _dump_stacks(proc.pid)
                leaked = _group_shm(proc.pid)
                _kill_group(proc.pid)
                proc.wait()
                partial = _read_result(work / "result.json")
                if partial.get("error"):
                    raise LavaRunError(_failure_message(what, partial, rc=None))
                raise LavaTimeoutError(
                    f"Lava run ({what}) did not finish within {timeout_s:.0f} s and was killed "
                    f"(a ProcessModel that raises makes Lava hang). Last output of the Lava "
                    f"processes:\n{_tail(log_path)}")
        result = _read_result(work / "result.json")
        if rc != 0 or not result.get("ok"):
            raise LavaRunError(_failure_message(what, result, rc, _tail(log_path)))
        return result
    except LavaRunError as exc:
        exc.pgid = None if proc is None else proc.pid
        raise
    finally:
        if proc is not None:
            _kill_group(proc.pid)  # no Lava child may outlive the run
        for path in leaked:  # shared memory the killed run can no longer release
            try:
                os.unlink(path)
            except OSError:
                pass
