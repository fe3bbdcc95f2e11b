"""Load the demo school: three users, one class and a handful of English lessons."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tutor.services import demo_school_load


class Command(BaseCommand):
    help = "Create the demo users, class and lessons (only with DEMO_MODE on). Idempotent."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("Demo data is only loaded with DEMO_MODE=1 (as `make run` does).")
        summary = demo_school_load()
        self.stdout.write(
            f"Demo data ready: {summary['users']} users, {summary['lessons']} lessons, "
            f"class “{summary['classroom']}”."
        )
