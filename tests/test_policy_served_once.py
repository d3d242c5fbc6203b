"""One running app decides by one policy: the file `SHOUHU_POLICY_FILE` names is read once at start-up
and the console's sign-in page offers the purposes the API then honours, even when the file is edited
while the app starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auth.policy import DEFAULT_PATH, Policy
from kernel.settings import Settings
from tests.api_fixtures import AGENCIES, start_app
from tests.contract.test_graph_store import family

CHILD_NAME = '{ person(id: "person:child") { name } }'


def test_console_and_api_agree_on_a_policy_edited_while_the_app_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = DEFAULT_PATH.read_text(encoding="utf-8")
    assert default.count("[purpose.codes]\n") == 1
    # The deployment's policy: the default plus a "drill" purpose (identity allows every purpose, "*").
    with_drill = default.replace("[purpose.codes]\n", '[purpose.codes]\ndrill = "演练"\n')
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(with_drill, encoding="utf-8")
    monkeypatch.setenv("SHOUHU_POLICY_FILE", str(policy_file))

    # The operator takes "drill" out again just after the app first read the file.
    reads: list[str] = []
    load = Policy.load.__func__  # type: ignore[attr-defined]

    def load_then_edit(cls: type[Policy], path: Path | str | None = None) -> Any:
        policy = load(cls, path)
        if path is not None and Path(path) == policy_file:
            reads.append(policy.version)
            policy_file.write_text(default, encoding="utf-8")
        return policy

    monkeypatch.setattr(Policy, "load", classmethod(load_then_edit))

    settings = Settings(data_dir=tmp_path / "data", graph_buffer_pool_mb=256)
    assert settings.policy_file == policy_file
    village = {"village": AGENCIES["village"]}
    for client, tokens, _ in start_app(settings, village, family):
        offered = {p["code"] for p in client.get("/console/config.json").json()["purposes"]}
        body = client.post(
            "/graphql",
            json={"query": CHILD_NAME},
            headers={"Authorization": f"Bearer {tokens['village']}", "X-Purpose-Of-Use": "drill"},
        ).json()
        honoured = body["data"]["person"]["name"] is not None
        assert ("drill" in offered) == honoured, (offered, body)
        assert "drill" in offered and honoured  # the file as it was when the app read it
    assert len(reads) == 1, reads
