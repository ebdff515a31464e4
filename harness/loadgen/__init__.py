"""Load generation: running Locust (local or distributed), its users, evidence, phases, gates.

Kept free of boto3: `users` is imported inside gevent-patched Locust processes.
"""
