"""The decoy: looks like a model worker, scores nothing, archives every request as seen."""
