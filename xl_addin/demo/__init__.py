"""The demo and its sample data: a desk on embedded defaults run through every stage, the seeded sample
orders the demo, the tests and the benchmarks use. Not a use case: nothing in services/ imports from here."""
