"""Loading and validating rule files (format: rules/README.md).

A ruleset is a folder of ``*.yaml`` files (read in name order) or a single file. Each top-level
section may appear in one file only. Reference data is read first, so rules are checked against the
hubs, units and vocabularies of the same ruleset. Every problem is collected; one
:class:`RuleFileErrors` is raised at the end.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from rules.condition_parser import ConditionParser
from rules.errors import RuleError, RuleFileErrors
from rules.facts import FACTS
from rules.model import (
    POLICY_FIELDS,
    Duration,
    EscalationAction,
    EscalationLevel,
    Hub,
    LadderStep,
    OnScoring,
    RouteTarget,
    Rule,
    Ruleset,
    SnoozeLimit,
    Term,
    Unit,
)
from rules.morile.matrix_file import OPTIONAL_FIELDS as OPTIONAL_FIELDS_OF_MATRIX
from rules.morile.matrix_file import REQUIRED_FIELDS as REQUIRED_FIELDS_OF_MATRIX
from rules.retention import SECTIONS as RETENTION_SECTIONS
from rules.vocab import DURATION_UNITS, ROLES, SLA_STAGES, UNIT_KINDS
from rules.yamlsrc import Pos, Reader, describe, join, plain

REFERENCE_SECTIONS = ("hubs", "units", "themes", "capabilities", "target_types")
SECTIONS = (
    *REFERENCE_SECTIONS,
    "routing",
    "default_route",
    "escalation_levels",
    "escalation",
    "policy_defaults",
    "policy",
)
REQUIRED_SECTIONS = (*REFERENCE_SECTIONS, "default_route", "escalation_levels", "policy_defaults")
# The file of a folder ruleset that holds each required section (as rules/default/ is laid out): a
# missing section is reported there, or at the first file when the folder has no file of that name.
HOME_FILES = {
    **{name: "reference" for name in REFERENCE_SECTIONS},
    "default_route": "routing",
    "escalation_levels": "escalation",
    "policy_defaults": "policy",
}
RESERVED_NAMES = ("default_route", "policy_defaults")  # they name the fallbacks in traces


MATRIX_NOT_RULES = "a MoRiLE matrix file, not a rule file: check it on its own as a matrix"
_MATRIX_FIELDS = frozenset((*REQUIRED_FIELDS_OF_MATRIX, *OPTIONAL_FIELDS_OF_MATRIX))


def looks_like_matrix(doc: Any) -> bool:
    """A file's top mapping holds a MoRiLE matrix's fields and no ruleset section."""
    if not isinstance(doc, dict):
        return False
    keys = {str(k) for k in doc}
    return bool(keys & _MATRIX_FIELDS) and not keys & set(SECTIONS)


# The Control Strategy lives beside the rules but is checked, versioned and published on its own
# (rules/strategy.py): a strategy change never changes the ruleset's version.
STRATEGY_FILES = ("strategy.yaml", "strategy.yml")


def ruleset_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(
            p
            for p in path.iterdir()
            if p.suffix in (".yaml", ".yml") and p.is_file() and p.name not in STRATEGY_FILES
        )
    return [path]


def load_ruleset(path: str | Path) -> Ruleset:
    """Load, validate and version a ruleset; raise :class:`RuleFileErrors` with every problem."""
    return _Loader(Path(path)).load()


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.errors: list[RuleError] = []
        # section -> (reader, the file's top mapping, value node)
        self.sections: dict[str, tuple[Reader, CommentedMap, Any]] = {}
        self.vocab: dict[str, tuple[str, ...]] = {}
        self.rule_names: dict[str, tuple[str, int]] = {}
        self.level_handlers: dict[int, str] = {}

    def load(self) -> Ruleset:
        files = ruleset_files(self.root)
        if not files or not self.root.exists():
            self.errors.append(RuleError(str(self.root), 1, 1, "", "no rule files found (*.yaml)"))
            raise RuleFileErrors(self.errors)
        for path in files:
            reader = Reader(str(path), self.errors)
            doc = reader.load(path)
            if doc is None and not any(e.file == reader.file for e in self.errors):
                continue  # an empty file holds nothing
            if doc is None:
                continue
            top = reader.mapping(doc, (1, 1), "")
            if top is None:
                continue
            if looks_like_matrix(top):
                reader.error((1, 1), "", MATRIX_NOT_RULES)
                continue
            for key in top:
                pos = reader.key_pos(top, key, (1, 1))
                if key in RETENTION_SECTIONS:
                    continue  # the retention schedule: checked on its own (rules/retention.py)
                if key not in SECTIONS:
                    reader.error(pos, str(key), f"unknown section (allowed: {', '.join(SECTIONS)})")
                elif key in self.sections:
                    other, other_top, _ = self.sections[key]
                    line, col = other.key_pos(other_top, key, (1, 1))
                    reader.error(pos, str(key), f"section already defined at {other.file}:{line}:{col}")
                else:
                    self.sections[str(key)] = (reader, top, top[key])
        matrix_only = not self.sections and any(e.message == MATRIX_NOT_RULES for e in self.errors)
        if matrix_only or any(e.message.startswith("YAML syntax error") for e in self.errors):
            raise RuleFileErrors(self.errors)
        for name in REQUIRED_SECTIONS:
            if name not in self.sections:
                home = next((f for f in files if f.stem == HOME_FILES[name]), files[0])
                Reader(str(home), self.errors).error(
                    (1, 1), name, "required section is missing from the ruleset"
                )

        hubs = self.reference("hubs", self.hub)
        units = self.reference("units", self.unit)
        themes = self.reference("themes", self.term)
        capabilities = self.reference("capabilities", self.term)
        target_types = self.reference("target_types", self.term)
        self.vocab = {
            "hubs": tuple(hubs),
            "units": tuple(units),
            "themes": tuple(themes),
            "capabilities": tuple(capabilities),
            "target_types": tuple(target_types),
        }
        default_route = self.single("default_route", self.route_target)
        levels = self.escalation_levels()
        policy_defaults = self.single("policy_defaults", self.policy_defaults)
        routing = self.rules("routing", self.route_target)
        escalation = self.rules("escalation", self.escalation_action)
        policy = self.rules("policy", self.policy_patch)

        if self.errors:
            raise RuleFileErrors(sorted(self.errors, key=lambda e: (e.file, e.line, e.column, e.field)))
        assert isinstance(default_route, RouteTarget) and isinstance(policy_defaults, dict)
        return Ruleset(
            version=self.version(),
            source=str(self.root),
            hubs=hubs,
            units=units,
            themes=themes,
            capabilities=capabilities,
            target_types=target_types,
            routing=routing,
            default_route=default_route,
            escalation_levels=levels,
            escalation=escalation,
            policy_defaults=policy_defaults,
            policy=policy,
            files=tuple(str(p) for p in files),
        )

    def version(self) -> str:
        """Content hash of the parsed sections: comments, layout and file split do not change it."""
        content = {name: plain(node) for name, (_, _, node) in sorted(self.sections.items())}
        digest = hashlib.sha256(
            json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        return f"rs-{digest[:12]}"

    # -- reference data --------------------------------------------------------------------------------
    def reference(self, section: str, parse: Callable[..., Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if section not in self.sections:
            return out
        r, top, node = self.sections[section]
        seq = r.sequence(node, r.value_pos(top, section, (1, 1)), section)
        first_seen: dict[str, Pos] = {}
        for i, item in enumerate(seq or []):
            field = join(section, i)
            pos = r.item_pos(seq, i, (1, 1))
            m = r.mapping(item, pos, field)
            if m is None:
                continue
            value = parse(r, m, field, pos, section)
            if value is None:
                continue
            if value.code in out:
                line, _ = first_seen[value.code]
                r.error(
                    r.value_pos(m, "code", pos),
                    join(field, "code"),
                    f'duplicate code "{value.code}" (first at line {line})',
                )
                continue
            first_seen[value.code] = r.value_pos(m, "code", pos)
            out[value.code] = value
        if seq is not None and not seq:
            r.error(r.value_pos(top, section, (1, 1)), section, "needs at least one entry")
        return out

    def code(self, r: Reader, m: CommentedMap, field: str, pos: Pos) -> str | None:
        value = m.get("code")
        if isinstance(value, str) and value and all(c.isalnum() or c in "_-" for c in value):
            return str(value)
        r.error(
            r.value_pos(m, "code", pos),
            join(field, "code"),
            f"expected a code (letters, digits, _ or -), got {describe(value)}",
        )
        return None

    def hub(self, r: Reader, m: CommentedMap, field: str, pos: Pos, _: str) -> Hub | None:
        if not r.fields(m, field, required=("code", "name", "capacity"), optional=("description",)):
            return None
        code = self.code(r, m, field, pos)
        name = r.string(m["name"], r.value_pos(m, "name", pos), join(field, "name"))
        capacity = r.integer(
            m["capacity"], r.value_pos(m, "capacity", pos), join(field, "capacity"), minimum=0
        )
        if code is None or name is None or capacity is None:
            return None
        return Hub(code, name, capacity)

    def unit(self, r: Reader, m: CommentedMap, field: str, pos: Pos, _: str) -> Unit | None:
        if not r.fields(m, field, required=("code", "name", "kind"), optional=("boroughs", "description")):
            return None
        code = self.code(r, m, field, pos)
        name = r.string(m["name"], r.value_pos(m, "name", pos), join(field, "name"))
        kind = m["kind"]
        if kind not in UNIT_KINDS:
            r.error(
                r.value_pos(m, "kind", pos),
                join(field, "kind"),
                f"must be one of {', '.join(UNIT_KINDS)}, got {describe(kind)}",
            )
            kind = None
        boroughs: list[str] = []
        if "boroughs" in m:
            seq = r.sequence(m["boroughs"], r.value_pos(m, "boroughs", pos), join(field, "boroughs"))
            for i, b in enumerate(seq or []):
                text = r.string(b, r.item_pos(seq, i, pos), join(join(field, "boroughs"), i))
                if text is not None:
                    boroughs.append(text)
        if code is None or name is None or kind is None:
            return None
        return Unit(code, name, str(kind), tuple(boroughs))

    def term(self, r: Reader, m: CommentedMap, field: str, pos: Pos, _: str) -> Term | None:
        if not r.fields(m, field, required=("code", "label"), optional=("description",)):
            return None
        code = self.code(r, m, field, pos)
        label = r.string(m["label"], r.value_pos(m, "label", pos), join(field, "label"))
        return Term(code, label) if code is not None and label is not None else None

    # -- single blocks ---------------------------------------------------------------------------------
    def single(self, section: str, parse: Callable[[Reader, Any, str, Pos], Any]) -> Any:
        if section not in self.sections:
            return None
        r, top, node = self.sections[section]
        return parse(r, node, section, r.value_pos(top, section, (1, 1)))

    def choice(self, r: Reader, value: Any, pos: Pos, field: str, vocab: str, noun: str) -> str | None:
        known = self.vocab.get(vocab, ())
        if isinstance(value, str) and value in known:
            return str(value)
        if isinstance(value, str):
            r.error(pos, field, f'unknown {noun} "{value}" (known: {", ".join(known)})')
        else:
            r.error(pos, field, f"expected a {noun} code, got {describe(value)}")
        return None

    def route_target(self, r: Reader, node: Any, field: str, pos: Pos) -> RouteTarget | None:
        m = r.mapping(node, pos, field)
        if m is None or not r.fields(m, field, required=("hub",), optional=("team",)):
            return None
        hub = self.choice(r, m["hub"], r.value_pos(m, "hub", pos), join(field, "hub"), "hubs", "hub")
        team = None
        if "team" in m and m["team"] is not None:
            team = self.choice(
                r, m["team"], r.value_pos(m, "team", pos), join(field, "team"), "capabilities", "capability"
            )
            if team is None:
                return None
        return RouteTarget(hub, team) if hub is not None else None

    def role(self, r: Reader, value: Any, pos: Pos, field: str) -> str | None:
        if isinstance(value, str) and value in ROLES:
            return str(value)
        r.error(pos, field, f"must be one of {', '.join(ROLES)}, got {describe(value)}")
        return None

    def escalation_levels(self) -> dict[int, EscalationLevel]:
        out: dict[int, EscalationLevel] = {}
        if "escalation_levels" not in self.sections:
            return out
        r, top, node = self.sections["escalation_levels"]
        pos = r.value_pos(top, "escalation_levels", (1, 1))
        seq = r.sequence(node, pos, "escalation_levels")
        declared: set[int] = set()
        for i, item in enumerate(seq or []):
            field = join("escalation_levels", i)
            ipos = r.item_pos(seq, i, pos)
            m = r.mapping(item, ipos, field)
            if m is None or not r.fields(
                m, field, required=("level", "name", "handler"), optional=("description",)
            ):
                continue
            level = r.integer(m["level"], r.value_pos(m, "level", ipos), join(field, "level"), minimum=1)
            name = r.string(m["name"], r.value_pos(m, "name", ipos), join(field, "name"))
            handler = self.role(r, m["handler"], r.value_pos(m, "handler", ipos), join(field, "handler"))
            if level is not None:
                declared.add(level)  # rules may use it: report its own problems only once
            if level is None or name is None or handler is None:
                continue
            if level in out:
                r.error(
                    r.value_pos(m, "level", ipos), join(field, "level"), f"level {level} is declared twice"
                )
                continue
            out[level] = EscalationLevel(level, name, handler)
        if seq is not None and sorted(out) != list(range(1, len(out) + 1)):
            r.error(pos, "escalation_levels", "levels must be numbered 1, 2, 3, ... without gaps")
        elif seq is not None and not out and not seq:
            r.error(pos, "escalation_levels", "needs at least one level")
        self.level_handlers = {lvl: out[lvl].handler if lvl in out else "" for lvl in declared}
        return dict(sorted(out.items()))

    def escalation_action(self, r: Reader, node: Any, field: str, pos: Pos) -> EscalationAction | None:
        m = r.mapping(node, pos, field)
        if m is None or not r.fields(m, field, required=("level", "reason"), optional=("handler",)):
            return None
        lpos = r.value_pos(m, "level", pos)
        level = r.integer(m["level"], lpos, join(field, "level"))
        if level is not None and level not in self.level_handlers:
            known = ", ".join(str(k) for k in sorted(self.level_handlers))
            r.error(lpos, join(field, "level"), f"unknown escalation level {level} (declared: {known})")
            level = None
        rpos = r.value_pos(m, "reason", pos)
        reason = r.string(m["reason"], rpos, join(field, "reason"))
        if reason is not None:
            reason = self.check_template(r, reason, rpos, join(field, "reason"))
        handler = None
        if "handler" in m:
            handler = self.role(r, m["handler"], r.value_pos(m, "handler", pos), join(field, "handler"))
            if handler is None:
                return None
        if level is None or reason is None:
            return None
        return EscalationAction(level, reason, handler)

    def check_template(self, r: Reader, text: str, pos: Pos, field: str) -> str | None:
        """Reasons may name facts in braces ({risk}); anything else in braces is a mistake."""
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as exc:
            r.error(pos, field, f"bad placeholder in reason: {exc}")
            return None
        for _, name, spec, conv in parts:
            if name is None:
                continue
            if name not in FACTS or spec or conv:
                r.error(pos, field, f"unknown placeholder {{{name}}} (facts: {', '.join(FACTS)})")
                return None
        return text

    # -- durations and policy --------------------------------------------------------------------------
    def duration(self, r: Reader, node: Any, pos: Pos, field: str) -> Duration | None:
        units = ", ".join(DURATION_UNITS)
        if not isinstance(node, CommentedMap) or len(node) != 1:
            r.error(
                pos, field, f"expected a duration such as {{days: 3}} (one of {units}), got {describe(node)}"
            )
            return None
        ((unit, amount),) = node.items()
        if unit not in DURATION_UNITS:
            r.error(
                r.key_pos(node, unit, pos),
                join(field, str(unit)),
                f"unknown duration unit (allowed: {units})",
            )
            return None
        value = r.integer(amount, r.value_pos(node, unit, pos), join(field, str(unit)), minimum=0)
        return Duration(value, str(unit)) if value is not None else None

    def policy_fields(self, r: Reader, m: CommentedMap, field: str, pos: Pos) -> dict[str, Any]:
        """Parse the policy keys present in ``m`` into JSON values keyed by POLICY_FIELDS names."""
        out: dict[str, Any] = {}
        if "sla" in m:
            spos = r.value_pos(m, "sla", pos)
            sla = r.mapping(m["sla"], spos, join(field, "sla"))
            for stage, value in (sla or {}).items():
                sfield = join(join(field, "sla"), str(stage))
                if stage not in SLA_STAGES:
                    r.error(
                        r.key_pos(sla, stage, spos),
                        sfield,
                        f"unknown stage (SLA stages: {', '.join(SLA_STAGES)})",
                    )
                    continue
                d = self.duration(r, value, r.value_pos(sla, stage, spos), sfield)
                if d is not None:
                    out[f"sla.{stage}"] = d.as_dict()
        if "review_days" in m:
            days = r.integer(
                m["review_days"], r.value_pos(m, "review_days", pos), join(field, "review_days"), minimum=1
            )
            if days is not None:
                out["review_days"] = days
        if "on_scoring" in m:
            opos = r.value_pos(m, "on_scoring", pos)
            ofield = join(field, "on_scoring")
            o = r.mapping(m["on_scoring"], opos, ofield)
            if o is not None and r.fields(o, ofield, required=("action", "forum")):
                action = r.string(o["action"], r.value_pos(o, "action", opos), join(ofield, "action"))
                forum = r.string(o["forum"], r.value_pos(o, "forum", opos), join(ofield, "forum"))
                if action is not None and forum is not None:
                    out["on_scoring"] = OnScoring(action, forum).as_dict()
        if "reminders" in m:
            rpos = r.value_pos(m, "reminders", pos)
            seq = r.sequence(m["reminders"], rpos, join(field, "reminders"))
            items = [
                self.duration(r, v, r.item_pos(seq, i, rpos), join(join(field, "reminders"), i))
                for i, v in enumerate(seq or [])
            ]
            if seq is not None and None not in items:
                out["reminders"] = [d.as_dict() for d in items if d is not None]
        if "ladder" in m:
            lpos = r.value_pos(m, "ladder", pos)
            seq = r.sequence(m["ladder"], lpos, join(field, "ladder"))
            steps: list[LadderStep | None] = []
            for i, item in enumerate(seq or []):
                sfield = join(join(field, "ladder"), i)
                ipos = r.item_pos(seq, i, lpos)
                s = r.mapping(item, ipos, sfield)
                if s is None or not r.fields(s, sfield, required=("step", "after", "notify")):
                    steps.append(None)
                    continue
                name = r.string(s["step"], r.value_pos(s, "step", ipos), join(sfield, "step"))
                after = self.duration(r, s["after"], r.value_pos(s, "after", ipos), join(sfield, "after"))
                notify = self.role(r, s["notify"], r.value_pos(s, "notify", ipos), join(sfield, "notify"))
                ok = name is not None and after is not None and notify is not None
                steps.append(LadderStep(name, after, notify) if ok else None)  # type: ignore[arg-type]
            if seq is not None and None not in steps:
                out["ladder"] = [s.as_dict() for s in steps if s is not None]
        if "snooze_limit" in m:
            npos = r.value_pos(m, "snooze_limit", pos)
            nfield = join(field, "snooze_limit")
            n = r.mapping(m["snooze_limit"], npos, nfield)
            if n is not None and r.fields(n, nfield, required=("times", "longest")):
                times = r.integer(n["times"], r.value_pos(n, "times", npos), join(nfield, "times"), minimum=0)
                longest = self.duration(
                    r, n["longest"], r.value_pos(n, "longest", npos), join(nfield, "longest")
                )
                if times is not None and longest is not None:
                    out["snooze_limit"] = SnoozeLimit(times, longest).as_dict()
        return out

    POLICY_KEYS = ("sla", "review_days", "on_scoring", "reminders", "ladder", "snooze_limit")

    def policy_defaults(self, r: Reader, node: Any, field: str, pos: Pos) -> dict[str, Any] | None:
        m = r.mapping(node, pos, field)
        if m is None:
            return None
        r.fields(m, field, required=self.POLICY_KEYS)
        out = self.policy_fields(r, m, field, pos)
        if "sla" in m and isinstance(m["sla"], CommentedMap):
            for stage in SLA_STAGES:
                if stage not in m["sla"]:
                    r.error(
                        r.value_pos(m, "sla", pos),
                        join(join(field, "sla"), stage),
                        "required field is missing",
                    )
        return out if all(f in out for f in POLICY_FIELDS) else None

    def policy_patch(self, r: Reader, node: Any, field: str, pos: Pos) -> dict[str, Any] | None:
        m = r.mapping(node, pos, field)
        if m is None or not r.fields(m, field, optional=self.POLICY_KEYS):
            return None
        if not m:
            r.error(pos, field, f"sets nothing (fields: {', '.join(self.POLICY_KEYS)})")
            return None
        before = len(self.errors)
        out = self.policy_fields(r, m, field, pos)
        return out if len(self.errors) == before else None

    # -- rules -----------------------------------------------------------------------------------------
    def rules(self, section: str, parse_then: Callable[[Reader, Any, str, Pos], Any]) -> tuple[Rule, ...]:
        if section not in self.sections:
            return ()
        r, top, node = self.sections[section]
        spos = r.value_pos(top, section, (1, 1))
        seq = r.sequence(node, spos, section)
        out: list[Rule] = []
        for i, item in enumerate(seq or []):
            field = join(section, i)
            pos = r.item_pos(seq, i, spos)
            m = r.mapping(item, pos, field)
            if m is None:
                continue
            r.fields(m, field, required=("name", "when", "then"), optional=("priority", "description"))
            name = (
                r.string(m.get("name"), r.value_pos(m, "name", pos), join(field, "name"))
                if "name" in m
                else None
            )
            if name is not None:
                if name in RESERVED_NAMES:
                    r.error(r.value_pos(m, "name", pos), join(field, "name"), f'"{name}" is a reserved name')
                    name = None
                elif name in self.rule_names:
                    other_file, other_line = self.rule_names[name]
                    r.error(
                        r.value_pos(m, "name", pos),
                        join(field, "name"),
                        f'duplicate rule name "{name}" (first at {other_file}:{other_line})',
                    )
                    name = None
                else:
                    self.rule_names[name] = (r.file, r.value_pos(m, "name", pos)[0])
            priority = 0
            if "priority" in m:
                priority = (
                    r.integer(m["priority"], r.value_pos(m, "priority", pos), join(field, "priority")) or 0
                )
            description = ""
            if "description" in m:
                description = (
                    r.string(m["description"], r.value_pos(m, "description", pos), join(field, "description"))
                    or ""
                )
            when = None
            if "when" in m:
                when = ConditionParser(r, self.vocab).parse(
                    m["when"], r.value_pos(m, "when", pos), join(field, "when")
                )
            then = None
            if "then" in m:
                then = parse_then(r, m["then"], join(field, "then"), r.value_pos(m, "then", pos))
            if name is not None and when is not None and then is not None:
                out.append(Rule(section, name, i, priority, when, then, description, r.file, pos[0], pos[1]))
        return tuple(out)
