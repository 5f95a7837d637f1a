"""The national sync stream from files (kind `dvcqg_stream`, key `path`): captured request bodies,
one JSON object per file or one per line (JSON Lines), as an LGSP's message log keeps them.

Files are applied in file-name order (their path relative to the glob's root), and each file's
bodies in line order, each body in its own transaction (connectors.stream_loader), as if the
receiver had been sent them. A file already applied, same path, size and content, is skipped; the
file is marked applied with its last body, so a run killed mid-file applies it again, which
changes nothing (the stream is idempotent). A line that is not a request body is rejected with
its file and line; a file that cannot be read fails the source, once the files after it are read.
"""
from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from connectors.base import Connector, Rejection, Rows, SourceError, SyncStart, glob_root
from connectors.loader import read_book_files
from connectors.stream_loader import DOSSIERS, STEPS, StreamBatch, StreamLoader
from connectors import validation as check
from monitor.kinds.dvcqg_stream import StreamSettings
from monitor.models import BookFile

SERVICES = (DOSSIERS, STEPS)


class StreamFileConnector(Connector):

    source: StreamSettings
    loader = StreamLoader

    def __init__(self, source: StreamSettings, synced_at: datetime, applied: dict[str, BookFile]):
        super().__init__(source, synced_at)
        self.applied = applied

    @classmethod
    def for_run(cls, source: StreamSettings, start: SyncStart) -> StreamFileConnector:
        return cls(source, start.started_at, read_book_files(start.engine, source.name))

    def batches(self) -> Iterator[StreamBatch]:
        if not self.source.path:
            return  # a stream received over HTTP only: nothing to read here
        root = glob_root(self.source.path)
        paths = sorted((Path(p) for p in glob.glob(self.source.path, recursive=True)),
                       key=lambda p: p.relative_to(root).as_posix())
        failures = []
        files = [p for p in paths if p.is_file()]
        for number, path in enumerate(files, start=1):
            name = path.relative_to(root).as_posix()
            try:
                content = path.read_bytes()
            except OSError as exc:
                failures.append(f"{name}: {exc.strerror or exc}")
                continue
            sha256 = hashlib.sha256(content).hexdigest()
            known = self.applied.get(name)
            if known is not None and (known.size, known.sha256) == (len(content), sha256):
                continue
            bodies = list(self._bodies(name, content))
            applied = Rows(BookFile, ("source", "path"), [{
                "source": self.source.name, "path": name, "size": len(content), "mtime": path.stat().st_mtime,
                "sha256": sha256, "rows": len(bodies), "read_at": self.synced_at}])
            if not bodies:
                bodies = [StreamBatch(DOSSIERS, [], where=name)]
            bodies[-1].bookkeeping.append(applied)
            for body in bodies:
                body.position = (number - 1, len(files))
            bodies[-1].position = (number, len(files))
            yield from bodies
        if failures:
            raise SourceError(f"{len(failures)} of {len(paths)} files could not be read: " + "; ".join(failures))

    def _bodies(self, name: str, content: bytes) -> Iterator[StreamBatch]:
        """The request bodies of one file: the whole file as one JSON object, or one per line."""
        text = content.decode("utf-8", errors="replace").lstrip("\ufeff")
        lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if len(lines) > 1:
            # An object written over several lines is one body; JSON Lines are one per line.
            try:
                whole = json.loads(text)
            except json.JSONDecodeError:
                whole = None
            if isinstance(whole, dict):
                lines = [(None, whole)]
        for number, line in lines:
            where = f"{name}:{number}" if number is not None else name
            try:
                body = json.loads(line) if isinstance(line, str) else line
            except json.JSONDecodeError:
                yield _rejected(where, "not a JSON request body", line)
                continue
            problem = _problem(body)
            if problem:
                yield _rejected(where, problem, line if isinstance(line, str) else text)
                continue
            yield StreamBatch(body["service"], body["data"], agency=body_agency(body), where=where)


def body_agency(body: dict) -> str | None:
    """The body's `madonvi`, when it gives one."""
    agency = body.get("madonvi")
    return agency.strip() or None if isinstance(agency, str) else None


def _problem(body) -> str | None:
    if not isinstance(body, dict):
        return "a request body that is not a JSON object"
    if body.get("service") not in SERVICES:
        return f"service is not one of {', '.join(SERVICES)}"
    if not isinstance(body.get("data"), list):
        return "data is not a list"
    return None


def _rejected(where: str, reason: str, raw: str) -> StreamBatch:
    """An empty batch carrying one rejection: a body that could not be read is kept, with where it was."""
    return StreamBatch(DOSSIERS, [], where=where, rejected=[Rejection(where, reason, check.raw(raw))])
