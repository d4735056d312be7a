"""SandboxObject moves here from billing: the table is renamed, the rows stay."""

import django.utils.timezone
from django.db import migrations, models


def content_type_move(app_from, app_to, models_):
    def run(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        moving = ContentType.objects.filter(app_label=app_from, model__in=models_)
        # A content type post_migrate created meanwhile under the target label (e.g. after an
        # unapply) has nothing pointing at it yet; the moving one keeps its permissions.
        ContentType.objects.filter(app_label=app_to, model__in=moving.values("model")).delete()
        moving.update(app_label=app_to)
    return run


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("billing", "0003_secrets_v2_format"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SandboxObject",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("provider", models.CharField(choices=[("stripe", "Stripe"), ("paystack", "Paystack")], max_length=16)),
                        ("kind", models.CharField(max_length=40)),
                        ("object_id", models.CharField(max_length=120)),
                        ("data", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "constraints": [models.UniqueConstraint(fields=("provider", "kind", "object_id"), name="sandboxobject_unique")],
                    },
                ),
            ],
            database_operations=[
                migrations.RunSQL("ALTER TABLE billing_sandboxobject RENAME TO sandbox_sandboxobject",
                                  "ALTER TABLE sandbox_sandboxobject RENAME TO billing_sandboxobject"),
            ],
        ),
        migrations.RunPython(content_type_move("billing", "sandbox", ["sandboxobject"]),
                             content_type_move("sandbox", "billing", ["sandboxobject"])),
    ]
