"""One module per `leian` subcommand: ``add_arguments(parser)`` and ``run(args) -> exit code``."""
