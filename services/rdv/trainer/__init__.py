"""Training on PySpark and export of fitted pipelines to portable artifacts. Imports Spark;
nothing on the serving path imports this package."""
