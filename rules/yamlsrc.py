"""Round-trip YAML loading that keeps a position for every node, and a reader that collects errors.

ruamel.yaml's round-trip loader records the line and column of each mapping key, mapping value and
sequence item (0-based); plain scalars carry no position of their own, so a scalar is located through
its parent. Every check appends to one error list instead of raising, so an admin sees every mistake
in one run of the checker.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from rules.errors import RuleError

Pos = tuple[int, int]
# Where a node with no position of its own is reported: the start of the file. Every mapping, sequence
# and key read from a file carries its position, so only a document that is not a mapping at all (or one
# built in code) lands here.
START: Pos = (1, 1)
DASH = "\u2013"  # ranges read "0\u20134" in messages, as users write them


def describe(value: Any) -> str:
    """How a value is shown in an error message: strings quoted, containers by kind."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) and not math.isfinite(value) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def plain(node: Any) -> Any:
    """The node as plain JSON-like Python (used for hashing and for the compiled form)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)


class Reader:
    """Reads one YAML file: positions of nodes, typed accessors, and the file's error list."""

    def __init__(self, file: str, errors: list[RuleError]) -> None:
        self.file = file
        self.errors = errors

    # -- loading ---------------------------------------------------------------------------------------
    def load(self, path: Path) -> Any:
        """Parse the file; on a syntax error record it (with its position) and return None."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.error((1, 1), "", f"cannot read file: {exc.__class__.__name__}")
            return None
        return self.parse(text)

    def parse(self, text: str) -> Any:
        """Parse text held elsewhere (a published version); on a syntax error record it, return None."""
        yaml = YAML(typ="rt")
        try:
            return yaml.load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            pos = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            problem = exc.problem or exc.context or "invalid YAML"
            self.error(pos, "", f"YAML syntax error: {problem}")
        except YAMLError as exc:
            self.error((1, 1), "", f"YAML syntax error: {exc}")
        return None

    # -- positions (1-based) ---------------------------------------------------------------------------
    @staticmethod
    def node_pos(node: Any, fallback: Pos = START) -> Pos:
        lc = getattr(node, "lc", None)
        if lc is not None and getattr(lc, "line", None) is not None:
            return (lc.line + 1, lc.col + 1)
        return fallback

    @staticmethod
    def key_pos(mapping: Any, key: Any, fallback: Pos = START) -> Pos:
        try:
            line, col = mapping.lc.key(key)
        except (AttributeError, KeyError, TypeError):
            return fallback
        return (line + 1, col + 1)

    @staticmethod
    def value_pos(mapping: Any, key: Any, fallback: Pos = START) -> Pos:
        try:
            line, col = mapping.lc.value(key)
        except (AttributeError, KeyError, TypeError):
            return fallback
        return (line + 1, col + 1)

    @staticmethod
    def item_pos(seq: Any, index: int, fallback: Pos = START) -> Pos:
        try:
            line, col = seq.lc.item(index)
        except (AttributeError, KeyError, TypeError, IndexError):
            return fallback
        return (line + 1, col + 1)

    # -- errors ----------------------------------------------------------------------------------------
    def error(self, pos: Pos, field: str, message: str) -> None:
        self.errors.append(RuleError(self.file, pos[0], pos[1], field, message))

    # -- typed access ----------------------------------------------------------------------------------
    def mapping(self, node: Any, pos: Pos, field: str) -> CommentedMap | None:
        if isinstance(node, CommentedMap):
            return node
        self.error(pos, field, f"expected a mapping, got {describe(node)}")
        return None

    def sequence(self, node: Any, pos: Pos, field: str) -> CommentedSeq | None:
        if isinstance(node, CommentedSeq):
            return node
        self.error(pos, field, f"expected a list, got {describe(node)}")
        return None

    def fields(
        self,
        mapping: CommentedMap,
        field: str,
        *,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> bool:
        """Report unknown and missing keys of a mapping; True when there were none."""
        required = tuple(required)
        allowed = set(required) | set(optional)
        ok = True
        here = self.node_pos(mapping, (1, 1))
        for key in mapping:
            if str(key) not in allowed:
                ok = False
                known = ", ".join(sorted(allowed))
                self.error(
                    self.key_pos(mapping, key, here),
                    join(field, str(key)),
                    f"unknown field (allowed: {known})",
                )
        for key in required:
            if key not in mapping:
                ok = False
                self.error(here, join(field, key), "required field is missing")
        return ok

    def string(self, value: Any, pos: Pos, field: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return str(value)
        self.error(pos, field, f"expected a non-empty string, got {describe(value)}")
        return None

    def integer(self, value: Any, pos: Pos, field: str, *, minimum: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(pos, field, f"expected an integer, got {describe(value)}")
            return None
        if minimum is not None and value < minimum:
            self.error(pos, field, f"must be at least {minimum}, got {value}")
            return None
        return int(value)

    def number(self, value: Any, pos: Pos, field: str) -> float | int | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.error(pos, field, f"expected a number, got {describe(value)}")
            return None
        return int(value) if isinstance(value, int) else float(value)

    def boolean(self, value: Any, pos: Pos, field: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.error(pos, field, f"expected true or false, got {describe(value)}")
        return None


def join(path: str, key: str | int) -> str:
    """Field paths as users read them: ``escalation[3].when.risk``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key
