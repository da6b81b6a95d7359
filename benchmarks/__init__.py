"""nutune's benchmark suite (issue "Benchmarks"): ``python -m benchmarks`` or ``make bench``."""
