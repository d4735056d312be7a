"""The public site's models move here from ``portal`` with their data: the tables are renamed
(``portal_*`` → ``public_*``) and the content types relabelled, so rows, permissions and admin
log entries stay attached. ``portal.0003_move_public_models`` drops them from portal's state."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import portal.crypto

MODELS = ("proberesult", "incident", "incidentupdate", "docskey")


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=old, model__in=MODELS).update(app_label=new)


def content_types_forwards(apps, schema_editor):
    _relabel(apps, "portal", "public")


def content_types_backwards(apps, schema_editor):
    _relabel(apps, "public", "portal")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("portal", "0002_docskey_secret_v2"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"ALTER TABLE portal_{name} RENAME TO public_{name}",
                    reverse_sql=f"ALTER TABLE public_{name} RENAME TO portal_{name}",
                )
                for name in MODELS
            ],
            state_operations=[
                migrations.CreateModel(
                    name="Incident",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("title", models.CharField(max_length=200)),
                        ("impact", models.CharField(choices=[("minor", "Degraded performance"), ("major", "Partial outage"), ("critical", "Major outage"), ("maintenance", "Scheduled maintenance")], default="minor", max_length=16)),
                        ("status", models.CharField(choices=[("investigating", "Investigating"), ("identified", "Identified"), ("monitoring", "Monitoring"), ("resolved", "Resolved")], default="investigating", max_length=16)),
                        ("components", models.JSONField(blank=True, default=list, help_text='Affected component codes, e.g. ["api"].')),
                        ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("resolved_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "ordering": ["-started_at"],
                        "constraints": [models.CheckConstraint(condition=models.Q(("resolved_at__isnull", True), ("resolved_at__gte", models.F("started_at")), _connector="OR"), name="incident_resolved_after_start")],
                    },
                ),
                migrations.CreateModel(
                    name="IncidentUpdate",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("status", models.CharField(choices=[("investigating", "Investigating"), ("identified", "Identified"), ("monitoring", "Monitoring"), ("resolved", "Resolved")], max_length=16)),
                        ("body", models.TextField()),
                        ("posted_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("incident", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="updates", to="public.incident")),
                    ],
                    options={
                        "ordering": ["-posted_at"],
                    },
                ),
                migrations.CreateModel(
                    name="ProbeResult",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("component", models.CharField(choices=[("api", "API"), ("database", "Database"), ("redis", "Rate limiting & cache"), ("workers", "Background workers"), ("usage", "Usage metering"), ("billing", "Billing")], max_length=16)),
                        ("ok", models.BooleanField()),
                        ("latency_ms", models.FloatField(blank=True, null=True)),
                        ("detail", models.CharField(blank=True, max_length=300)),
                        ("checked_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                    ],
                    options={
                        "ordering": ["-checked_at"],
                        "indexes": [models.Index(fields=["component", "-checked_at"], name="probe_component_recent")],
                    },
                ),
                migrations.CreateModel(
                    name="DocsKey",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("api_key_id", models.BigIntegerField(help_text="keys.ApiKey id (test mode).")),
                        ("secret", portal.crypto.EncryptedTextField(purpose="docs-try-it-key")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="docs_keys", to="accounts.organization")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="docs_keys", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "constraints": [models.UniqueConstraint(fields=("user", "organization"), name="docskey_one_per_member")],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_forwards, content_types_backwards),
    ]
