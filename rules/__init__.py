"""MoRiLE scoring, rule files, their compiler and engines (imports nothing else of sctac)."""

from rules.capacity_file import CapacityFile, load_capacity
from rules.checks import CheckResult, RuleWarning, check, check_matrix, is_matrix_file
from rules.decisions import Decisions, Escalation, Fired, Policy, Route
from rules.engine import BACKENDS, CompiledRules, compile_rules, durable_available
from rules.errors import (
    BackendUnavailable,
    FactError,
    RuleEngineError,
    RuleError,
    RuleFileErrors,
    ScoreInputError,
)
from rules.facts import FACTS
from rules.loader import load_ruleset
from rules.model import (
    Duration,
    EscalationLevel,
    Hub,
    LadderStep,
    OnScoring,
    Rule,
    Ruleset,
    SnoozeLimit,
    Term,
    Unit,
)
from rules.morile import Matrix, Score, default_matrix, load_matrix, score
from rules.preview import CaseChange, Preview, Standing, compare, preview
from rules.vocab import BANDS, band_rank, is_downgrade

DEFAULT_RULESET_PATH = __import__("pathlib").Path(__file__).parent / "default"

__all__ = [
    "BACKENDS",
    "BANDS",
    "DEFAULT_RULESET_PATH",
    "FACTS",
    "BackendUnavailable",
    "CapacityFile",
    "CaseChange",
    "CheckResult",
    "CompiledRules",
    "Decisions",
    "Duration",
    "Escalation",
    "EscalationLevel",
    "FactError",
    "Fired",
    "Hub",
    "LadderStep",
    "Matrix",
    "OnScoring",
    "Policy",
    "Preview",
    "Route",
    "Rule",
    "RuleEngineError",
    "RuleError",
    "RuleFileErrors",
    "RuleWarning",
    "Ruleset",
    "Score",
    "ScoreInputError",
    "SnoozeLimit",
    "Standing",
    "Term",
    "Unit",
    "band_rank",
    "check",
    "check_matrix",
    "compare",
    "compile_rules",
    "default_matrix",
    "durable_available",
    "is_downgrade",
    "is_matrix_file",
    "load_capacity",
    "load_matrix",
    "load_ruleset",
    "preview",
    "score",
]
