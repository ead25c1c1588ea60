"""CSV feature tables on disk, read row by row in bounded memory (``.npz`` is in :mod:`.npz`)."""

from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from sslcore.data.dataset import Dataset
from sslcore.data.limits import check_data_bytes, check_num_classes
from sslcore.data.paths import existing_file
from sslcore.errors import DataError

__all__ = ["MAX_LINE_CHARS", "load_csv"]

MAX_LINE_CHARS = 1 << 20  # one physical line; csv would otherwise build any row it is given
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_BLOCK_BYTES = 1 << 22  # rows are parsed into float32 blocks of about this size


def _lines(f: TextIO, path: Path) -> Iterator[str]:
    """The physical lines of ``f``, refusing one longer than ``MAX_LINE_CHARS``.

    Each line is read at most ``MAX_LINE_CHARS + 1`` characters at a time, so a single 2 GB line
    is refused before it becomes a 2 GB string (and then a row of a billion cells).
    """
    number = 0
    while line := f.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise DataError(f"{path}: line {number} is longer than {MAX_LINE_CHARS} characters")
        yield line


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """Non-blank rows, cells stripped of surrounding spaces."""
    for row in reader:
        if any(row):
            yield [c.strip() for c in row]


class _Table:
    """Feature rows parsed into float32 blocks and label codes, with the caps checked per row.

    Labels are kept as codes into the distinct label strings seen so far (first-seen order), so
    memory is 4 bytes per feature and 8 per row, whatever the labels look like.
    """

    def __init__(self, path: Path, header: list[str], label_column: str) -> None:
        self.path, self.label_column = path, label_column
        self.header, self.li = header, header.index(label_column)
        self.feature_names = [h for i, h in enumerate(header) if i != self.li]
        self.row_bytes = 4 * len(self.feature_names) + 8
        self.block_rows = max(1, _BLOCK_BYTES // self.row_bytes)
        self.blocks: list[np.ndarray] = []
        self.codes = array("q")
        self.labels: dict[str, int] = {}

    def add(self, line: int, row: list[str]) -> None:
        """Parses one data row (file line ``line``) into the table."""
        path, r = self.path, len(self.codes)
        if len(row) != len(self.header):
            raise DataError(
                f"{path}: line {line} has {len(row)} cells, the header has {len(self.header)}"
            )
        check_data_bytes((r + 1) * self.row_bytes, f"{path} (at line {line})")
        where = f"{path}: line {line} (data row {r + 1}), column"
        label = row[self.li]
        if not label:
            raise DataError(f"{where} {self.label_column!r}: empty label")
        if r % self.block_rows == 0:
            self.blocks.append(np.empty((self.block_rows, len(self.feature_names)), np.float32))
        out = self.blocks[-1][r % self.block_rows]
        for j, cell in enumerate(c for i, c in enumerate(row) if i != self.li):
            try:
                value = float(cell)
            except ValueError:
                raise DataError(
                    f"{where} {self.feature_names[j]!r}: cannot read {cell!r} as a number"
                ) from None
            if not math.isfinite(value) or abs(value) > _FLOAT32_MAX:
                raise DataError(
                    f"{where} {self.feature_names[j]!r}: {cell!r} is not a finite float32 value"
                )
            out[j] = value  # rounds to float32 exactly as a float64 -> float32 cast would
        if label not in self.labels:
            check_num_classes(len(self.labels) + 1, f"{path}: column {self.label_column!r}")
            self.labels[label] = len(self.labels)
        self.codes.append(self.labels[label])

    def features(self) -> np.ndarray:
        """``(N, D)`` float32 (a fresh array: the blocks' unused rows are not kept alive)."""
        used = len(self.codes) - (len(self.blocks) - 1) * self.block_rows
        return np.concatenate([*self.blocks[:-1], self.blocks[-1][:used]])

    def classes(self) -> tuple[np.ndarray, list[str]]:
        """Label indices ``(N,)`` and sorted class names; all-integer labels sort numerically."""
        seen = list(self.labels)
        try:
            keys: list[int] | list[str] = [int(c) for c in seen]
        except ValueError:
            keys = seen
        classes = sorted(set(keys))
        index = {c: i for i, c in enumerate(classes)}
        remap = np.array([index[k] for k in keys], dtype=np.int64)  # first-seen code -> class
        return remap[np.frombuffer(self.codes, dtype=np.int64)], [str(c) for c in classes]


def _parse(path: Path, label_column: str) -> _Table:
    """Reads the header and every data row of the CSV at ``path``."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(_lines(f, path))
            rows = _rows(reader)
            header = next(rows, None)
            if header is None:
                raise DataError(f"{path}: empty file; expected a header row and data rows")
            if label_column not in header:
                raise DataError(f"{path}: no label column {label_column!r}; columns: {header}")
            if len(header) < 2:
                raise DataError(f"{path}: no feature columns besides {label_column!r}")
            table = _Table(path, header, label_column)
            for row in rows:
                table.add(reader.line_num, row)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read {path} as CSV: {type(e).__name__}: {e}") from e
    if not table.codes:
        raise DataError(f"{path}: header only, no data rows")
    return table


def load_csv(path: str | Path, label_column: str = "label") -> Dataset:
    """Loads a CSV feature table: a header row, numeric feature columns and a label column.

    Labels may be strings or integers; the class names are the distinct labels sorted
    (numerically for integers), and label ``i`` is the ``i``-th of them. The file size, the
    decoded rows and the number of classes are capped (``SSLCORE_MAX_DATA_BYTES``,
    ``SSLCORE_MAX_CLASSES``), and so is the length of a line (``MAX_LINE_CHARS``).

    Args:
        path: The ``.csv`` file (UTF-8, comma-separated).
        label_column: Name of the label column; every other column is a feature.

    Returns:
        A vector Dataset with x ``(N, D)`` float32 and ``feature_names`` from the header.
    """
    path = existing_file(path, ".csv file")
    check_data_bytes(path.stat().st_size, str(path))  # refused unread: a table is not that big
    table = _parse(path, label_column)
    y, class_names = table.classes()
    return Dataset(
        name=path.stem,
        x=torch.from_numpy(table.features()),
        y=torch.from_numpy(y),
        class_names=class_names,
        modality="vector",
        feature_names=table.feature_names,
    )
