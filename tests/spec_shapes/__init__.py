"""The parts of tests/test_spec_shapes.py: the shapes the spec names, the seeding context,
the checks of the answers and the rows of both spec parts."""
