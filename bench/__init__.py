"""Benchmarks: each module measures one thing against a baseline run beside it."""
