"""The agency system that reads child profiles in a loop against a running service: one loop, shared by
the service test (tests/test_service.py) and the service benchmark (bench/service_bench.py), so that
what the test asserts (no errors while commands go through the service) is what the bench measures.

Each reader is a thread with its own keep-alive HTTP client on loopback. It takes its token from the
token endpoint as an agency system does (client credentials) and renews it a minute before it expires
(a long sync outlasts a token's lifetime). The loop is bounded: at most ``max_requests`` requests, and
it ends when ``until`` is set. Every request's latency is kept, split by whether ``syncing`` was set
when it started; every failure (a status other than 200, a GraphQL error, no person) is kept as a line.
"""

from __future__ import annotations

import random
import threading
import time

import httpx

PROFILE = """query ChildProfile($id: ID!) { person(id: $id) {
  id name idNumber birthDate sex hukouType
  household { householdNumber members { relationToHead person { id name } } }
  parents { role person { id name worksAway workDestination } }
  guardians { kind since person { id name } }
  enrolments { grade school { name } } } }"""

SCOPES = "read:identity read:identity_number read:family read:household"
"""The scopes a reader's client needs for :data:`PROFILE`."""


class ProfileReader(threading.Thread):
    """One agency client reading random profiles of ``people`` until ``until`` or ``max_requests``."""

    def __init__(
        self,
        base: str,
        credentials: tuple[str, str],
        people: list[str],
        *,
        seed: int = 0,
        until: threading.Event | None = None,
        syncing: threading.Event | None = None,
        max_requests: int = 100_000,
    ) -> None:
        super().__init__(daemon=True)
        self.base, self.credentials, self.people = base, credentials, people
        self.rng = random.Random(seed)
        self.until = until if until is not None else threading.Event()
        self.syncing = syncing if syncing is not None else threading.Event()
        self.max_requests = max_requests
        self.renew_at = 0.0
        self.during: list[float] = []
        self.after: list[float] = []
        self.errors: list[str] = []
        self.ok = 0

    def _renew(self, client: httpx.Client) -> None:
        r = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=self.credentials)
        r.raise_for_status()
        body = r.json()
        client.headers["Authorization"] = f"Bearer {body['access_token']}"
        self.renew_at = time.monotonic() + max(30.0, float(body.get("expires_in", 900)) - 60.0)

    def run(self) -> None:
        headers = {"X-Purpose-Of-Use": "case_work"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=120) as client:
            for _ in range(self.max_requests):
                if self.until.is_set():
                    return
                if time.monotonic() >= self.renew_at:
                    try:
                        self._renew(client)
                    except (httpx.HTTPError, ValueError, KeyError) as exc:
                        self.errors.append(f"token {exc!r}")
                        continue
                during = self.syncing.is_set()
                pid = self.rng.choice(self.people)
                t = time.perf_counter()
                try:
                    r = client.post("/graphql", json={"query": PROFILE, "variables": {"id": pid}})
                    body = r.json()
                    if r.status_code != 200 or body.get("errors") or not body["data"]["person"]:
                        self.errors.append(f"{r.status_code} {pid} {r.text[:160]}")
                    else:
                        self.ok += 1
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                    self.errors.append(repr(exc))
                (self.during if during else self.after).append(time.perf_counter() - t)


def start_readers(
    base: str,
    credentials: tuple[str, str],
    people: list[str],
    clients: int,
    *,
    seed: int = 0,
    syncing: threading.Event | None = None,
    max_per_client: int = 100_000,
) -> tuple[list[ProfileReader], threading.Event]:
    """``clients`` readers started, and the event that stops them all."""
    until = threading.Event()
    readers = [
        ProfileReader(
            base,
            credentials,
            people,
            seed=seed + i,
            until=until,
            syncing=syncing,
            max_requests=max_per_client,
        )
        for i in range(clients)
    ]
    for r in readers:
        r.start()
    return readers, until


def stop_readers(readers: list[ProfileReader], until: threading.Event, timeout: float = 120) -> None:
    until.set()
    for r in readers:
        r.join(timeout=timeout)
