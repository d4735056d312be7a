"""Index the timestamps the retention task deletes by."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_delivery_due_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customerevent",
            index=models.Index(fields=["created_at"], name="webhooks_event_created_idx"),
        ),
        migrations.AddIndex(
            model_name="deliveryattempt",
            index=models.Index(fields=["attempted_at"], name="webhooks_attempt_at_idx"),
        ),
    ]
