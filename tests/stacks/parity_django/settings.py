"""Settings from the environment, one instance per process (gunicorn)."""

import os

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "parity_django.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "parity_django",  # its static/ folder
]
MIDDLEWARE = [
    "parity_django.views.InstanceHeader",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/notes"
LOGOUT_REDIRECT_URL = "/"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJANGO_DB"]}}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["DJANGO_REDIS_URL"],
    }
}
SESSION_ENGINE = os.environ.get("DJANGO_SESSION_ENGINE", "django.contrib.sessions.backends.cache")
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_AGE", "1209600"))  # Django's 2 weeks
# tests: fast logins, unless DJANGO_PBKDF2_ITERATIONS asks for Django's PBKDF2 (a login as
# slow as production's)
PASSWORD_HASHERS = (
    ["parity_django.hashers.CalibratedPBKDF2PasswordHasher"]
    if os.environ.get("DJANGO_PBKDF2_ITERATIONS")
    else ["django.contrib.auth.hashers.MD5PasswordHasher"]
)
USE_TZ = True
STATIC_URL = "/static/"
if os.environ.get("DJANGO_STATIC_ROOT"):  # collected with hashed names, served by the "CDN"
    STATIC_ROOT = os.environ["DJANGO_STATIC_ROOT"]
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
