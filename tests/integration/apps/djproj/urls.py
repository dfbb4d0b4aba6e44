from django.urls import path

from djproj import views

urlpatterns = [
    path("", views.index),
    path("json/", views.as_json),
    path("echo/", views.echo),
]
