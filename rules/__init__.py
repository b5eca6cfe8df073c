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
from rules.loader import STRATEGY_FILES, load_ruleset
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
from rules.strategy import (
    PART_LABELS,
    PARTS,
    LocalPriority,
    Requirement,
    Strategy,
    StrategyCheck,
    StrategyPriority,
    check_strategy,
    load_strategy,
    parse_strategy,
)
from rules.vocab import BANDS, band_rank, is_downgrade

DEFAULT_RULESET_PATH = __import__("pathlib").Path(__file__).parent / "default"

__all__ = [
    "BACKENDS",
    "BANDS",
    "DEFAULT_RULESET_PATH",
    "FACTS",
    "PARTS",
    "PART_LABELS",
    "STRATEGY_FILES",
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
    "LocalPriority",
    "Matrix",
    "OnScoring",
    "Policy",
    "Preview",
    "Requirement",
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
    "Strategy",
    "StrategyCheck",
    "StrategyPriority",
    "Term",
    "Unit",
    "band_rank",
    "check",
    "check_matrix",
    "check_strategy",
    "compare",
    "compile_rules",
    "default_matrix",
    "durable_available",
    "is_downgrade",
    "is_matrix_file",
    "load_capacity",
    "load_matrix",
    "load_ruleset",
    "load_strategy",
    "parse_strategy",
    "preview",
    "score",
]
