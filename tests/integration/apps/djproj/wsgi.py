"""`djproj.wsgi:application`, as `django-admin startproject` would write it."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djproj.settings")

application = get_wsgi_application()
