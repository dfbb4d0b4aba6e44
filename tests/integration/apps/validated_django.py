"""djproj.wsgi:application wrapped in wsgiref.validate.validator, warnings as errors.

DEBUG_PROPAGATE_EXCEPTIONS lets an AssertionError raised by the validator inside a
view reach wsgi_strict (500 + marker) instead of becoming Django's own 500 page.
"""
from django.conf import settings

from djproj.wsgi import application as _django
from wsgi_strict import strict

settings.DEBUG_PROPAGATE_EXCEPTIONS = True

app = strict(_django)
