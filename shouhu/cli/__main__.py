"""`python -m shouhu.cli`."""

from shouhu.cli import main

main()
