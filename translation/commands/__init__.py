"""One module per ``translation`` subcommand: ``register(subparsers, name, help)`` and a handler."""
