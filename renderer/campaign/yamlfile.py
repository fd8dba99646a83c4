"""The one place PyYAML is used: safe loading with source positions.

PyYAML's own constructors lose positions, accept duplicate keys silently (the
last one wins, which hides mistakes in committed files) and expand aliases
eagerly. So we let the (C, when available) parser compose the node graph and
build plain Python values from it ourselves, recording where each value and
each key came from. Anything off the standard safe tag set is refused.

Before composing, one pass over the parser's events checks the limits: the C
composer recurses once per nesting level (100,000 `[` crash the process), and
an alias bomb of a few lines names billions of values; counting the events,
and what each anchor would expand to, refuses both before a node is built.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from renderer.errors import LimitError, LoadError, Location


class _Resolver(yaml.resolver.BaseResolver):
    """Plain scalars mean what a person reading the file thinks (YAML 1.2 core, stricter).

    PyYAML resolves YAML 1.1: `NO` (Norway) is false, `on` true, `012` is 10 and
    `1:20` is 80. Here only true/false (True, TRUE...) are booleans; null, ~ and
    an empty value are null; decimal numbers without a leading zero are ints;
    decimal fractions and exponents, .inf and .nan are floats. Everything else
    (yes/no/on/off/y/n, 012, 0x1F, 1_000, 1:20, dates) is the text as written.
    """


_Resolver.add_implicit_resolver("tag:yaml.org,2002:bool",
                                re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Resolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Resolver.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))
_Resolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])

_CParser: Any = getattr(yaml, "cyaml", None) and getattr(yaml.cyaml, "CParser", None)  # None without libyaml

if _CParser is not None:  # the C parser is several times faster on large files

    class _Loader(_CParser, yaml.constructor.SafeConstructor, _Resolver):
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            _Resolver.__init__(self)

else:  # pragma: no cover - depends on how PyYAML was built

    class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,  # type: ignore[no-redef]
                  yaml.composer.Composer, yaml.constructor.SafeConstructor, _Resolver):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            _Resolver.__init__(self)

_T = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_T + n for n in ("str", "int", "float", "bool", "null", "timestamp", "binary")}
_SEQ_TAGS = {_T + "seq"}
_MAP_TAGS = {_T + "map"}
_MERGE = _T + "merge"
_scalars = yaml.constructor.SafeConstructor()

Path_ = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one file may cost to load."""

    max_bytes: int = 8 * 1024 * 1024
    max_nodes: int = 500_000  # counts every visit, so alias bombs stop here
    max_depth: int = 64
    max_chars: int = 32 * 1024 * 1024  # text of all values, each alias counted as what it repeats


@dataclass(slots=True)
class Document:
    """A loaded YAML file: its data and where every value came from."""

    path: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def loc(self, path: Path_ = (), *, key: bool = False, instance: str | None = None) -> Location:
        """The location of the value (or its key) at ``path``, or its nearest ancestor."""
        path = tuple(path)
        if key and path in self.key_positions:
            line, col = self.key_positions[path]
            return Location(self.path, line, col, instance)
        while True:
            if path in self.positions:
                line, col = self.positions[path]
                return Location(self.path, line, col, instance)
            if not path:
                return Location(self.path, 1, 1, instance)
            path = path[:-1]


class FileRefused(Exception):
    """A file read_regular_file will not read; ``too_big`` tells a limit from a kind."""

    def __init__(self, message: str, too_big: bool = False) -> None:
        super().__init__(message)
        self.too_big = too_big


def read_regular_file(path: str | Path, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a regular file (after symlinks), else FileRefused.

    A file from a pull request may be a symlink to /dev/zero or a FIFO, where a
    plain read never ends, or to /proc (size 0, any length): open without
    blocking, check what was opened, and never read past the limit.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused("not a regular file (a folder, device, FIFO or socket)")
        if st.st_size > max_bytes:
            raise FileRefused(f"file is {st.st_size} bytes; the limit is {max_bytes} bytes", too_big=True)
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        raw = b"".join(chunks)
        if len(raw) > max_bytes:
            raise FileRefused(f"file is more than {max_bytes} bytes; the limit is {max_bytes} bytes", too_big=True)
        return raw
    finally:
        os.close(fd)


def read_file(path: str | Path, limits: Limits = Limits(), display: str | None = None) -> bytes:
    """The bytes of a YAML file, or a located LoadError / LimitError."""
    name = display if display is not None else str(path)
    try:
        return read_regular_file(path, limits.max_bytes)
    except FileRefused as exc:
        if exc.too_big:
            raise LimitError(str(exc), Location(name, 1, 1)) from None
        raise LoadError(f"cannot read file: {exc}", Location(name)) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise LoadError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}", Location(name)) from None


