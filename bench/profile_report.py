"""Where the enforcing server's extra time goes, from py-spy's raw (collapsed) stacks of the same
requests served with policy and audit off and on: milliseconds per request by function (inclusive),
the difference on top, and the enforcement's parts (token check, field layer, row scope, response
walk, audit entry) by the function on the stack while each runs.

A collapsed stack line is `frame;frame;…;frame COUNT`, each frame `function (file:line)`; samples
of idle threads (waiting on a lock, a selector, the event loop) are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from bench.report import RESULTS

_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_IDLE = ("select (selectors.py)", ".wait (threading.py)", "_worker (concurrent", "epoll", "sleep")
# The enforcement's parts, by a function on the stack while each runs.
PARTS = {
    "token check (authenticate)": ("authenticate (auth/routes.py)",),
    "field layer (release)": ("release (enforce/layer.py)",),
    "row scope (Guard.visible_person)": ("Guard.visible_person (enforce/guard.py)",),
    "response walk (returned_record_ids)": ("returned_record_ids (audit/record_ids.py)",),
    "audit entry write (AuditLog.append)": ("AuditLog.append (audit/log.py)",),
    "audit event build (_event)": ("GraphQLEndpoint._event (api/graphql_app.py)",),
    "profile read (load_profile)": ("load_profile (graph/profile.py)",),
    "graphql execution (execute_sync)": ("Schema.execute_sync (",),
}


def _name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if m is None:
        return frame.strip()
    path = m.group("file")
    for root in ("site-packages/", "/lib/python3.11/"):
        if root in path:
            path = path.split(root, 1)[1]
            break
    else:
        path = "/".join(path.split("/")[-2:])
    return f"{m.group('fn')} ({path})"


def _read(raw: Path) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [_name(f) for f in stack.split(";")]
        if not frames or any(i in frames[-1] for i in _IDLE):
            continue
        n = int(count_text)
        samples += n
        own[frames[-1]] += n
        for f in set(frames):
            total[f] += n
        joined = ";".join(frames)
        for part, needles in PARTS.items():
            if any(needle in joined for needle in needles):
                parts[part] += n
    return own, total, parts, samples


def compare(off: Path, on: Path, *, requests: int, rate: int, top: int = 25) -> Path:
    per = 1000.0 / rate / max(requests, 1)  # ms of one sample, spread over the requests
    o_own, o_total, o_parts, o_n = _read(off)
    n_own, n_total, n_parts, n_n = _read(on)
    lines = [
        f"busy ms per request: off {o_n * per:.2f}, on {n_n * per:.2f} (py-spy at {rate} Hz, "
        f"{requests} requests each; a loaded machine stretches both)",
        "",
        "parts of the request, ms per request (off → on):",
    ]
    for part in PARTS:
        lines.append(f"  {o_parts[part] * per:7.2f} → {n_parts[part] * per:7.2f}  {part}")
    diff = Counter({f: n_total[f] - o_total[f] for f in set(n_total) | set(o_total)})
    lines += ["", f"top {top} functions by extra inclusive ms per request (on − off):"]
    lines += [f"  {d * per:+7.2f}  {f}" for f, d in diff.most_common(top) if d > 0]
    own_diff = Counter({f: n_own[f] - o_own[f] for f in set(n_own) | set(o_own)})
    lines += ["", f"top {top} functions by extra own ms per request (on − off):"]
    lines += [f"  {d * per:+7.2f}  {f}" for f, d in own_diff.most_common(top) if d > 0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "api_profile.txt"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
