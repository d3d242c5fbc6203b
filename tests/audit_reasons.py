"""Every reason code the code base can put on an audit entry, found by reading the code.

An entry's reasons come from many places: the guard's trail (`trail.reasons.add(...)`), refusals
(`refused(message, CODE, reason)`, `forbidden(reason)`, domain errors whose code is lowered into a
reason), refused requests (`error_response(message, CODE, status)`, lowered), refused tokens
(`InvalidToken(reason)`, `AuthError(reason)`), the policy's decisions (its reason constants) and
capabilities (`authorize` puts the capability used on the trail). The walk below follows those
forms over the packages' syntax trees, resolving module constants, so that a reason added anywhere
in one of those forms is found without anyone listing it by hand.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from auth.policy import Policy, vocabulary
from kernel.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "auth", "protection", "connectors/resolution", "shouhu")
_CODE = re.compile(r"[a-z][a-z0-9_.:\-]{0,99}")
_UPPER_CODE = re.compile(r"[A-Z][A-Z0-9_]{1,99}")
# Calls whose first argument is a refusal's reason (lower case) or code (upper case, lowered).
OAUTH_ERRORS = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "temporarily_unavailable",
)
_RAISERS = re.compile(r".*Error$|InvalidToken|AuthError")


def _files() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]


def _constants(trees: list[ast.Module]) -> dict[str, str]:
    found: dict[str, str] = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    value = node.value.value
                    if isinstance(target, ast.Name) and target.id.isupper() and isinstance(value, str):
                        found[target.id] = value
    return found


def reason_codes() -> dict[str, str]:
    """Each reason code with one place that writes it (file:line)."""
    trees = [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in _files()]
    consts = _constants([t for _, t in trees])
    found: dict[str, str] = {}

    def text(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            return consts.get(name)
        return None

    def add(node: ast.AST | None, where: str, *, code: bool = False) -> None:
        value = text(node)
        if value is None:
            return
        if code or _UPPER_CODE.fullmatch(value):
            if not _UPPER_CODE.fullmatch(value):
                return
            value = value.lower()
        if _CODE.fullmatch(value):
            found.setdefault(value, where)

    for path, tree in trees:
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                args = node.args
                if (
                    name == "add"
                    and isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Attribute)
                    and func.value.attr == "reasons"
                    and args
                ):
                    add(args[0], where)
                elif name == "refused":
                    if len(args) > 1:
                        add(args[1], where, code=True)
                    if len(args) > 2:
                        add(args[2], where)
                elif name in ("forbidden",) and args:
                    add(args[0], where)
                elif name == "bad_request" and len(args) > 1:
                    add(args[1], where)
                elif name == "error_response" and len(args) > 1:
                    add(args[1], where, code=True)
                elif (name == "_oauth_error" or _RAISERS.fullmatch(name)) and args:
                    add(args[0], where)
                elif (
                    name == "run_in_threadpool"
                    and args
                    and isinstance(args[0], ast.Attribute)
                    and args[0].attr == "record_token_request"
                ):
                    for arg in args:
                        for part in (arg.body, arg.orelse) if isinstance(arg, ast.IfExp) else (arg,):
                            if isinstance(part, ast.List):
                                for element in part.elts:
                                    add(element, where)
                for kw in node.keywords:
                    if kw.arg == "reasons" and isinstance(kw.value, ast.List | ast.Tuple):
                        for element in kw.value.elts:
                            add(element, where)
                    elif kw.arg == "reason":
                        add(kw.value, where)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "reason":
                        add(value, where)
                    elif isinstance(key, ast.Constant) and key.value == "code":
                        add(value, where, code=True)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                # `reason = {...}.get(...)` (a mapping of causes to reasons) and class-level
                # `reason = "..."` (exceptions that carry their reason).
                if isinstance(target, ast.Name) and target.id == "reason":
                    value = node.value
                    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                        value = value.func.value
                    if isinstance(value, ast.Dict):
                        for v in value.values:
                            add(v, where)
                    else:
                        add(value, where)
    # The token endpoint's refusals are the OAuth library's error codes (RFC 6749 section 5.2).
    for error in OAUTH_ERRORS:
        found.setdefault(error, "auth/routes.py (OAuth error)")
    # What the policy decides (field and row decisions put their reason on the trail) and the
    # capabilities `authorize` records.
    for name, value in vars(vocabulary).items():
        if name.isupper() and isinstance(value, str) and _CODE.fullmatch(value):
            found.setdefault(value, f"auth/policy/vocabulary.py ({name})")
    policy = Policy.load(Settings().policy_file)
    for capability in policy.capability_names():
        found.setdefault(capability, "auth/policies/default.toml (capability)")
    return found


if __name__ == "__main__":
    for code, where in sorted(reason_codes().items()):
        print(code, where)
