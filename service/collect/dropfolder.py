"""A drop folder of JSON Lines files (the mention contract; ``.gz`` accepted), each processed once.

Options: ``path`` (the folder), ``pattern`` (glob, default ``*.jsonl*``), ``done`` (a folder to move
processed files into; without it they stay and are recorded in the cursor by name, size and
modification time, so a file rewritten later is read again), ``max_files`` per run (default 20).

A file is only moved once the run that read it has been handed to the pipeline: the cursor lists it
under ``processed`` and the *next* run moves it (a crash in between re-reads it, and the pipeline
drops the already-seen ids), unless it was rewritten meanwhile (its recorded size or modification
time changed): then it is read again, not moved unread. Files modified less than ``SETTLE`` before
``now`` are left for the next run (they may still be being written). Malformed lines are skipped
and logged with their line number. Records without ``source`` or ``kind`` get the source's name and
kind.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from service.collect.base import CollectError, CollectResult, first_brand
from service.collect.http import Fetcher
from service.domain import Mention
from service.mentions import ReadReport, read_mentions

if TYPE_CHECKING:
    from service.config import SourceConfig

log = logging.getLogger(__name__)
SETTLE = timedelta(seconds=5)


class DropFolderCollector:
    def __init__(self, source: SourceConfig, fetcher: Fetcher | None = None) -> None:
        self.name = source.name
        self.source = source
        options = source.options
        self.folder = Path(options["path"])
        self.pattern: str = options.get("pattern", "*.jsonl*")
        self.done = Path(options["done"]) if options.get("done") else None
        self.max_files: int = options.get("max_files", 20)

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> CollectResult:
        state = cursor or {}
        recorded: dict[str, str] = {k: v for k, v in (state.get("files") or {}).items() if isinstance(v, str)}
        try:
            self._move_processed(state.get("processed") or [], recorded)
            candidates = sorted(path for path in self.folder.glob(self.pattern) if path.is_file())
        except OSError as exc:
            raise CollectError(f"drop folder {self.folder}: {exc.strerror or exc}", retryable=True) from exc
        mentions: list[Mention] = []
        processed: list[str] = []
        for path in candidates:
            if len(processed) >= self.max_files:
                break
            try:
                stat = path.stat()
            except OSError:
                continue  # removed meanwhile
            signature = _signature(stat)
            modified = datetime.fromtimestamp(stat.st_mtime, UTC)
            if recorded.get(path.name) == signature or modified > now - SETTLE:
                continue
            mentions.extend(self._read(path))
            processed.append(path.name)
            recorded[path.name] = signature
        present = {path.name for path in candidates}
        next_cursor: dict[str, Any] = {"files": {name: sig for name, sig in recorded.items() if name in present}}
        if self.done is not None:
            next_cursor["processed"] = processed
        return CollectResult(mentions=tuple(mentions), cursor=next_cursor)

    def _read(self, path: Path) -> list[Mention]:
        report = ReadReport(path.name)
        try:
            found = [self._complete(mention) for mention in read_mentions(path, report)]
        except OSError as exc:
            raise CollectError(f"drop folder file {path}: {exc.strerror or exc}", retryable=True) from exc
        if report.skipped:
            log.warning('source "%s": %s: %d malformed lines skipped (first: %s)', self.name, path.name,
                        report.skipped, report.errors[0] if report.errors else "?")
        return found

    def _complete(self, mention: Mention) -> Mention:
        return replace(mention, source=mention.source or self.name, kind=mention.kind or self.source.kind,
                       brand=mention.brand or first_brand(self.source.brands),
                       lang=mention.lang or self.source.lang)

    def _move_processed(self, names: list[Any], recorded: dict[str, str]) -> None:
        """Move the files the last run read, except those rewritten since (read again instead)."""
        if self.done is None or not names:
            return
        self.done.mkdir(parents=True, exist_ok=True)
        for name in names:
            if not isinstance(name, str) or "/" in name or name.startswith("."):
                continue
            source = self.folder / name
            try:
                signature = _signature(source.stat())
            except FileNotFoundError:
                continue
            if name in recorded and recorded[name] != signature:
                log.info('source "%s": %s was rewritten after it was read: read again', self.name, name)
                continue
            shutil.move(str(source), str(self.done / name))


def _signature(stat: os.stat_result) -> str:
    """Size and modification time: a file with another signature was rewritten."""
    return f"{stat.st_size}:{stat.st_mtime_ns}"