def load_file(path: str | Path, limits: Limits = Limits(), display: str | None = None) -> Document:
    name = display if display is not None else str(path)
    return load_bytes(read_file(path, limits, name), name, limits)


def load_bytes(raw: bytes, name: str, limits: Limits = Limits()) -> Document:
    if len(raw) > limits.max_bytes:
        raise LimitError(f"file is {len(raw)} bytes; the limit is {limits.max_bytes} bytes", Location(name, 1, 1))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LoadError("not UTF-8 text (is this a binary file?)", Location(name, line, col)) from None
    return load_text(text, name, limits)


def load_text(text: str, name: str, limits: Limits = Limits()) -> Document:
    if not text.strip() or _only_comments(text):
        raise LoadError("file is empty; a campaign is a YAML mapping", Location(name, 1, 1))
    try:
        _prescan(text, name, limits)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        if _too_deep(exc):
            raise _depth_error(exc, name, text, limits) from None
        raise _translate(exc, name, text) from None
    except yaml.YAMLError as exc:  # ReaderError carries an offset, not a mark
        reason = getattr(exc, "reason", None) or _one_line(str(exc))
        raise LoadError(f"invalid YAML: {reason}", _reader_location(exc, text, name)) from None
    except RecursionError:
        raise LimitError("YAML is nested too deeply", Location(name, 1, 1)) from None
    if node is None:
        raise LoadError("file is empty; a campaign is a YAML mapping", Location(name, 1, 1))
    doc = Document(name, None)
    builder = _Builder(doc, limits)
    doc.data = builder.build(node, (), 0)
    return doc


def _prescan(text: str, name: str, limits: Limits) -> None:
    """Check depth, value count and text size on the parser's events, before composing.

    libyaml's parser keeps its own stack (any depth is safe); its composer and
    our builder recurse. Each anchor's expanded size is recorded when it
    closes, so an alias adds what it would repeat without repeating it. Values
    are counted as the builder counts them: a key is text, not a value.
    """
    open_: list[list[Any]] = []  # per open collection: [values, chars, anchor, is_mapping, children]
    anchors: dict[str, tuple[int, int]] = {}
    values = chars = 0

    def at(event: Any) -> Location:
        return Location(name, event.start_mark.line + 1, event.start_mark.column + 1)

    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            n, c, anchor, _, _ = open_.pop()
            if anchor is not None:
                anchors[anchor] = (n, c)
            if open_:  # the totals counted these as they arrived
                open_[-1][0] += n
                open_[-1][1] += c
            continue
        starts = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if starts:
            n, c = 1, 0
        elif isinstance(event, yaml.ScalarEvent):
            n, c = 1, len(event.value)
        elif isinstance(event, yaml.AliasEvent):
            if any(o[2] == event.anchor for o in open_):
                raise LoadError(f"alias *{event.anchor} is inside the node it names", at(event))
            n, c = anchors.get(event.anchor or "", (1, 0))  # undefined: the composer says so
        else:
            continue
        if open_:
            parent = open_[-1]
            is_key = parent[3] and parent[4] % 2 == 0
            parent[4] += 1
            if not starts:
                parent[0] += 0 if is_key else n
                parent[1] += c
        else:
            is_key = False
        values += 0 if is_key and not starts else n
        chars += c
        if values > limits.max_nodes:
            raise LimitError(
                f"YAML expands to more than {limits.max_nodes} values (aliases that multiply? limits.max_nodes)", at(event)
            )
        if chars > limits.max_chars:
            raise LimitError(
                f"YAML values hold more than {limits.max_chars} characters once aliases are expanded; "
                f"the limit is {limits.max_chars} (limits.max_chars)", at(event)
            )
        if starts:
            if len(open_) >= limits.max_depth:
                raise LimitError(f"YAML is nested deeper than {limits.max_depth} levels", at(event))
            open_.append([1, 0, getattr(event, "anchor", None), isinstance(event, yaml.MappingStartEvent), 0])
        elif isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
            anchors[event.anchor] = (1, c)


def _only_comments(text: str) -> bool:
    return all(not ln.strip() or ln.lstrip().startswith("#") or ln.strip() in ("---", "...") for ln in text.splitlines())


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _too_deep(exc: yaml.MarkedYAMLError) -> bool:
    """PyYAML 6.0.4+ refuses deep nesting itself, before our prescan sees the events."""
    return "nesting depth" in f"{exc.problem or ''} {exc.context or ''}"


