"""Customer webhooks and the provider sandbox are apps of their own now: their models leave
billing's state only (the tables were renamed, with their rows, by the new apps' 0001)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0003_secrets_v2_format"),
        ("webhooks", "0001_initial"),
        ("sandbox", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name="DeliveryAttempt"),
            migrations.DeleteModel(name="WebhookDelivery"),
            migrations.DeleteModel(name="CustomerEvent"),
            migrations.DeleteModel(name="WebhookEndpoint"),
            migrations.DeleteModel(name="SandboxObject"),
        ]),
    ]
