"""``User.role`` alone decides who is an admin; ``is_staff`` / ``is_superuser`` follow it.

Before this, a superuser whose role was left at "learner" (``createsuperuser``) was still
treated as an admin. Such users become role=admin here so they keep their access, and every
user's flags are brought in step with their role (admin ⇒ staff and superuser; anyone
else ⇒ neither), as ``User.save()`` keeps them from now on.
"""

from django.db import migrations

import tutor.models


def roles_from_superuser_flag(apps, schema_editor):
    User = apps.get_model("tutor", "User")
    User.objects.filter(is_superuser=True).exclude(role="admin").update(role="admin")
    User.objects.filter(role="admin").update(is_staff=True, is_superuser=True)
    User.objects.exclude(role="admin").update(is_staff=False, is_superuser=False)


class Migration(migrations.Migration):
    dependencies = [
        ("tutor", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[
                ("objects", tutor.models.RoleUserManager()),
            ],
        ),
        migrations.RunPython(roles_from_superuser_flag, migrations.RunPython.noop),
    ]
