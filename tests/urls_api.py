from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import SimpleRouter

from tests import api_views, views

router = SimpleRouter()
router.register("products", api_views.ProductViewSet, basename="product")
router.register("health", api_views.HealthViewSet, basename="health")

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home),
    path("v1/orders/", api_views.OrderList.as_view()),
    path("v1/payments/webhook/", api_views.PaymentWebhook.as_view()),
    path("v1/", include(router.urls)),
]
