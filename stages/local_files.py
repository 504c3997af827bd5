"""Opening a local file only when it is a regular file, without ever blocking.

A plain `open(path, "rb")` on a FIFO waits for a writer forever, and on a device it may
block or have side effects, so an input glob that matches one would hang its task. Here
the path is stat-ed first (nothing that is not a regular file is opened at all), then
opened with O_NONBLOCK (a FIFO swapped in after the stat still opens at once), fstat-ed to
check that the descriptor is that same regular file, and only then set back to blocking.

Symbolic links: a top-level input the user named (a WARC file, a paths file) may be a
link, so by default links are followed and the final target must be a regular file.
Readers of files found inside an input (code folders) pass `follow_symlinks=False`: a
link is then refused (O_NOFOLLOW) instead of read.
"""

from __future__ import annotations

import fcntl
import os
import stat
from typing import BinaryIO

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class NotRegularFile(OSError):
    """A local input that is not a regular file (FIFO, socket, device, folder; or a link
    where links are not followed)."""


def kind_of(mode: int) -> str:
    """What a file that is not a regular one is, in words, for messages."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular_fd(path: str, follow_symlinks: bool = True) -> tuple[int, os.stat_result]:
    """(blocking read-only descriptor, its fstat) of `path` if it is a regular file; raises
    NotRegularFile otherwise, OSError when it cannot be opened. The caller closes the fd."""
    st = os.stat(path) if follow_symlinks else os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(f"{path}: not a regular file ({kind_of(st.st_mode)})")
    fd = os.open(path, _FLAGS | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0)))
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            raise NotRegularFile(f"{path}: not a regular file (it changed while being opened)")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd, fst


def open_regular(path: str, follow_symlinks: bool = True) -> BinaryIO:
    """A buffered binary stream of `path` if it is a regular file (see `open_regular_fd`)."""
    fd, _ = open_regular_fd(path, follow_symlinks)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
