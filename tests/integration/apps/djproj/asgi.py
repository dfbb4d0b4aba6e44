"""`djproj.asgi:application`, as `django-admin startproject` would write it (ASGI)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djproj.settings")

application = get_asgi_application()
