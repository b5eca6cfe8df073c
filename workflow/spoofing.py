"""Characters that make text show other than it reads: direction controls and invisible joiners.

A title holding U+202E (RIGHT-TO-LEFT OVERRIDE) shows "gnp.exe" as "exe.png"; a zero-width space
hides inside a name so two look alike. The schemas refuse them in every text field; whatever is already
stored (or arrives another way) is shown visibly by the pages and e-mails, never obeyed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from markupsafe import Markup

# Bidirectional formatting (LRE..RLO, LRI..PDI, LRM, RLM, ALM) and zero-width characters (ZWSP, ZWNJ,
# ZWJ, WORD JOINER, invisible operators, BOM).
SPOOFING = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def found(value: str) -> list[str]:
    """The spoofing characters in `value`, each as `U+202E RIGHT-TO-LEFT OVERRIDE`, in order, once each."""
    seen = dict.fromkeys(SPOOFING.findall(value))
    return [f"U+{ord(c):04X} {unicodedata.name(c, 'FORMAT CHARACTER')}" for c in seen]


def visible(value: str) -> str:
    """`value` with each spoofing character replaced by a visible marker such as ⟨U+202E⟩."""
    return SPOOFING.sub(lambda m: f"\u27e8U+{ord(m.group()):04X}\u27e9", value)


def shown(value: Any) -> Any:
    """A Jinja `finalize`: every value a page or an e-mail prints passes here, so spoofing characters
    are shown as markers, never obeyed (markers hold no markup, so safe values stay safe)."""
    if isinstance(value, Markup):
        return Markup(visible(str(value)))
    return visible(value) if isinstance(value, str) else value
