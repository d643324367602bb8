"""PostgreSQL only: pg_trgm, the stored tsvector of posts with its GIN index, trigram indexes for accounts and a
prefix index for tags. On SQLite (embedded mode) this does nothing: search falls back to simple matching there
(apps.search.selectors).

The column lives on the posts table but is not a model field: the embedded SQLite mode has no tsvector, and a
field that exists on one database only cannot be declared. Only apps.search reads it (`POST_SEARCH_VECTOR`).
It is GENERATED ... STORED, so PostgreSQL keeps it in step with the text on every write, edits included.
Adding it rewrites the posts table once (a long lock on a big table: run it in a quiet moment).
"""

from django.db import migrations

SEARCH_CONFIG = "simple"  # no stemming, no stop words: posts are in every language; see apps.search.selectors


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    post = apps.get_model("posts", "Post")._meta.db_table
    user = apps.get_model("users", "User")._meta.db_table
    tag = apps.get_model("tags", "Tag")._meta.db_table
    for sql in (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        f"ALTER TABLE {post} ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS "
        f"(to_tsvector('{SEARCH_CONFIG}'::regconfig, coalesce(text, ''))) STORED",
        f"CREATE INDEX IF NOT EXISTS post_search_vector ON {post} USING gin (search_vector)",
        f"CREATE INDEX IF NOT EXISTS user_username_trgm ON {user} USING gin (username gin_trgm_ops)",
        f"CREATE INDEX IF NOT EXISTS user_first_name_trgm ON {user} USING gin (first_name gin_trgm_ops)",
        f"CREATE INDEX IF NOT EXISTS user_last_name_trgm ON {user} USING gin (last_name gin_trgm_ops)",
        f"CREATE INDEX IF NOT EXISTS tag_key_prefix ON {tag} (key text_pattern_ops)",
    ):
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    post = apps.get_model("posts", "Post")._meta.db_table
    for sql in (
        "DROP INDEX IF EXISTS tag_key_prefix",
        "DROP INDEX IF EXISTS user_last_name_trgm",
        "DROP INDEX IF EXISTS user_first_name_trgm",
        "DROP INDEX IF EXISTS user_username_trgm",
        "DROP INDEX IF EXISTS post_search_vector",
        f"ALTER TABLE {post} DROP COLUMN IF EXISTS search_vector",
    ):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0001_initial"),
        ("users", "0006_user_is_private"),
        ("tags", "0002_tag_follow"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
