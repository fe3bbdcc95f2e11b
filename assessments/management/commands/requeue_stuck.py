"""Send again attempts stuck in queued or processing; fail those out of tries.

The same sweep the worker's beat scheduler runs every ``ATTEMPT_SWEEP_INTERVAL_SECONDS``;
run it by hand (or from cron) when no worker with ``--beat`` is running.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from assessments.services import attempts_requeue_stuck


class Command(BaseCommand):
    help = (
        "Re-queue attempts stuck in queued or processing beyond ATTEMPT_STUCK_AFTER_SECONDS "
        "(or --older-than), and fail those that used up ATTEMPT_MAX_TRIES."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=float,
            metavar="SECONDS",
            help="Treat attempts as stuck after this many seconds instead of the setting. "
            "Only lower it when no worker is running, or live work is taken over.",
        )

    def handle(self, *args, **options):
        older_than = options["older_than"]
        if older_than is not None and older_than < 0:
            raise CommandError("--older-than must be zero or more seconds.")
        report = attempts_requeue_stuck(
            older_than=None if older_than is None else timedelta(seconds=older_than)
        )
        self.stdout.write(
            f"Re-queued {len(report.requeued)} attempt(s), failed {len(report.failed)}."
        )
        for label, ids in (("re-queued", report.requeued), ("failed", report.failed)):
            if ids and options["verbosity"] > 1:
                self.stdout.write(f"  {label}: {', '.join(map(str, ids))}")
