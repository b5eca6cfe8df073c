"""The tasking list ranked by the Control Strategy (issue 13): a strategy change reorders the list exactly
as its preview said; the JSON ranking equals the page's; the priority is recorded on the prioritise and
task events; a strategy with errors is refused naming file:line:col."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

import rules as rules_pkg
from tests.factories import unchecked
from tests.web.pages import add_cast, make_case, visitor
from workflow import service, strategies
from workflow import strategy_preview as sp
from workflow.errors import StrategyInvalid
from workflow.reads import tasking as reads_tasking
from workflow.tables import EVENT

SHIPPED = rules_pkg.DEFAULT_RULESET_PATH / "strategy.yaml"
# Themes of the shipped strategy's priorities, and two it leaves out; every case is scored alike, so
# only the strategy tells them apart.
THEMES = ["county_lines", "knife_crime", "vawg", "gangs", "fraud", "cyber"]


def _cases(engine: Engine) -> dict[str, str]:
    """One assessed case per theme (North East BCU: the EAST hub), reference -> theme."""
    made = {}
    for theme in THEMES:
        case = make_case(engine, "assessed", themes=[theme], title=f"A {theme} request")
        made[case.reference] = theme
    return made


def _candidate(tmp_path: Path) -> Path:
    """The shipped strategy with fraud first, cyber crime added last, county lines dropped and local
    priorities weighing nothing."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace("  - {rank: 1, theme: county_lines}\n", "  - {rank: 1, theme: fraud}\n")
    text = text.replace(
        "  - {rank: 7, theme: firearms}\n", "  - {rank: 7, theme: firearms}\n  - {rank: 8, theme: cyber}\n"
    )
    text = text.replace("  local: 5 ", "  local: 0 ")
    path = tmp_path / "strategy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _east(session: Session, at: object = None) -> list[str]:
    hubs = reads_tasking.agenda(session, who=unchecked("chair"), hub="EAST", per_hub=None, now=at)  # type: ignore[arg-type]
    return [c.reference for c in hubs[0].cases]


def test_a_strategy_change_reorders_the_list_exactly_as_its_preview_said(
    engine: Engine, tmp_path: Path
) -> None:
    made = _cases(engine)
    candidate = _candidate(tmp_path)
    with Session(engine) as s:
        before = _east(s)
        # The shipped strategy: knife crime (priority 2, 6/7 of 20, and a local priority of the North East
        # BCU, 5) above county lines (priority 1, 20); fraud and cyber (no priority) last.
        assert [made[r] for r in before[:2]] == ["knife_crime", "county_lines"]
        assert {made[r] for r in before[-2:]} == {"fraud", "cyber"}
        preview = sp.preview(s, path=candidate)
        at = preview.at
        assert _east(s, at) == before, "the preview changes nothing"
        strategies.publish(s, path=candidate, actor="admin")
        after = _east(s, at)
    assert after != before
    promised = {m.reference: (m.before, m.after) for m in preview.moves}
    for reference in made:
        was, now = before.index(reference) + 1, after.index(reference) + 1
        assert promised.get(reference, (was, was)) == (was, now), reference
    assert len(preview.up) == sum(1 for b, a in promised.values() if a < b) > 0
    assert len(preview.down) == sum(1 for b, a in promised.values() if a > b) > 0
    assert preview.summary.startswith(f"this strategy would move {len(preview.up)} case")
    assert made[after[0]] == "fraud"
    fraud_move = next(m for m in preview.moves if made[m.reference] == "fraud")
    assert fraud_move.hub == "East hub" and "Control Strategy priority 1: Fraud" in fraud_move.reason_after


def test_a_strategy_with_errors_is_refused_with_file_line_and_column(engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "strategy.yaml"
    bad.write_text(
        SHIPPED.read_text(encoding="utf-8").replace("theme: gangs}", "theme: gang}"), encoding="utf-8"
    )
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), start=1) if "theme: gang}" in t)
    with Session(engine) as s, pytest.raises(StrategyInvalid) as err:
        strategies.publish(s, path=bad, actor="admin")
    assert len(err.value.lines) == 1
    assert err.value.lines[0].startswith(f'{bad}:{line}:22: priorities[4].theme: unknown theme "gang"')
    assert err.value.detail.startswith("1 error(s) in the strategy file:\n")
    with Session(engine) as s:
        assert strategies.active_strategy(s).version == rules_pkg.load_strategy(SHIPPED).version


def _page_ranking(html: str) -> list[tuple[str, str]]:
    section = html.split('id="hub-EAST"')[1].split("</section>")[0]
    rows = re.findall(
        r'<a href="/cases/\d+">([^<]+)</a></td>.*?<span class="rank-reason">([^<]*)</span>',
        section,
        re.S,
    )
    return [(ref, why.replace("&amp;", "&")) for ref, why in rows]


