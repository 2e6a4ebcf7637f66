"""Worker processes die with their parent. uvicorn's `--workers N` supervisor spawns N children;
if the supervisor is killed (kill -9, OOM killer), they would go on serving unsupervised and keep
the port, so a restart fails with "Address already in use". Each worker asks the kernel for
SIGTERM when its parent dies (Linux `PR_SET_PDEATHSIG`); elsewhere a thread watches the parent."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time

log = logging.getLogger("streetwatch.cases")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """In a spawned worker: end (SIGTERM, so uvicorn shuts down cleanly) when the parent ends."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:  # the main process (one worker): nothing to follow
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        threading.Thread(target=_watch, args=(parent.pid,), name="parent-watch", daemon=True).start()
    if os.getppid() != parent.pid:  # the parent died before the request above took effect
        log.error("the supervising process %d is gone; this worker stops", parent.pid)
        os.kill(os.getpid(), signal.SIGTERM)


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)
