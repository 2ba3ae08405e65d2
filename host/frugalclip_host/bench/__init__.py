"""Host side of the benchmark suite: the naive transformers baseline, the machine's ceiling, and the comparison report."""
