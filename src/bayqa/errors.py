"""What to tell a user when the disk or a database fails under bayqa (the CLI and HTTP say the same)."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

_FULL = {errno.ENOSPC, errno.EDQUOT}
LOW_SPACE = 1024 * 1024  # bytes free under which a vague I/O error is taken for a full disk


def disk_full(exc: BaseException, folders: tuple[Path, ...] = ()) -> bool:
    """Whether ``exc`` comes from a full disk. SQLite often says only "disk I/O error" when a write finds no space,
    so for its I/O errors the free space of ``folders`` decides."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL
    if not isinstance(exc, sqlite3.Error):
        return False
    name = getattr(exc, "sqlite_errorname", "")
    return name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and any(_free(f) < LOW_SPACE for f in folders))


def _free(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return LOW_SPACE


def storage_message(exc: BaseException, folders: tuple[Path, ...] = ()) -> str:
    """One line: what failed, and what to do about it."""
    where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
    if disk_full(exc, folders):
        return f"the disk is full{where}; nothing was changed: free some space and try again"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(exc, OSError) and not exc.filename:
        return f"{reason}"
    return f"a file could not be written or read{where}: {reason}; nothing was changed: check the disk and permissions and try again"
