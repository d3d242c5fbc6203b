"""Small counts cannot be recovered by subtraction (complementary disclosure). A count below the
policy's disclosure.min_count is null for a role without row access to the children counted; but
where the counts shown add up to a total the caller also sees (a village's girls and boys and its
children, a township's children and its villages' children), the one null cell was the total minus
the rest. Such a cell takes a second one with it, so that no null cell is the difference of shown
figures. The county here: the field-layer village (nine children: one disabled and ill, eight
left-behind) and one girl in the other township's village."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth.policy import Policy
from graph.port import GraphStore
from kernel.settings import Settings
from tests.api_fixtures import AGENCIES, Api, start_app
from tests.contract.test_graph_store import COUNTY, TOWN, VILLAGE, VILLAGE2
from tests.screening_support import Families, away
from tests.security import field_support
from tests.security.field_support import RECOMPUTE

STATS = "query($d: String!) { statistics(division: $d, groupBy: %s) { counts { key count } } }"
COUNTS = "query($d: String!) { classificationCounts(division: $d) { division counts { key count } } }"
REPORT = (
    "query($d: String!, $p: String!) { periodicReport(division: $d, period: $p) {"
    " rows { division counts { key count } } totals { key count } } }"
)


# Roles that read statistics with row access to the children, but neither their classifications
# nor every fact a category is derived from: the women's federation (health: deny, disability: mask)
# and the disabled persons' federation (health: mask, disability: allow).
EXTRA = {
    "womens": ("wf-500101", "womens_federation", COUNTY, (), "officer", "read:identity"),
    "disabled": ("dpf-500101", "disabled_persons_federation", COUNTY, (), "officer", "read:identity"),
}


def populate(store: GraphStore) -> None:
    field_support.populate(store)
    Families(store, seed=1013).child(VILLAGE2, sex="F", father=away(), mother=away())


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("complements") / "data", graph_buffer_pool_mb=256)  # type: ignore[call-arg]
    for client, tokens, secrets in start_app(settings, {**AGENCIES, **EXTRA}, populate):
        api = Api(client, tokens, settings, secrets)
        r = api.gql("civil", RECOMPUTE, {"d": COUNTY})
        assert not r.json().get("errors"), r.json()
        yield api


def _latest(api: Api, who: str, division: str, group: str) -> dict[str, int | None]:
    body = api.gql(who, STATS % group, {"d": division}, purpose="statistics").json()
    assert not body.get("errors"), body
    return {c["key"]: c["count"] for c in body["data"]["statistics"][-1]["counts"]}


def _derivable(cells: dict[str, int | None], total: int | None) -> list[str]:
    """The null cells whose value is the shown total minus the shown cells."""
    hidden = [k for k, v in cells.items() if v is None]
    return hidden if len(hidden) == 1 and total is not None else []


@pytest.mark.parametrize("group", ["SEX", "ARRANGEMENT", "SCHOOLING", "CASE_STATUS"])
def test_a_partition_of_the_children_hides_no_cell_alone(api: Api, group: str) -> None:
    k = Policy.load().min_count
    total = sum(v or 0 for v in _latest(api, "county", VILLAGE, "DIVISION").values())
    full = _latest(api, "county", VILLAGE, group)
    assert sum(full.values()) == total == 9  # the rows of a group add up to the children
    seen = _latest(api, "analyst", VILLAGE, group)
    shown_total = _latest(api, "analyst", VILLAGE, "DIVISION")[VILLAGE]
    assert shown_total == 9
    assert not _derivable(seen, shown_total), (group, seen)
    assert all(v is None or v == full[key] for key, v in seen.items())
    assert all(v is None or v == 0 or v >= k for v in seen.values())


def test_in_distress_and_its_complement(api: Api) -> None:
    seen = _latest(api, "analyst", VILLAGE, "CATEGORY")
    assert seen["in_distress"] is None
    assert seen.get("not_in_distress") is None, seen  # else 9 - 8 = the one child in distress


def test_the_division_group_hides_no_village_alone(api: Api) -> None:
    """The county by township: 9 and 1 children, and the county's 10 (the sum of its sexes)."""
    full = _latest(api, "county", COUNTY, "DIVISION")
    assert sorted(full.values()) == [1, 9]
    seen = _latest(api, "analyst", COUNTY, "DIVISION")
    sexes = _latest(api, "analyst", COUNTY, "SEX")
    total = None if any(v is None for v in sexes.values()) else sum(sexes.values())  # type: ignore[arg-type]
    assert not _derivable(seen, total if total is not None else 10), seen


