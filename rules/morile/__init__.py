"""MoRiLE: the matrix model (matrix.py), reading matrix files (matrix_file.py) and scoring (scoring.py).

The names below are the package's public face; callers import them from ``rules.morile`` or ``rules``.
"""

from rules.morile.matrix import (
    DEFAULT_MATRIX_PATH,
    HANDLING_CODES,
    INTELLIGENCE_GRADES,
    INTELLIGENCE_SOURCES,
    BandDef,
    Matrix,
    ScopeLevel,
)
from rules.morile.matrix_file import default_matrix, load_matrix
from rules.morile.scoring import Score, score

__all__ = [
    "DEFAULT_MATRIX_PATH",
    "HANDLING_CODES",
    "INTELLIGENCE_GRADES",
    "INTELLIGENCE_SOURCES",
    "BandDef",
    "Matrix",
    "ScopeLevel",
    "Score",
    "default_matrix",
    "load_matrix",
    "score",
]
