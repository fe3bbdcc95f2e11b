from django.urls import path

from tutor.views import teacher

urlpatterns = [
    path("", teacher.dashboard, name="teacher-dashboard"),
    path("classes/<int:pk>/", teacher.class_detail, name="teacher-class"),
    path(
        "classes/<int:pk>/charts/scores.json",
        teacher.class_chart_scores,
        name="teacher-class-chart-scores",
    ),
    path(
        "classes/<int:pk>/scores/weekly/",
        teacher.class_scores_weekly,
        name="teacher-class-scores-weekly",
    ),
    path(
        "classes/<int:pk>/charts/errors.json",
        teacher.class_chart_errors,
        name="teacher-class-chart-errors",
    ),
    path(
        "classes/<int:pk>/export/attempts.csv",
        teacher.class_export_attempts,
        name="teacher-class-export-attempts",
    ),
    path(
        "classes/<int:pk>/export/words.csv",
        teacher.class_export_words,
        name="teacher-class-export-words",
    ),
    path(
        "classes/<int:class_pk>/learners/<int:pk>/",
        teacher.learner_detail,
        name="teacher-learner",
    ),
    path(
        "classes/<int:class_pk>/learners/<int:pk>/charts/scores.json",
        teacher.learner_chart_scores,
        name="teacher-learner-chart-scores",
    ),
]
