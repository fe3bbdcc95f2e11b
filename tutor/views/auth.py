"""Sign-in and sign-out: Django's views, with failed logins rate limited."""

from __future__ import annotations

from django.contrib.auth.views import LoginView
from django.http import HttpResponse
from django.urls import reverse

from tutor.forms import RateLimitedAuthenticationForm


class RateLimitedLoginView(LoginView):
    form_class = RateLimitedAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: RateLimitedAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.is_throttled:
            # 429 lets scripts and monitoring tell "slow down" from "wrong password".
            response.status_code = 429
        return response

    def get_default_redirect_url(self) -> str:
        # Teachers land on their dashboard; everyone else on the learner home page.
        user = self.request.user
        if not self.next_page and user.is_authenticated and user.is_teacher:
            return reverse("teacher-dashboard")
        return super().get_default_redirect_url()
