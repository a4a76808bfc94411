"""The model worker: scores every request with one model and writes annotated Scores."""
