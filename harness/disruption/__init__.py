"""Disruption: the guard, the journal, drain and restore, and the failover scenario."""
