from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("account/", views.account, name="account"),
    path("login/", auth_views.LoginView.as_view(template_name="shop/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/products/", views.products, name="products"),
    path("health", views.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("maintenance/", include("maintenance_mode.urls")),
    path("admin/", admin.site.urls),
]