def _depth_error(exc: yaml.MarkedYAMLError, name: str, text: str, limits: Limits) -> LimitError:
    """Our message, at the first opening past our limit when we can find it, else where PyYAML stopped."""
    mark = exc.problem_mark or exc.context_mark
    end = min(mark.index, len(text)) if mark is not None else len(text)
    found = _flow_opening_past(text, end, limits.max_depth)
    if found is not None:
        line, col = found
    else:
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return LimitError(f"YAML is nested deeper than {limits.max_depth} levels", Location(name, line, col))


def _flow_opening_past(text: str, end: int, depth: int) -> tuple[int, int] | None:
    """Line and column of the flow bracket that opens level ``depth + 1``, scanning ``text[:end]``.

    Written by hand because PyYAML gives no events here: it refuses before emitting
    them. Quoted scalars and comments are skipped; block nesting is not counted,
    so ``None`` (fall back to PyYAML's mark) when the depth came from indentation.
    """
    level, line, col, quote = 0, 1, 0, ""
    i = 0
    while i < end:
        ch = text[i]
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n"):
            nl = text.find("\n", i, end)
            i = end if nl < 0 else nl
            continue
        elif ch in "[{":
            level += 1
            if level > depth:
                return line, col
        elif ch in "]}":
            level -= 1
        i += 1
    return None


def _translate(exc: yaml.MarkedYAMLError, name: str, text: str) -> LoadError:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        problem = "tab character: YAML indents with spaces only"
    elif "expected a single document" in (exc.context or "") + problem:
        problem = "more than one YAML document; a campaign file holds exactly one"
    elif exc.context and exc.problem:
        problem = f"{exc.problem} ({exc.context})"
    return LoadError(f"invalid YAML: {_one_line(problem)}", Location(name, line, col))


def _reader_location(exc: yaml.YAMLError, text: str, name: str) -> Location:
    pos = getattr(exc, "position", None)
    if isinstance(pos, int):
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return Location(name, line, col)
    return Location(name, 1, 1)


class _Builder:
    def __init__(self, doc: Document, limits: Limits) -> None:
        self.doc = doc
        self.limits = limits
        self.visits = 0

    def _loc(self, node: yaml.Node) -> Location:
        return Location(self.doc.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.visits += 1
        if self.visits > self.limits.max_nodes:
            raise LimitError(
                f"YAML expands to more than {self.limits.max_nodes} values "
                "(aliases that multiply? limits.max_nodes)",
                self._loc(node),
            )
        if depth > self.limits.max_depth:
            raise LimitError(f"YAML is nested deeper than {self.limits.max_depth} levels", self._loc(node))
        self.doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag not in _SEQ_TAGS:
                raise self._bad_tag(node)
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag not in _MAP_TAGS:
                raise self._bad_tag(node)
            return self._mapping(node, path, depth)
        raise LoadError("unsupported YAML node", self._loc(node))  # pragma: no cover

    def _bad_tag(self, node: yaml.Node) -> LoadError:
        tag = node.tag.replace(_T, "!!")
        return LoadError(
            f"tag {tag} is not allowed; campaign files use plain YAML values only",
            self._loc(node),
        )

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            raise self._bad_tag(node)
        if tag == _T + "str" or tag == _T + "timestamp" or tag == _T + "binary":
            return node.value  # dates stay text: JSON has no date type
        try:
            if tag == _T + "int":
                return _scalars.construct_yaml_int(node)
            if tag == _T + "float":
                return _scalars.construct_yaml_float(node)
            if tag == _T + "bool":
                return _scalars.construct_yaml_bool(node)
            return None
        except (ValueError, yaml.YAMLError):
            shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."  # not 5,000 digits
            raise LoadError(f"cannot read {shown!r} as {tag.rsplit(':', 1)[-1]}", self._loc(node)) from None

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[Any, Any] = {}
        seen: dict[Any, yaml.Node] = {}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise LoadError("mapping keys must be plain scalars", self._loc(key_node))
            key = self._scalar(key_node)
            if isinstance(key, float) or key is None or isinstance(key, bool):
                key = key_node.value  # `yes:` or `1.0:` as a key means the text
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise LoadError(f"duplicate key {key!r} (first defined on line {first})", self._loc(key_node))
            seen[key] = key_node
            self.doc.key_positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, path + (key,), depth + 1)
        # `<<: *base` fills in only the keys the mapping did not set itself
        for key_node, value_node in merged:
            key = self._scalar(cast(yaml.ScalarNode, key_node))
            if key not in out:
                self.doc.key_positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = self.build(value_node, path + (key,), depth + 1)
        return out

    def _merge_sources(self, node: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        for src in sources:
            if not isinstance(src, yaml.MappingNode):
                raise LoadError("'<<' merges mappings only", self._loc(src))
            pairs.extend(p for p in src.value if p[0].tag != _MERGE)
        return pairs
