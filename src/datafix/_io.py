"""Writing output files safely: whole or not at all, never over an input."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    The rename is atomic on one file system, so readers see the old file or the whole new one,
    and a failure half-way (an error, a full disk, Ctrl-C) leaves no partial file behind. The
    file gets the permissions of the file it replaces, or those a new file gets (``0o666`` less
    the umask), not the temporary file's owner-only ``0o600``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", lambda p: p.write_text("hello")).read_text()
    'hello'
    >>> def fails(p):
    ...     p.write_text("half")
    ...     raise RuntimeError("disk full")
    >>> try:
    ...     atomic_write(folder / "b.txt", fails)
    ... except RuntimeError:
    ...     pass
    >>> sorted(f.name for f in folder.iterdir())
    ['a.txt']
    >>> atomic_write(folder / "nodir" / "c.txt", fails)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: Cannot write '.../nodir/c.txt': the folder '.../nodir' does not exist; create it first.
    """
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:
        raise FileNotFoundError(f"Cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist; "
                                "create it first.") from None
    except OSError as err:  # not writable, a file where the folder should be: name the path, not the temporary
        raise OSError(f"Cannot write {str(path)!r}: {err.strerror or err}.") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _mode_for(path: Path) -> int:
    """The permission bits ``path`` should end with: those of the file it replaces, else the umask's."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