def test_the_json_ranking_equals_the_pages(engine: Engine) -> None:
    add_cast(engine)
    _cases(engine)
    v = visitor(engine, "sup.centre")
    page = _page_ranking(v.get("/tasking").text)
    api = v.client.get("/api/v1/tasking", headers={"Authorization": f"Bearer {v.token}"})
    assert api.status_code == 200, api.text
    east = next(h for h in api.json()["hubs"] if h["hub"]["code"] == "EAST")
    listed = [(c["reference"], c["reason"]) for c in east["cases"]]
    assert listed == page and len(listed) == len(THEMES)
    first = east["cases"][0]
    assert first["rank"] == 1 and set(first["parts"]) == set(rules_pkg.PARTS)
    assert first["priority"] == round(sum(first["parts"].values()), 2)
    assert "Control Strategy priority 2: Knife crime" in first["reason"]  # with its local priority


def test_requesters_get_no_tasking_list(engine: Engine) -> None:
    add_cast(engine)
    _cases(engine)
    v = visitor(engine, "req.ne")
    api = v.client.get("/api/v1/tasking", headers={"Authorization": f"Bearer {v.token}"})
    assert api.status_code == 403
    for url in ("/tasking", "/tasking/export.xlsx", "/tasking/pack.pdf"):
        assert v.get(url).status_code == 403, url


def test_a_hub_supervisor_sees_only_what_the_page_shows_them(engine: Engine) -> None:
    add_cast(engine)
    _cases(engine)
    v = visitor(engine, "sup.north")
    api = v.client.get("/api/v1/tasking", headers={"Authorization": f"Bearer {v.token}"}).json()
    east = next(h for h in api["hubs"] if h["hub"]["code"] == "EAST")
    assert east["cases"] == [] and east["waiting"] == 0


def test_the_priority_is_recorded_on_the_prioritise_and_task_events(engine: Engine) -> None:
    add_cast(engine)
    case = make_case(engine, "assessed", themes=["knife_crime"])
    with Session(engine) as s:
        service.fire(s, case_id=case.id, trigger="prioritise", by=unchecked("chair"))
        service.fire(
            s,
            case_id=case.id,
            trigger="task",
            by=unchecked("chair"),
            data={"owner": "owner.east2", "hub": "EAST"},
        )
        payloads = dict(
            s.execute(
                select(EVENT.c.trigger, EVENT.c.payload).where(
                    EVENT.c.case_id == case.id, EVENT.c.trigger.in_(["prioritise", "task"])
                )
            ).all()
        )
        version = strategies.active_strategy(s).version
    for trigger in ("prioritise", "task"):
        recorded = payloads[trigger]["priority"]
        assert recorded["strategy"] == version
        assert [p["name"] for p in recorded["parts"]] == list(rules_pkg.PARTS)
        assert "Control Strategy priority 2: Knife crime" in recorded["reason"]
        assert recorded["total"] == round(sum(p["points"] for p in recorded["parts"]), 2)


def test_the_admin_page_previews_then_publishes_and_names_errors(engine: Engine, tmp_path: Path) -> None:
    add_cast(engine)
    made = _cases(engine)
    v = visitor(engine, "admin")
    page = v.get("/admin/strategy").text
    assert "Control Strategy 2026/27 (placeholder)" in page
    candidate = _candidate(tmp_path).read_text(encoding="utf-8")
    checked = v.post("/admin/strategy", {"text": candidate, "action": "check"})
    assert checked.status_code == 200
    summary = re.search(r'<p id="preview-summary">(.*?)</p>', checked.text, re.S)
    assert summary and "this strategy would move" in summary.group(1)
    fraud = next(r for r, t in made.items() if t == "fraud")
    assert fraud in checked.text and "East hub" in checked.text
    with Session(engine) as s:
        assert strategies.active_strategy(s).version == rules_pkg.load_strategy(SHIPPED).version
    bad = v.post("/admin/strategy", {"text": candidate.replace("weights:", "weight:"), "action": "check"})
    assert bad.status_code == 422
    assert re.search(r"<code>strategy\.yaml:\d+:1: weight: unknown field", bad.text), bad.text
    done = v.post("/admin/strategy", {"text": candidate, "action": "publish", "note": "fraud first"})
    assert done.status_code == 200 and "Published <strong>cs-" in done.text
    with Session(engine) as s:
        assert made[_east(s)[0]] == "fraud"
    assert visitor(engine, "sup.centre").get("/admin/strategy").status_code == 403
