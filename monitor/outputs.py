"""Where the commands write what they make (`--output`): into a folder that exists, and never over
the monitor's own files.

The config file and the database (for SQLite its file and the -wal, -shm and -journal files
beside it) are compared by resolved path, so `./config.toml`, a symbolic link or `../x/config.toml`
are all caught. Any other file is overwritten, as every command-line tool does: a report file the
user named, or a site written again into the same folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from monitor.config import Settings

SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


class OutputError(ValueError):
    """An output that may not be written; the message names the file or folder (the CLI exits 2)."""


def protected_files(settings: Settings) -> dict[Path, str]:
    """The monitor's own files, by resolved path, with what each one is."""
    from sqlalchemy.engine import make_url  # here: the CLI imports this module at every start

    files = {settings.path.resolve(): "the configuration file"}
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        for suffix in SQLITE_COMPANIONS:
            files[Path(url.database + suffix).resolve()] = "a file of the database"
    return files


def output_file(path: Path, protected: dict[Path, str]) -> Path:
    """A file the user named for a command's output: its folder must exist, and it must not be one
    of the monitor's own files."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise OutputError(f"--output {path}: the folder {folder} does not exist")
    _refuse_protected(path, protected)
    return path


@dataclass(frozen=True)
class OutputFolder:
    """A folder the reports are written into, file by file, each checked before it is written."""
    path: Path
    protected: dict[Path, str]

    @classmethod
    def open(cls, path: Path, protected: dict[Path, str]) -> OutputFolder:
        """The folder `path`, made if it is missing but its parent exists."""
        if path.exists() and not path.is_dir():
            raise OutputError(f"--output {path}: is a file, not a folder")
        if not path.resolve().parent.is_dir():
            raise OutputError(f"--output {path}: the folder {path.resolve().parent} does not exist")
        path.mkdir(exist_ok=True)
        return cls(path, protected)

    def subfolder(self, name: str) -> OutputFolder:
        return OutputFolder.open(self.path / name, self.protected)

    def write(self, name: str, data: bytes | str) -> Path:
        """Write the file `name` (a bare file name, made safe by the caller) in this folder."""
        target = self.path / name
        _refuse_protected(target, self.protected)
        if isinstance(data, str):
            target.write_text(data, encoding="utf-8")
        else:
            target.write_bytes(data)
        return target


def _refuse_protected(path: Path, protected: dict[Path, str]) -> None:
    what = protected.get(path.resolve())
    if what is not None:
        raise OutputError(f"--output {path}: is {what}; it is never overwritten")
