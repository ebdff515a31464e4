"""The shared session store as the checks reach it: standalone, Sentinel or Cluster, with TLS and
ACL users (connection.py), and whether its eviction policy can drop live sessions (eviction.py)."""
