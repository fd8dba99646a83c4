"""Matrix expansion: one instance per combination, as CI matrices do it.

``matrix`` maps keys (in written order) to a list of values or ``{from: FILE}``
(rows of a .csv/.json/.yaml file below the campaign's folder). ``exclude``
drops combinations that match an entry on every key it names; ``include`` adds
its keys to every combination it matches on the original keys, or else adds a
new combination (GitHub Actions' rules).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from renderer.errors import DataFileError, LimitError, Location, UserError
from renderer.spec.yamlfile import Document, load_bytes

RESERVED = ("include", "exclude")


@dataclass(frozen=True, slots=True)
class MatrixLimits:
    max_instances: int = 200_000  # per campaign
    max_data_file_bytes: int = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Combo:
    values: Mapping[str, Any]  # what templates see as `matrix`
    id_keys: tuple[str, ...]  # the keys that name the instance

    def ident(self, key: str) -> Any:
        return ident(self.values[key])


def ident(value: Any) -> Any:
    """A hashable stand-in for a matrix value: rows stand for their id."""
    if type(value) is str:
        return value
    if isinstance(value, Mapping):
        if "id" in value:
            return ident(value["id"])
        return ident(next(iter(value.values()), None))
    if isinstance(value, list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _show(value: Any) -> str:
    v = ident(value)
    if isinstance(v, bool):
        return "true" if v else "false"
    return "null" if v is None else str(v)


def instance_id(job: str, combo: Combo | None) -> str:
    if combo is None:
        return job
    return f"{job}[" + ",".join(f"{k}={_show(combo.values[k])}" for k in combo.id_keys) + "]"


def expand(
    job: str,
    matrix: Mapping[str, Any] | None,
    doc: Document,
    folder: Path,
    limits: MatrixLimits = MatrixLimits(),
    budget_left: int | None = None,
) -> list[Combo] | None:
    """The job's combinations in order, or None for a job without a matrix."""
    if not matrix:
        return None
    base = ("jobs", job, "matrix")
    keys = [k for k in matrix if k not in RESERVED]
    axes: list[list[Any]] = []
    for k in keys:
        values = matrix[k]
        if isinstance(values, Mapping) and "from" in values:
            values = read_rows(values["from"], doc, folder, base + (k, "from"), limits)
        axes.append(list(values) if isinstance(values, list) else [values])
    cap = limits.max_instances if budget_left is None else budget_left
    total = 1
    for axis in axes:
        total *= max(len(axis), 1)
    if keys and total > cap:
        raise LimitError(
            f"matrix of job {job!r} expands to {total} instances; the limit is {limits.max_instances} "
            "(--max-instances)",
            doc.loc(base),
        )
    combos = [dict(zip(keys, c)) for c in itertools.product(*axes)] if keys else []
    excludes = matrix.get("exclude") or []
    if excludes:
        combos = [c for c in combos if not any(_matches(c, ex) for ex in excludes if isinstance(ex, Mapping))]
    for entry in matrix.get("include") or []:
        if not isinstance(entry, Mapping):
            continue
        original = {k: v for k, v in entry.items() if k in keys}
        extra = {k: v for k, v in entry.items() if k not in keys}
        hits = [c for c in combos if _matches(c, original)] if original else []
        # an include that would overwrite an original value adds a new combination
        if hits and all(all(k not in c or ident(c[k]) == ident(v) for k, v in entry.items()) for c in hits):
            for c in hits:
                c.update(extra)
        else:
            combos.append(dict(entry))
    if len(combos) > cap:
        raise LimitError(f"matrix of job {job!r} expands to {len(combos)} instances; the limit is {limits.max_instances}", doc.loc(base))
    out = []
    for c in combos:
        id_keys = tuple(k for k in keys if k in c) or tuple(c)
        out.append(Combo(c, id_keys))
    return out


def _matches(combo: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    return all(k in combo and ident(combo[k]) == ident(v) for k, v in entry.items())


def read_rows(name: Any, doc: Document, folder: Path, path: tuple[Any, ...], limits: MatrixLimits) -> list[Any]:
    """Rows of a data file; only files below the campaign's folder are read."""
    where = doc.loc(path)
    if not isinstance(name, str) or not name:
        raise DataFileError("from: needs a file name relative to the campaign file", where)
    rel = Path(name)
    if rel.is_absolute():
        raise DataFileError(f"data file {name!r} is absolute; name it relative to the campaign's folder", where)
    root = folder.resolve()
    target = (root / rel).resolve()  # resolves symlinks too, so links out are caught
    if not target.is_relative_to(root):
        raise DataFileError(f"data file {name!r} is outside the campaign's folder", where)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".json", ".yaml", ".yml"):
        raise DataFileError(f"data file {name!r}: use .csv, .json, .yaml or .yml", where)
    try:
        size = target.stat().st_size
        if size > limits.max_data_file_bytes:
            raise LimitError(f"data file {name!r} is {size} bytes; the limit is {limits.max_data_file_bytes}", where)
        raw = target.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"data file {name!r} not found (looked in {root})", where) from None
    except OSError as exc:
        raise DataFileError(f"data file {name!r}: {exc.strerror or exc}", where) from None
    rows = _parse(raw, name, suffix, where)
    if not rows:
        raise DataFileError(f"data file {name!r} has no rows", where)
    return rows


def _parse(raw: bytes, name: str, suffix: str, where: Location) -> list[Any]:
    if suffix == ".csv":
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataFileError(f"data file {name!r} is not UTF-8 text", where) from None
        reader = csv.DictReader(io.StringIO(text))
        rows = []
        for row in reader:
            if None in row:
                raise DataFileError(f"{name}:{reader.line_num}: more cells than header columns", where)
            rows.append(dict(row))
        return rows
    if suffix == ".json":
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise DataFileError(f"data file {name!r} is not valid JSON: {exc}", where) from None
    else:
        try:
            data = load_bytes(raw, name).data
        except UserError as exc:  # a located LoadError of the data file itself
            raise DataFileError(f"data file {exc}", where) from None
    if not isinstance(data, list):
        raise DataFileError(f"data file {name!r} must hold a list of rows", where)
    return data
