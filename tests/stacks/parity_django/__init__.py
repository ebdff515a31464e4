"""A small Django 5 site as a user's app: Django's auth and sessions, sessions in Redis through
Django's cache backend (`RedisCache`), a JSON API for the session contract."""
