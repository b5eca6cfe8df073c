"""Issue 12 item 12 on the cases page: theme, capability and open filters, words in summaries, and a
message for staff (not everything listed) when the address asks for a filter the page does not have."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.web.pages import add_cast, make_case, visitor


def test_the_page_filters_by_theme_capability_open_and_summary(engine: Engine) -> None:
    add_cast(engine)
    knife = make_case(
        engine, "submitted", themes=["knife_crime"], summary="Stabbings near the Larkhall estate."
    )
    lines = make_case(engine, "tasked")
    gone = make_case(engine, "withdrawn", themes=["knife_crime"], capabilities=["covert"])
    v = visitor(engine, "analyst.centre")

    page = v.get("/cases?theme=knife_crime&open=true")
    assert page.status_code == 200
    assert knife.reference in page.text
    assert lines.reference not in page.text and gone.reference not in page.text
    assert '<option value="knife_crime" selected>' in page.text  # the form shows what was asked
    assert '<option value="true" selected>open</option>' in page.text

    finished = v.get("/cases?open=false")
    assert gone.reference in finished.text and knife.reference not in finished.text
    covert = v.get("/cases?capability=covert")
    assert gone.reference in covert.text and lines.reference not in covert.text
    words = v.get("/cases?q=larkhall")
    assert knife.reference in words.text and lines.reference not in words.text


def test_an_unknown_filter_is_a_message_not_every_case(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    v = visitor(engine, "analyst.centre")

    page = v.get("/cases?themes=knife_crime")
    assert page.status_code == 422
    assert 'id="search-problems"' in page.text
    assert "This search has no filter called \u201cthemes\u201d" in page.text
    assert made.reference not in page.text  # nothing is listed as if the filter had been applied

    bad = v.get("/cases?theme=knife-crime&state=nonsense&open=perhaps")
    assert bad.status_code == 422
    assert "There is no theme \u201cknife-crime\u201d in the current rules." in bad.text
    assert "There is no state \u201cnonsense\u201d." in bad.text
    assert "\u201cOpen or finished\u201d is either open or finished." in bad.text
    assert "Traceback" not in bad.text and "pydantic" not in bad.text.lower()
