"""``python -m auth.policy``: the decision matrix, or a changed policy file checked (see ``cli``)."""

from auth.policy.cli import main

raise SystemExit(main())
