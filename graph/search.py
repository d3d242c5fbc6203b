"""Finding people by name the way caseworkers say it: same sound, any homophone characters."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graph.port import GraphStore
from graph.records import Node
from kernel.names import name_pinyin


def name_key(name: str) -> str:
    """Toneless pinyin, surnames read as surnames (曾 zeng, 单 shan): 张晓明 and 张小明 share
    'zhang xiao ming'. The same function the connectors store Person.name_pinyin with, so a
    spoken name finds what was synced."""
    return name_pinyin(name.strip())


SURNAME_SCAN = 50_000  # people read at most when a surname alone is asked for
MATCHES_READ = 200
"""Exact and same-sound matches read from the whole graph, whatever `limit` the caller asks for:
the caller's scope is applied to these, then `limit` (a `limit` applied first let another
county's namesakes crowd out the caller's own)."""

VisibleIds = Callable[[Sequence[str]], list[str]]  # the ids the caller may see, in their order


def search_people(
    store: GraphStore,
    name: str,
    limit: int = 20,
    within: str | None = None,
    visible: VisibleIds | None = None,
) -> list[Node]:
    """Exact name, then same sound; a surname alone (1–2 characters, no full-name match the caller
    may see) finds the people of `within` (a division code prefix: the caller's scope) whose name
    starts with it or sounds like it does.

    `visible` is the caller's row scope, applied before anything is counted or decided, so the
    answer does not depend on people the caller may not see: a namesake in another county neither
    takes a place in `limit` nor stops the surname search (either said that the namesake exists)."""
    mine: VisibleIds = visible if visible is not None else list
    exact = store.find("Person", "name", [name.strip()], limit=MATCHES_READ)
    sounds = store.find("Person", "name_pinyin", [name_key(name)], limit=MATCHES_READ)
    found: dict[str, Node] = {n.id: n for n in exact}
    for n in sounds:
        found.setdefault(n.id, n)
    seen = {i: found[i] for i in mine(list(found))}
    short = name.strip()
    if not seen and within and within.isdigit() and 1 <= len(short) <= 2:
        key = name_key(short) + " "
        after: str | None = None
        for _ in range(SURNAME_SCAN // 1000):
            page = store.list_by_division("Person", within, 1000, after)
            matches = {
                n.id: n
                for n in page.items
                if str(n.props.get("name") or "").startswith(short)
                or str(n.props.get("name_pinyin") or "").startswith(key)
            }
            for i in mine(list(matches)):
                seen.setdefault(i, matches[i])
            if len(seen) >= limit or not page.has_next:
                break
            after = page.end_cursor
    return list(seen.values())[:limit]


ID_NUMBER_HOLDERS = 20  # records carrying one ID number read at most (duplicates not yet merged)


def person_by_id_number(store: GraphStore, id_number: str, visible: VisibleIds) -> str | None:
    """The id of the first record (by id) carrying this resident ID number that the caller may
    see; None when there is none. Every holder is judged, not only the first: a record of the same
    number out of the caller's scope must not hide the caller's own, which said it exists."""
    found = store.find("Person", "id_number", [id_number.strip().upper()], limit=ID_NUMBER_HOLDERS)
    mine = visible([n.id for n in found])
    return mine[0] if mine else None
