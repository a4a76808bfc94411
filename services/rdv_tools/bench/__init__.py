"""Benchmarks: figures measured on this machine, reported as ratios to the floor of the same run."""

# What a benchmark can serve: every role with a worker process per model, every role with
# champion, challenger and canary co-hosted in one worker process, or the champion alone.
MODEL_SETS = ("all", "cohosted", "champion")
