"""Issue 12 item 12: case search filters by theme, capability and open/finished, finds words in summaries,
and refuses (never ignores) a filter it does not know, naming it."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.api.clients import add_cast, app_client, assert_problem, auth, make_case

CASES = "/api/v1/cases"


def refs(response: object) -> set[str]:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    return {c["reference"] for c in response.json()["items"]}  # type: ignore[attr-defined]


def test_theme_capability_open_and_summary_words(engine: Engine) -> None:
    add_cast(engine)
    knife = make_case(
        engine,
        "submitted",
        themes=["knife_crime"],
        capabilities=["surveillance"],
        title="Stockwell stabbings",
        summary="A run of stabbings near the Larkhall estate; covert support asked.",
    )
    lines = make_case(engine, "tasked")  # drugs, county lines, child exploitation; surveillance + financial
    gone = make_case(engine, "withdrawn", themes=["knife_crime", "gangs"], capabilities=["covert"])
    client = app_client(engine)
    headers = auth(engine, "analyst.centre")

    assert refs(client.get(CASES, params={"theme": "knife_crime"}, headers=headers)) == {
        knife.reference,
        gone.reference,
    }
    assert refs(client.get(CASES, params={"theme": "county_lines"}, headers=headers)) == {lines.reference}
    assert refs(client.get(CASES, params={"theme": "vawg"}, headers=headers)) == set()
    # Codes hold underscores (a LIKE wildcard): "financial_investigation" matches that code only.
    assert refs(client.get(CASES, params={"capability": "financial_investigation"}, headers=headers)) == {
        lines.reference
    }
    assert refs(client.get(CASES, params={"capability": "covert"}, headers=headers)) == {gone.reference}

    assert refs(client.get(CASES, params={"open": "true"}, headers=headers)) == {
        knife.reference,
        lines.reference,
    }
    assert refs(client.get(CASES, params={"open": "false"}, headers=headers)) == {gone.reference}
    both = client.get(CASES, params={"open": "true", "theme": "knife_crime"}, headers=headers)
    assert refs(both) == {knife.reference}

    # Words only the summary holds.
    assert refs(client.get(CASES, params={"q": "larkhall"}, headers=headers)) == {knife.reference}
    basildon = {lines.reference, gone.reference}  # both keep the county-lines request's summary
    assert refs(client.get(CASES, params={"q": "Basildon"}, headers=headers)) == basildon


def test_unknown_filters_and_values_are_refused_naming_them(engine: Engine) -> None:
    add_cast(engine)
    make_case(engine, "submitted")
    client = app_client(engine)
    headers = auth(engine, "analyst.centre")

    body = assert_problem(
        client.get(CASES, params={"themes": "drugs", "colour": "red"}, headers=headers), 422
    )
    assert {e["field"] for e in body["errors"]} == {"query.themes", "query.colour"}
    assert all(e["message"] == "unknown field" for e in body["errors"])

    body = assert_problem(client.get(CASES, params={"theme": "knife-crime"}, headers=headers), 422)
    (error,) = body["errors"]
    assert error["field"] == "theme" and error["message"].startswith("unknown theme 'knife-crime'; one of ")
    assert "knife_crime" in error["message"]

    body = assert_problem(client.get(CASES, params={"capability": "telepathy"}, headers=headers), 422)
    assert [e["field"] for e in body["errors"]] == ["capability"]

    body = assert_problem(client.get(CASES, params={"open": "perhaps"}, headers=headers), 422)
    assert [e["field"] for e in body["errors"]] == ["query.open"]


def test_a_requester_filtering_by_theme_still_sees_only_their_unit(engine: Engine) -> None:
    add_cast(engine)
    ne = make_case(engine, "submitted", themes=["knife_crime"])
    make_case(engine, "submitted", requesting_unit="AS", themes=["knife_crime"])
    client = app_client(engine)
    found = client.get(CASES, params={"theme": "knife_crime"}, headers=auth(engine, "req.ne"))
    assert refs(found) == {ne.reference}
