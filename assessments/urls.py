from django.urls import path

from assessments import views

urlpatterns = [
    path("", views.home, name="home"),
    path("lessons/<int:pk>/", views.lesson_practice, name="lesson-practice"),
    path("lessons/<int:pk>/attempts/", views.attempt_upload, name="attempt-upload"),
    path("attempts/<uuid:public_id>/", views.attempt_detail, name="attempt-detail"),
    path("attempts/<uuid:public_id>/status/", views.attempt_status, name="attempt-status"),
    path("attempts/<uuid:public_id>/audio/", views.attempt_audio, name="attempt-audio"),
    path("progress/", views.progress, name="progress"),
    path("progress/lessons/<int:pk>/chart.json", views.progress_lesson_chart,
         name="progress-lesson-chart"),
]
