"""Worker slots on one machine: worker k's kernels run as uid ``worker_uid_base`` + k.

No two kernels that run at the same time on a machine may share a uid (their
process limit, RLIMIT_NPROC, counts per uid), whichever worker started them:
a local worker process of ``autograde --workers K`` or a ``dask worker``.
A slot is held by an exclusive ``flock`` on a file in the system's temporary
folder, which the operating system releases when its process ends, however it
ends: a worker that dies frees its slot for the one that replaces it.
"""

import fcntl
import os
import tempfile
from pathlib import Path

SLOTS = 64  # worker slots per uid base and machine
_held = {}  # uid base -> (slot, the open file whose lock holds it)


def claim(base):
    """This process's worker slot for ``base``: the first k in 0..SLOTS-1 whose lock
    file no live process holds. The lock (``flock``) goes when the process ends,
    however it ends, so a worker that dies frees its slot for the next one; local
    workers and Dask workers on one machine never share a slot."""
    if base in _held:
        return _held[base][0]
    folder = Path(tempfile.gettempdir(), "grader-uid-slots")
    folder.mkdir(mode=0o700, exist_ok=True)
    for k in range(SLOTS):
        fd = os.open(folder / str(base + k), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _held[base] = (k, fd)
        return k
    raise RuntimeError(f"all {SLOTS} kernel uids from {base} are taken by grading workers "
                       "on this machine: run fewer workers, or give this course another "
                       "c.LimitedKernelManager.worker_uid_base")
