"""Stacks Parity was not built with: real frameworks behind real balancers, for the tests."""
