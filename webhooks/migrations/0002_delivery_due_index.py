"""Retries move from Celery countdowns to a sweeper over ``next_attempt_at``: index the open
deliveries by it, and give the open deliveries created before it (whose first attempt was only
a queued message) a due time, so the sweeper sends them should that message be lost."""

from django.db import migrations, models
from django.db.models import F


def open_deliveries_due(apps, schema_editor):
    WebhookDelivery = apps.get_model("webhooks", "WebhookDelivery")
    WebhookDelivery.objects.filter(status__in=["pending", "retrying"], next_attempt_at__isnull=True).update(
        next_attempt_at=F("created_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "retrying"])),
                fields=["next_attempt_at"],
                name="webhooks_delivery_due_idx",
            ),
        ),
        migrations.RunPython(open_deliveries_due, migrations.RunPython.noop, elidable=True),
    ]
