from django.urls import include, path
from parity_django import views

urlpatterns = [
    path("", views.home),
    path("app", views.app_page),
    path("healthz", views.healthz),
    path("api/login", views.api_login),
    path("api/session/<str:key>", views.api_write),
    path("api/session", views.api_read),
    path("api/logout", views.api_logout),
    path("accounts/", include("django.contrib.auth.urls")),  # Django's own LoginView, LogoutView
    path("notes/<str:key>", views.note_write),
    path("notes", views.notes),
]
