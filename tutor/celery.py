"""The Celery application; configuration comes from Django settings (``CELERY_*``)."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutor.settings")

app = Celery("tutor")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Transport options naming folders the embedded file-system broker reads and writes.
_FOLDER_OPTIONS = ("data_folder_in", "data_folder_out", "control_folder", "processed_folder")


@app.on_after_configure.connect
def _create_broker_folders(sender: Celery, **kwargs: object) -> None:
    """The file-system transport fails on a missing folder instead of creating it.

    Runs once per process, when the configuration is first read: in the web process before
    the first publish, in the worker before it consumes, so neither depends on the other
    having started first.
    """
    schedule = sender.conf.beat_schedule_filename
    if schedule:  # beat keeps its schedule under var/ too, whatever the broker
        Path(schedule).parent.mkdir(parents=True, exist_ok=True)
    if not str(sender.conf.broker_url or "").startswith("filesystem://"):
        return
    options = sender.conf.broker_transport_options or {}
    for name in _FOLDER_OPTIONS:
        if options.get(name):
            Path(options[name]).mkdir(parents=True, exist_ok=True)
