"""Minimal Django settings: no database, no sessions, no templates, DEBUG off."""
SECRET_KEY = "hearth-integration-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djproj.urls"
INSTALLED_APPS = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {}
USE_TZ = True
APPEND_SLASH = True
WSGI_APPLICATION = "djproj.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# Errors (500s) go to stderr, i.e. hearthd's log, even with DEBUG off.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
}
