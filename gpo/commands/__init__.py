"""The ``gpo`` command's subcommands, one module per group (see :mod:`gpo.cli`)."""
