# Added to a project made by `django-admin startproject` (its settings untouched).
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.urls import path
from django.utils.html import escape


def form(request):
    if request.method == "POST":
        name = escape(request.POST.get("name", ""))
        return HttpResponse(f'<p id="form-result">form ok: {name}</p>')
    token = get_token(request)
    return HttpResponse(
        "<!doctype html><title>Django compat</title><h1 id=title>Django compat</h1>"
        '<form method="post">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
        '<input name="name" value="portproxy">'
        '<button id="form-submit" type="submit">Send</button></form>'
    )


urlpatterns = [path("form/", form)]
