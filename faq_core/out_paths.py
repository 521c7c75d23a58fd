"""Where a command may write: the paths no ``--force`` ever replaces or writes into.

Every command with an ``--out`` (``index build``, ``index import-seed``,
``review apply``) asks here before it touches anything, so the rules live in
one place: a device, socket or FIFO is never replaced (``--out /dev/null
--force`` must not swap a device node for a folder), and ``--force`` never
turns a home folder, a file system root or system folder, a mount point or a
git working tree into an index folder.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

# Folders of the operating system (Linux, macOS) an index never belongs in.
SYSTEM_FOLDERS = frozenset({
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt",
    "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/snap",
    "/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin", "/usr/share", "/var/lib", "/var/log", "/var/tmp",
    "/Applications", "/Library", "/System", "/Users", "/Volumes", "/private",
})


def special_file(path: str | Path) -> str | None:
    """``a device``, ``a socket`` or ``a FIFO (named pipe)`` when ``path`` itself
    (not what a link points to) is one, else None."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    return None


def _homes() -> set[Path]:
    """The current user's home folder (``HOME``) and every account's."""
    homes = {Path.home()} | {Path(entry.pw_dir) for entry in pwd.getpwall() if entry.pw_dir}
    return {Path(os.path.realpath(home)) for home in homes}


def protected_folder(folder: str | Path) -> str | None:
    """Why ``--force`` must never make the existing folder ``folder`` an
    index folder (it is, or holds, something people keep), or None."""
    real = Path(os.path.realpath(folder))
    if real == Path(real.anchor) or str(real) in SYSTEM_FOLDERS:
        return "a system folder"
    homes = _homes()
    if real in homes:
        return "a home folder"
    for home in sorted(homes):
        if real in home.parents:
            return f"a folder holding the home folder {home}"
    if os.path.ismount(real):
        return "a mount point"
    if os.path.lexists(real / ".git"):
        return "a git working tree (it holds .git)"
    return None
