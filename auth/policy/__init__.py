"""The field-level authorization policy engine: the policy file compiled into lookups.

The policy is data (``auth/policies/default.toml``, versioned); this package loads it,
checks it against ``graph/model.py`` and against itself, and compiles it so that the
GraphQL layer can ask about every field of every record it returns at the cost of a few
dict lookups. Everything that can be decided before a request arrives is decided at load
time: for every agency type and role, every declared purpose (or none, or an unknown one)
and with or without a valid break-glass grant, the decision for every sensitivity class
is precomputed as a shared ``FieldDecision``. At request time only the principal's table
is picked (``bind``) and the field's class looked up.

Three questions, as in DESIGN.md §4:

* row scope — ``row_scope`` / ``in_scope``: is this record in the caller's slice
  (division subtree, own village, own pupils, own patients, cases referred to it)?
* sensitivity — ``decide``: allow, mask or deny this field for this agency type and role;
* purpose — sensitive classes need a declared purpose of use, and some purposes see a
  class masked at most.

Reason codes are stable strings the audit log stores and the API returns with denied
fields; they are the constants ``ALLOWED`` … ``UNCLASSIFIED`` in ``auth.policy.vocabulary``.

Run ``python -m auth.policy table [FILE]`` for the decision matrix in Markdown and
``python -m auth.policy check FILE`` to validate a changed policy file (exit 2 on error).

The package's modules, each one job: ``engine`` (``Policy``: what callers hold and ask),
``loading`` (the classes, sensitivity, agency-type, rule, purpose and capability tables read and
checked), ``masks`` (the mask of every field, API fields, reconstruction), ``break_glass`` (who
may override, and whether a grant counts), ``decisions`` (the field decisions compiled into one
table per role, purpose and break-glass), ``scope`` (row scope resolved, and judged per record),
``bound`` (``BoundPolicy``: one request's questions), ``vocabulary`` (decisions, reason codes,
the answer types), ``checks`` (the file-shape checks and the model's fields) and ``cli``
(``python -m auth.policy``). Callers import ``Policy`` (and ``PolicyError``, ``default_policy``)
from here, and the reason codes and answer types from ``auth.policy.vocabulary``.
"""

from __future__ import annotations

from auth.policy.cli import main
from auth.policy.engine import DEFAULT_PATH, BoundPolicy, Policy, default_policy
from auth.policy.vocabulary import PolicyError

__all__ = ["DEFAULT_PATH", "BoundPolicy", "Policy", "PolicyError", "default_policy", "main"]
