"""Matrix expansion: one instance per combination, as CI matrices do it.

``matrix`` maps keys (in written order) to a list of values or ``{from: FILE}``
(rows of a .csv/.json/.yaml file below the campaign's folder). ``exclude``
drops combinations that match an entry on every key it names; ``include`` adds
its other keys to every original combination it matches on the original keys
(an entry naming no original key matches them all), or else adds a new
combination (GitHub Actions' rules).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator, Mapping
from typing import Any

from renderer import jsonfast
from renderer.errors import DataFileError, LimitError, Location, UserError
from renderer.campaign.files import confined_path
from renderer.campaign.yamlfile import Document, FileRefused, load_bytes, read_regular_file
from renderer.text import printable

RESERVED = ("include", "exclude")
_SCALARS = frozenset({str, int, float, bool, type(None)})


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
    if value.__class__ in _SCALARS:
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
    if v is None:
        return "null"
    text = str(v)
    # ids reach terminals and CI logs: a value's ESC or newline must not steer them
    # (a printable text has none: the escape is needed only where it is not)
    return text if text.isprintable() else printable(text)


def instance_id(job: str, combo: Combo | None) -> str:
    if combo is None:
        return job
    return f"{job}[" + ",".join(f"{k}={_show(combo.values[k])}" for k in combo.id_keys) + "]"


@dataclass(frozen=True, slots=True)
class Expansion:
    """A job's instances as (id, matrix values), in order, made as they are asked for.

    A matrix without include or exclude is the product of its axes: its ids and
    values are made one instance at a time from the axes (each value shown once,
    not once per instance), so a million instances are never all in memory.
    Include and exclude need every combination first (``expand``).
    """

    job: str
    count: int
    keys: tuple[str, ...]  # the keys that name instances (ids and links use them)
    unique: bool  # no two instances can share an id: nothing need remember the ids to tell
    axes: tuple[list[Any], ...] = ()  # a product's values, by key
    shown: tuple[list[str], ...] = ()  # "key=value" of each, as the id writes it
    combos: list[Combo] | None = None  # or every combination, made already

    def exact(self) -> bool:
        """No matrix value is a float the JSON encoders write differently (``jsonfast.exact``)."""
        return jsonfast.exact(list(self.axes) if self.combos is None else [c.values for c in self.combos])

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        if self.combos is not None:
            for combo in self.combos:
                yield instance_id(self.job, combo), combo.values  # type: ignore[misc]
        elif not self.keys:
            yield self.job, {}
        else:
            head, keys = self.job + "[", self.keys
            for values, shown in zip(itertools.product(*self.axes), itertools.product(*self.shown)):
                yield head + ",".join(shown) + "]", dict(zip(keys, values))


def expansion(
    job: str,
    matrix: Mapping[str, Any] | None,
    doc: Document,
    folder: Path,
    limits: MatrixLimits = MatrixLimits(),
    budget_left: int | None = None,
) -> Expansion:
    """``expand``, instance by instance where the matrix allows it (see ``Expansion``)."""
    if not matrix:
        return Expansion(job, 1, (), True)
    if any(k in matrix for k in RESERVED):
        combos = expand(job, matrix, doc, folder, limits, budget_left) or []
        return Expansion(job, len(combos), _id_keys(combos), False, combos=combos)
    keys = tuple(matrix)
    axes = _axes(job, matrix, doc, folder, limits, budget_left)
    shown = tuple([f"{k}={_show(v)}" for v in axis] for k, axis in zip(keys, axes))
    # ids are "job[k1=v1,k2=v2]": with no comma in any value, two instances share an
    # id only if they share every shown value; so distinct values on every axis are enough
    unique = all(len(set(axis)) == len(axis) and not any("," in s[len(k) + 1:] for s in axis)
                 for k, axis in zip(keys, shown))
    return Expansion(job, math.prod(len(a) for a in axes), keys, unique, tuple(axes), shown)


def _id_keys(combos: list[Combo]) -> tuple[str, ...]:
    """The keys that name a job's instances: its matrix axes (values an include adds
    to existing combinations are not axes), in written order."""
    if not combos:
        return ()
    keys = dict.fromkeys(combos[0].id_keys)
    for combo in combos:
        if combo.id_keys != combos[0].id_keys:  # a combination an include added
            keys.update(dict.fromkeys(combo.id_keys))
    return tuple(keys)


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
    cap = limits.max_instances if budget_left is None else budget_left
    axes = _axes(job, matrix, doc, folder, limits, budget_left)
    combos = [dict(zip(keys, c)) for c in itertools.product(*axes)] if keys else []
    excludes = matrix.get("exclude") or []
    if excludes:
        combos = [c for c in combos if not any(_matches(c, ex) for ex in excludes if isinstance(ex, Mapping))]
    # GitHub Actions' rules: an include entry extends every original combination
    # whose original values it does not contradict (values added by an earlier
    # include may be overwritten); one that extends none is a new combination.
    # Entries never extend combinations that includes added.
    added: list[dict[str, Any]] = []
    for entry in matrix.get("include") or []:
        if not isinstance(entry, Mapping):
            continue
        original = {k: v for k, v in entry.items() if k in keys}
        extra = {k: v for k, v in entry.items() if k not in keys}
        hits = [c for c in combos if _matches(c, original)]
        if hits:
            for c in hits:
                c.update(extra)
        else:
            added.append(dict(entry))
    combos += added
    if len(combos) > cap:
        raise LimitError(_too_many(job, len(combos), cap, limits), doc.loc(base))
    out = []
    for c in combos:
        id_keys = tuple(k for k in keys if k in c) or tuple(c)
        out.append(Combo(c, id_keys))
    return out


def _axes(job: str, matrix: Mapping[str, Any], doc: Document, folder: Path, limits: MatrixLimits,
          budget_left: int | None) -> list[list[Any]]:
    """The values of each key (a data file's rows for ``{from: FILE}``), within the instance limit."""
    base = ("jobs", job, "matrix")
    keys = [k for k in matrix if k not in RESERVED]
    axes: list[list[Any]] = []
    cap = limits.max_instances if budget_left is None else budget_left
    for k in keys:
        values = matrix[k]
        if isinstance(values, Mapping) and "from" in values:
            values = read_rows(values["from"], doc, folder, base + (k, "from"), limits, max_rows=cap)
        axes.append(list(values) if isinstance(values, list) else [values])
    total = math.prod(max(len(axis), 1) for axis in axes)
    if keys and total > cap:
        raise LimitError(_too_many(job, total, cap, limits), doc.loc(base))
    return axes


def _too_many(job: str, n: int, cap: int, limits: MatrixLimits) -> str:
    """Name the limit, and what earlier jobs used of it ("90000 > 200000?" confuses)."""
    used = limits.max_instances - cap
    if used > 0:
        return (f"matrix of job {job!r} expands to {n} instances; with the {used} of the jobs before it "
                f"that passes the limit of {limits.max_instances} (--max-instances)")
    return f"matrix of job {job!r} expands to {n} instances; the limit is {limits.max_instances} (--max-instances)"


def _matches(combo: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    return all(k in combo and ident(combo[k]) == ident(v) for k, v in entry.items())


def read_rows(
    name: Any, doc: Document, folder: Path, path: tuple[Any, ...], limits: MatrixLimits, max_rows: int | None = None
) -> list[Any]:
    """Rows of a data file; only regular files below the campaign's folder are read."""
    where = doc.loc(path)
    if not isinstance(name, str) or not name:
        raise DataFileError("from: needs a file name relative to the campaign file", where)
    target = confined_path(folder, name, "data file", where)
    root = target.parent
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".json", ".yaml", ".yml"):
        raise DataFileError(f"data file {name!r}: use .csv, .json, .yaml or .yml", where)
    max_rows = limits.max_instances if max_rows is None else max_rows
    try:
        st = target.stat()
        key = (str(target), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        rows = _ROWS.get(key)
        if isinstance(rows, UserError):  # a broken file named by a hundred jobs is parsed once
            raise type(rows)(rows.message, where)
        if rows is None:
            # a symlink inside the folder may still name a FIFO or a device: regular files only
            raw = read_regular_file(target, limits.max_data_file_bytes)
            try:
                rows = _parse(raw, name, suffix, where, max_rows)
            except UserError as exc:
                _remember(key, exc)
                raise
            if len(rows) <= max_rows:  # a CSV stops reading past max_rows: keep whole files only
                _remember(key, rows)
    except FileRefused as exc:
        if exc.too_big:
            raise LimitError(f"data file {name!r}: {exc}", where) from None
        raise DataFileError(f"data file {name!r}: {exc}", where) from None
    except FileNotFoundError:
        raise DataFileError(f"data file {name!r} not found (looked in {root})", where) from None
    except (OSError, ValueError) as exc:
        raise DataFileError(f"data file {name!r}: {getattr(exc, 'strerror', None) or exc}", where) from None
    if not rows:
        raise DataFileError(f"data file {name!r} has no rows", where)
    if len(rows) > max_rows:
        raise LimitError(
            f"data file {name!r} has more than {max_rows} rows: more instances than the limit of "
            f"{limits.max_instances} allows (--max-instances)", where)
    return list(rows)


# Parsed data files, by identity: a campaign whose hundred jobs read one 32 MB
# file parses it once. Templates cannot change rows (immutable sandbox).
_ROWS: dict[tuple[Any, ...], list[Any] | UserError] = {}


def _remember(key: tuple[Any, ...], rows: list[Any] | UserError) -> None:
    if len(_ROWS) >= 8:
        _ROWS.pop(next(iter(_ROWS)))
    _ROWS[key] = rows


def _parse(raw: bytes, name: str, suffix: str, where: Location, max_rows: int) -> list[Any]:
    if suffix == ".csv":
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataFileError(f"data file {name!r} is not UTF-8 text", where) from None
        reader = csv.DictReader(io.StringIO(text))
        rows = []
        try:
            header = reader.fieldnames or []
            if len(set(header)) < len(header):
                raise DataFileError(f"{name}:1: a column name appears twice in the header", where)
            for row in reader:
                if None in row:
                    raise DataFileError(f"{name}:{reader.line_num}: more cells than header columns", where)
                rows.append(dict(row))
                if len(rows) > max_rows:  # no need to read the rest: it is refused
                    break
        except csv.Error as exc:  # a field over csv's 128 KiB limit, a stray quote
            raise DataFileError(f"{name}:{reader.line_num}: {exc}", where) from None
        return rows
    if suffix == ".json":
        try:
            data = json.loads(raw)
            # JSON may spell a lone surrogate ("\ud800"): not text, and no stream can print it
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise DataFileError(f"data file {name!r} holds a lone surrogate (\\ud800-\\udfff): not Unicode text", where) from None
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
