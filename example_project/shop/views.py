from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

PRODUCTS = [
    {"id": 1, "name": "Espresso beans, 1 kg", "price": "24.00"},
    {"id": 2, "name": "Pour-over kettle", "price": "59.00"},
    {"id": 3, "name": "Ceramic cup", "price": "12.50"},
]


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/home.html", {"products": PRODUCTS})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/account.html")


def products(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"products": PRODUCTS})


def health(request: HttpRequest) -> HttpResponse:
    """For the load balancer: exempt in settings, so it stays 200 during maintenance."""
    return HttpResponse("ok", content_type="text/plain")
