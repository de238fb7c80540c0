"""A Django REST framework API, as API projects have one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from maintenance_mode.decorators import maintenance_exempt


class OrderList(APIView):
    def get(self, request: Request) -> Response:
        return Response({"orders": [{"id": 1}]})


@maintenance_exempt
class PaymentWebhook(APIView):
    """Payment provider callbacks keep arriving during maintenance."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def post(self, request: Request) -> Response:
        return Response({"received": True})


@maintenance_exempt
class HealthViewSet(viewsets.ViewSet):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def list(self, request: HttpRequest) -> Response:
        return Response({"status": "ok"})


class ProductViewSet(viewsets.ViewSet):
    def list(self, request: HttpRequest) -> Response:
        return Response([{"sku": "beans-1kg"}])
