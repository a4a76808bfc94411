"""Generated data: login-bot traffic for the demo, benchmarks and tests."""
