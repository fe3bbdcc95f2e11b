"""Admin for attempts: read-only, with their words, and a re-assess action."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from assessments.models import Attempt, WordResult
from assessments.services import InvalidTransition, attempt_reassess
from tutor.models import User


class WordResultInline(admin.TabularInline):
    model = WordResult
    fields = ("order", "word", "accuracy", "error_type", "unexpected_break", "missing_break",
              "monotone")
    readonly_fields = fields
    can_delete = False
    extra = 0
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Attempt | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Attempt | None = None) -> bool:
        return False


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    """Attempts are records of what happened: nobody edits them here.

    The only write is the re-assess action, which goes through the service (and so through
    its status rules) for each selected finished attempt.
    """

    list_display = ("public_id", "learner", "lesson", "status", "engine", "pronunciation",
                    "created_at")
    list_filter = ("status", "engine", "lesson")
    # Microsoft support quotes the X-ConnectionId: find the attempt from it.
    search_fields = ("public_id", "connection_id", "learner__username", "lesson__title")
    date_hierarchy = "created_at"
    list_select_related = ("learner", "lesson")
    inlines = (WordResultInline,)
    actions = ("reassess",)
    exclude = ("raw_response",)  # large: shown pretty-printed instead

    def get_readonly_fields(self, request: HttpRequest, obj: Attempt | None = None) -> list[str]:
        # Every field, failure_detail (operator-only) and connection_id included.
        fields = [f.name for f in self.model._meta.fields if f.name != "raw_response"]
        return [*fields, "raw_response_pretty"]

    @admin.display(description="Raw response")
    def raw_response_pretty(self, obj: Attempt) -> str:
        if obj.raw_response is None:
            return "–"
        return format_html("<pre>{}</pre>", json.dumps(obj.raw_response, indent=2))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Attempt | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Attempt | None = None) -> bool:
        return False

    def has_reassess_permission(self, request: HttpRequest) -> bool:
        user: User = request.user
        return bool(user.is_active and user.is_staff and (
            user.is_superuser or user.has_perm("assessments.change_attempt")
        ))

    @admin.action(description="Re-assess selected attempts", permissions=["reassess"])
    def reassess(self, request: HttpRequest, queryset: QuerySet[Attempt]) -> None:
        selected = list(queryset)
        queued = 0
        for attempt in (a for a in selected if a.is_finished):
            try:
                attempt_reassess(attempt=attempt)
            except InvalidTransition:
                continue  # it changed state since the list was shown
            queued += 1
        skipped = len(selected) - queued
        self.message_user(
            request,
            f"Queued {queued} attempt(s) for re-assessment."
            + (f" Skipped {skipped} that are not finished yet." if skipped else ""),
            messages.SUCCESS if queued else messages.WARNING,
        )
