"""The service: one process owns the embedded stores and runs everything that writes to them.

`shouhu serve` runs the API and, beside it, the background workers (connector schedules, the
derived-state queue, the webhook outbox) and an operator endpoint on a unix socket in the data
directory. CLI commands that read or write the stores find a running service there and go through
it, so no command needs the server stopped (LadybugDB admits one process to its file).

    run.py         `shouhu serve`: stores, API, workers, operator socket, clean shutdown
    workers.py     the background workers and the sync jobs they and the operator start
    election.py    which process runs the workers (a PostgreSQL advisory lock in scale-out mode)
    operator.py    the operator endpoint: secret, peer check, audit, the operations
    operations.py  what a command computes, the same whether run directly or in the service
    client.py      the CLI side: find a running service, call it
"""
