import os

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt


def index(request):
    return HttpResponse("Hello from Django\n", content_type="text/plain; charset=utf-8")


def as_json(request):
    return JsonResponse({
        "framework": "django",
        "args": request.GET.dict(),
        "server_software": request.META.get("SERVER_SOFTWARE"),
        "worker_id": os.environ.get("HEARTH_WORKER_ID"),
        "preload": os.environ.get("HEARTH_PRELOAD"),
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "scheme": request.scheme,
    })


@csrf_exempt
def echo(request):
    if request.method != "POST":
        return HttpResponse("POST only\n", status=405, content_type="text/plain")
    return JsonResponse({"form": request.POST.dict(), "length": len(request.body)})
