"""Traffic: virtual users with cookie jars and identities, the session contract, round trips.

Shared by the suites and by Locust users; nothing here imports boto3.
"""
