from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("tutor.auth_urls")),
    path("teach/", include("tutor.teacher_urls")),
    path("", include("assessments.urls")),
]

handler500 = "tutor.views.errors.server_error"