def test_classification_counts_hide_no_subdivision_alone(api: Api) -> None:
    body = api.gql("analyst", COUNTS, {"d": COUNTY}, purpose="statistics").json()
    assert not body.get("errors"), body
    total, *rows = body["data"]["classificationCounts"]
    for key, n in ((c["key"], c["count"]) for c in total["counts"]):
        cells = {r["division"]: next((c["count"] for c in r["counts"] if c["key"] == key), 0) for r in rows}
        assert not _derivable(cells, n), (key, n, cells)


def test_the_county_report_hides_no_township_alone(api: Api) -> None:
    body = api.gql("analyst", REPORT, {"d": COUNTY, "p": "2026-Q4"}, purpose="statistics").json()
    assert not body.get("errors"), body
    report = body["data"]["periodicReport"]
    for key, n in ((c["key"], c["count"]) for c in report["totals"]):
        rows = report["rows"]
        cells = {r["division"]: next((c["count"] for c in r["counts"] if c["key"] == key), 0) for r in rows}
        assert not _derivable(cells, n), (key, n, cells)


def test_a_role_with_row_access_gets_every_figure(api: Api) -> None:
    seen = _latest(api, "county", VILLAGE, "SEX")
    assert None not in seen.values()
    body = api.gql("civil", COUNTS, {"d": COUNTY}).json()
    assert all(c["count"] is not None for r in body["data"]["classificationCounts"] for c in r["counts"])


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="Open: suppression is decided per answer. A withheld township of the county's answer is the "
    "county's total minus the other township's own total, asked of that township (its own total is "
    "no small count). Closing it needs one suppression pattern per division tree and period, the "
    "same cells withheld in every answer (hierarchical secondary suppression).",
)
def test_a_withheld_subdivision_is_not_the_difference_of_two_answers(api: Api) -> None:
    def total(division: str) -> int | None:
        body = api.gql("analyst", COUNTS, {"d": division}, purpose="statistics").json()
        row = body["data"]["classificationCounts"][0]
        return next(c["count"] for c in row["counts"] if c["key"] == "children")

    county, township = total(COUNTY), total(TOWN)
    # The other township (one child) is withheld in the county's answer; were both figures shown,
    # it is county - township.
    assert county is None or township is None, (county, township)


@pytest.mark.parametrize("who", ["womens", "disabled"])
def test_a_category_count_is_the_fact_it_is_derived_from(api: Api, who: str) -> None:
    """One seriously ill child in the village (an ICD-10 diagnosis, class health) and one disabled
    (class disability): a role that may not read the class in full gets the small count null, as a
    role without row access does; the county supervisor, who reads both, gets them."""
    full = _latest(api, "county", VILLAGE, "CATEGORY")
    assert full["serious_illness"] == 1 and full["disability"] == 1
    seen = _latest(api, who, VILLAGE, "CATEGORY")
    assert seen["serious_illness"] is None, seen
    # The disabled persons' federation reads disability in full: its count is its own.
    assert seen["disability"] == (1 if who == "disabled" else None), seen
    assert seen["left_behind"] == 9  # no small count: shown to both


@pytest.mark.parametrize(("group", "key"), [("ARRANGEMENT", "entrusted_guardian"), ("SCHOOLING", "enrolled")])
def test_a_count_by_another_group_is_the_fact_it_is_derived_from(api: Api, group: str, key: str) -> None:
    """The same rule for the other groups a count is derived from: a guardianship arrangement is a
    family fact, a schooling status an education fact. The women's and the disabled persons'
    federations (family: mask, education: mask) got the village's one child with an entrusted
    guardian and its one enrolled pupil by ARRANGEMENT and SCHOOLING, where CATEGORY withholds the
    small counts of the same classes from them."""
    full = _latest(api, "county", VILLAGE, group)
    assert full[key] == 1, full
    for who in ("womens", "disabled"):
        seen = _latest(api, who, VILLAGE, group)
        assert seen[key] is None, (who, seen)
        assert not _derivable(seen, 9), (who, seen)  # nor the village's 9 minus the rest
