"""One module per subcommand: ``register(sub, name)`` and ``run(args) -> int``."""
