"""The customer-webhook models move here from billing: tables renamed, rows (and the
encrypted endpoint secrets, whose purpose string is unchanged) stay."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import portal.crypto

TABLES = ["webhookendpoint", "customerevent", "webhookdelivery", "deliveryattempt"]


def _rename(old: str, new: str) -> list[str]:
    return [f"ALTER TABLE {old}_{table} RENAME TO {new}_{table}" for table in TABLES]


def content_type_move(app_from, app_to):
    def run(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        moving = ContentType.objects.filter(app_label=app_from, model__in=TABLES)
        # A content type post_migrate created meanwhile under the target label (e.g. after an
        # unapply) has nothing pointing at it yet; the moving one keeps its permissions.
        ContentType.objects.filter(app_label=app_to, model__in=moving.values("model")).delete()
        moving.update(app_label=app_to)
    return run


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        # 0003 re-seals billing_webhookendpoint.secret under its old table name.
        ("billing", "0003_secrets_v2_format"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CustomerEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("public_id", models.CharField(max_length=40, unique=True)),
                        ("type", models.CharField(max_length=40)),
                        ("data", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="customer_events", to="accounts.organization")),
                    ],
                    options={"ordering": ["-created_at"]},
                ),
                migrations.CreateModel(
                    name="WebhookEndpoint",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("url", models.URLField(max_length=500)),
                        ("description", models.CharField(blank=True, max_length=120)),
                        ("event_types", models.JSONField(default=list)),
                        ("secret", portal.crypto.EncryptedTextField(help_text="whsec_… signing secret, AES-256-GCM encrypted at rest.", purpose="webhook-endpoint-secret")),
                        ("is_active", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="webhook_endpoints", to="accounts.organization")),
                    ],
                ),
                migrations.CreateModel(
                    name="WebhookDelivery",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("status", models.CharField(choices=[("pending", "Pending"), ("succeeded", "Succeeded"), ("retrying", "Retrying"), ("failed", "Failed")], default="pending", max_length=16)),
                        ("attempt_count", models.PositiveSmallIntegerField(default=0)),
                        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("endpoint", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="webhooks.webhookendpoint")),
                        ("event", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="webhooks.customerevent")),
                    ],
                    options={"ordering": ["-created_at", "-id"]},
                ),
                migrations.CreateModel(
                    name="DeliveryAttempt",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("attempted_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("response_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("response_body", models.TextField(blank=True)),
                        ("error", models.TextField(blank=True)),
                        ("duration_ms", models.PositiveIntegerField(default=0)),
                        ("delivery", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="attempts", to="webhooks.webhookdelivery")),
                    ],
                    options={"ordering": ["-attempted_at", "-id"]},
                ),
            ],
            database_operations=[migrations.RunSQL(_rename("billing", "webhooks"), _rename("webhooks", "billing"))],
        ),
        migrations.RunPython(content_type_move("billing", "webhooks"), content_type_move("webhooks", "billing")),
    ]
