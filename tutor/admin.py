"""Admin: users and roles, lessons (validated, with CSV import), classes and memberships."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from tutor.forms import LessonImportForm
from tutor.lesson_import import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    lessons_import_csv,
)
from tutor.models import Assignment, Classroom, Lesson, Role, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff", "is_superuser")
    fieldsets = (
        *DjangoUserAdmin.fieldsets[:1],
        ("Role", {"fields": ("role",),
                  "description": "Decides what the person sees: learner pages, the teacher "
                                 "pages for their classes, or everything (admin). Staff and "
                                 "superuser status follow the role when the user is saved: "
                                 "only admins open this admin site."}),
        *DjangoUserAdmin.fieldsets[1:],
    )
    # Shown, not edited: User.save() derives them from the role, so a tick here would be
    # silently undone.
    readonly_fields = ("is_staff", "is_superuser")
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("username", "role", "password1", "password2")}),
    )

    @admin.display(description="Name")
    def display_name(self, obj: User) -> str:
        return obj.get_full_name()


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    # The model form runs full_clean(), so Lesson.clean() rejects settings the engine would
    # refuse (prosody outside en-US, unsupported locales, ...) before anything is saved.
    list_display = ("title", "locale", "grading_system", "granularity", "enable_prosody",
                    "is_active", "order")
    list_filter = ("is_active", "locale", "grading_system", "granularity", "enable_prosody")
    list_editable = ("is_active", "order")
    search_fields = ("title", "reference_text")
    change_list_template = "admin/tutor/lesson/change_list.html"
    fieldsets = (
        (None, {"fields": ("title", "reference_text", "is_active", "order")}),
        ("Assessment", {"fields": ("locale", "grading_system", "granularity", "dimension",
                                   "enable_miscue", "enable_prosody", "phoneme_alphabet",
                                   "nbest_phoneme_count", "scenario_id")}),
    )

    def get_urls(self) -> list:
        return [
            path("import/", self.admin_site.admin_view(self.import_view),
                 name="tutor_lesson_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        result = None
        form = LessonImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            result = lessons_import_csv(data=form.cleaned_data["file"].read())
            if result.ok:
                self.message_user(request, f"Imported {len(result.created)} lesson(s).",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:tutor_lesson_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import lessons from CSV",
            "opts": self.model._meta,
            "form": form,
            "result": result,
            "required_columns": REQUIRED_COLUMNS,
            "optional_columns": OPTIONAL_COLUMNS,
        }
        return TemplateResponse(request, "admin/tutor/lesson/import.html", context)


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 1
    autocomplete_fields = ("lesson",)
    fields = ("lesson", "due_date")


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("name", "teacher_names", "learner_count", "created_at")
    search_fields = ("name", "teachers__username", "learners__username")
    filter_horizontal = ("teachers", "learners")
    inlines = (AssignmentInline,)

    def get_queryset(self, request: HttpRequest):  # noqa: ANN201 - admin hook
        return (
            super().get_queryset(request)
            .annotate(_learner_count=Count("learners", distinct=True))
            .prefetch_related("teachers")
        )

    @admin.display(description="Teachers")
    def teacher_names(self, obj: Classroom) -> str:
        return ", ".join(t.display_name for t in obj.teachers.all())

    @admin.display(description="Learners", ordering="_learner_count")
    def learner_count(self, obj: Classroom) -> int:
        return obj._learner_count

    def formfield_for_manytomany(self, db_field, request, **kwargs):  # noqa: ANN001, ANN201
        # Offer only people with the matching role, so a class cannot be given a learner
        # as its teacher by a slip of the mouse.
        if db_field.name == "teachers":
            kwargs["queryset"] = User.objects.filter(role__in=[Role.TEACHER, Role.ADMIN])
        elif db_field.name == "learners":
            kwargs["queryset"] = User.objects.filter(role=Role.LEARNER)
        return super().formfield_for_manytomany(db_field, request, **kwargs)
