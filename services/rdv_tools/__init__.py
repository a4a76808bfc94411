"""The tooling around the product: the embedded broker, `rdv up`, benchmarks, the demo and the
`rdv` command line. Nothing in `rdv` imports it."""
