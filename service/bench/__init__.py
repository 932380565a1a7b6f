"""Benchmarks: NAB scoring, throughput, latency and model evaluation."""
