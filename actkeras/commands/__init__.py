"""One module per `actkeras` sub-command; see `actkeras.cli.COMMANDS`."""
