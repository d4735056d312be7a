"""The status page's and the docs' models now live in the ``public`` app (its 0001 renamed the
tables and relabelled the content types); portal forgets them, in state only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0002_docskey_secret_v2"),
        ("public", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="IncidentUpdate"),
                migrations.DeleteModel(name="Incident"),
                migrations.DeleteModel(name="ProbeResult"),
                migrations.DeleteModel(name="DocsKey"),
            ],
        ),
    ]
