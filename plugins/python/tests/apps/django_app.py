"""A single-file Django project for the framework smoke test."""
import os

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-only",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
    )

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
import io  # noqa: E402


def index(request):
    return HttpResponse("django ok")


def echo(request):
    return JsonResponse({"len": len(request.body), "post": request.POST.dict(),
                         "worker": os.environ.get("HEARTH_WORKER_ID")})


def stream(request):
    return StreamingHttpResponse(("chunk%d;" % i for i in range(3)))


def file(request):
    return FileResponse(io.BytesIO(b"D" * 100000))


urlpatterns = [path("", index), path("echo", echo), path("stream", stream), path("file", file)]
application = get_wsgi_application()

if os.environ.get("HEARTH_TEST_VALIDATE") == "1":
    import warnings
    from wsgiref.validate import WSGIWarning, validator

    warnings.simplefilter("error", WSGIWarning)
    application = validator(application)
