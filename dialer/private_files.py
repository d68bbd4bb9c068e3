"""Files that hold contact data (the contact base, exports, reject files) are readable by
their owner only: created 0600, in folders created 0700. A contact base is an asset that
must not leak to every local user of the machine.

Only files and folders this process creates are affected; an existing file keeps the
mode its owner gave it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) 0700; an existing folder is left as it is."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask


def create_private(path: Path) -> None:
    """Make sure `path` exists; a new file is created 0600 (in a 0700 folder if new)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """`open()` for a file with contact data: created 0600 if it does not exist yet."""
    created = not path.exists()
    if created:
        create_private(path)
    return path.open(mode, **kwargs)
