"""The `rdv` command."""
