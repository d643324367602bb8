"""Fill users.User.followed_tags_count for the tag follows made before the counter existed (apps.tags.services
keeps it from then on). A user whose count said 0 while following tags would never see their tags' posts."""

from django.db import migrations
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def forwards(apps, schema_editor):
    User = apps.get_model("users", "User")
    TagFollow = apps.get_model("tags", "TagFollow")
    follows = TagFollow.objects.filter(user_id=OuterRef("pk")).order_by().values("user_id").annotate(n=Count("id"))
    User.objects.filter(pk__in=TagFollow.objects.values("user_id")).update(
        followed_tags_count=Coalesce(Subquery(follows.values("n")), 0)
    )


class Migration(migrations.Migration):
    dependencies = [("tags", "0002_tag_follow"), ("users", "0007_user_followed_tags_count")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
