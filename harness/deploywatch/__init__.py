"""Deploys watched from the outside: `parity watch -- <deploy command>`, its timeline, the
attribution of each error to the transition behind it, and the quality of every drain."""
