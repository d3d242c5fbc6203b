"""Small-count suppression (issue 10, class 6): a role without row access to the people counted
gets counts below the policy's disclosure.min_count as null; a role with row access gets them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth.policy import Policy
from tests.api_fixtures import Api
from tests.contract.test_graph_store import VILLAGE
from tests.security.field_support import serve_county

COUNTS = "query($d: String!) { classificationCounts(division: $d) { division counts { key count } } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_county(tmp_path_factory.mktemp("small_counts"))


def _counts(api: Api, who: str, purpose: str) -> dict[str, int | None]:
    body = api.gql(who, COUNTS, {"d": VILLAGE}, purpose=purpose).json()
    assert not body.get("errors"), body
    row = body["data"]["classificationCounts"][0]  # the total of the division asked for
    assert row["division"] == VILLAGE
    return {c["key"]: c["count"] for c in row["counts"]}


def test_the_analyst_gets_no_count_below_k(api: Api) -> None:
    k = Policy.load().min_count
    assert k == 5
    full = _counts(api, "civil", "case_work")
    seen = _counts(api, "analyst", "statistics")
    assert set(seen) == set(full)
    small = [key for key, n in full.items() if n is not None and 0 < n < k]
    large = [key for key, n in full.items() if n is not None and n >= k]
    assert small and large  # the fixture has both: one disabled child, eight left-behind ones
    assert full["disability"] == 1
    assert all(seen[key] is None for key in small)
    assert all(seen[key] == full[key] for key in large)
    assert all(n is None or n == 0 or n >= k for n in seen.values())


def test_k_is_the_policy_setting() -> None:
    text = Policy.load().source
    from pathlib import Path

    changed = Path(text).read_text(encoding="utf-8").replace("min_count = 5", "min_count = 2", 1)
    policy = Policy.loads(changed)
    assert policy.min_count == 2
    assert policy.mask_api_field("KeyCount", "count", 1) is None
    assert policy.mask_api_field("KeyCount", "count", 2) == 2


FILE = (
    "query($d: String!, $p: String!, $f: ReportFormat!) {"
    " periodicReportFile(division: $d, period: $p, format: $f) { contentBase64 } }"
)
REPORT = (
    "query($d: String!, $p: String!) { periodicReport(division: $d, period: $p) { totals { key count } } }"
)


def _file_rows(api: Api, who: str, fmt: str) -> list[list[str]]:
    """The exported report's table (heading line and the two header rows left out), as text."""
    import base64
    import csv
    import io

    body = api.gql(who, FILE, {"d": VILLAGE, "p": "2026-Q4", "f": fmt}, purpose="statistics").json()
    assert not body.get("errors"), body
    data = base64.b64decode(body["data"]["periodicReportFile"]["contentBase64"])
    if fmt == "CSV":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    else:
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(data)).active
        rows = [["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]
    return rows[1:]


@pytest.mark.parametrize("fmt", ["CSV", "XLSX"])
def test_an_exported_report_suppresses_what_the_report_does(api: Api, fmt: str) -> None:
    """The file is the report in another form: a count the analyst gets as null in periodicReport
    (one disabled child in the village) is no figure in periodicReportFile either."""
    k = Policy.load().min_count
    body = api.gql("analyst", REPORT, {"d": VILLAGE, "p": "2026-Q4"}, purpose="statistics").json()
    shown = {c["key"]: c["count"] for c in body["data"]["periodicReport"]["totals"]}
    assert shown["disability"] is None  # suppressed over GraphQL
    head, _, *rows = _file_rows(api, "analyst", fmt)
    for row in rows:
        cells = dict(zip(head, row, strict=True))
        assert cells["disability"] != "1", row
        for key in head[2:]:
            value = cells[key]
            assert not (value.isdigit() and 0 < int(value) < k), (key, row)
    # A role with row access to the children counted gets the figures.
    head, _, *rows = _file_rows(api, "civil", fmt)
    assert dict(zip(head, rows[-1], strict=True))["disability"] == "1"
