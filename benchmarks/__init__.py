"""Benchmarks: `streetwatch bench <name>`. Each prints medians and ratios against a baseline
measured in the same run; targets live here, never in timed unit tests."""
