"""The black-box security suite: attacks over HTTP against the real app, one module per class."""
