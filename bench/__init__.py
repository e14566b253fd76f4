"""The tooling around the product (benchmarks, tuning, evaluation, load test): rag/ and ui/ never import it."""
