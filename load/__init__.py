"""Locust load profiles, shipped inside the wheel as `harness.load` (one file per profile)."""
