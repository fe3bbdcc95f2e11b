from django.contrib.auth.views import LogoutView
from django.urls import path

from tutor.views.auth import RateLimitedLoginView

urlpatterns = [
    path("login/", RateLimitedLoginView.as_view(), name="login"),
    # Django's LogoutView accepts POST only, so a link or prefetch cannot sign anyone out.
    path("logout/", LogoutView.as_view(), name="logout"),
]
