"""Django's default password hasher, with its iteration count from the environment: a login
that costs what production's does (about 300 ms), for the login-cost benchmark."""

import os

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class CalibratedPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = int(os.environ.get("DJANGO_PBKDF2_ITERATIONS", PBKDF2PasswordHasher.iterations))
