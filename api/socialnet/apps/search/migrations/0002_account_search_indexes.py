"""PostgreSQL only (nothing on SQLite, where accounts are found by substring): indexes account search can use.

The GIN trigram indexes of 0001 could serve `ILIKE 'prefix%'` and `%`, but their posting lists for common trigrams
are long, so PostgreSQL read all 10 000 accounts of the benchmark instead (~35 ms). They are replaced by:
- btree indexes on lower(column) with text_pattern_ops: a prefix is a range scan of one index, whatever the data;
- GiST trigram indexes: a typo is found by nearest-neighbour search (`ORDER BY column <-> q LIMIT n`), which
  stops after n candidates instead of checking every account whose name shares a trigram with the query.
Built without CONCURRENTLY, like 0001: the users table is small next to posts; run it in a quiet moment.
"""

from django.db import migrations

COLUMNS = ("username", "first_name", "last_name")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    user = apps.get_model("users", "User")._meta.db_table
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS user_{column}_prefix ON {user} (lower({column}) text_pattern_ops)"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS user_{column}_trgm_gist ON {user} USING gist ({column} gist_trgm_ops)"
        )
        schema_editor.execute(f"DROP INDEX IF EXISTS user_{column}_trgm")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    user = apps.get_model("users", "User")._meta.db_table
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS user_{column}_trgm ON {user} USING gin ({column} gin_trgm_ops)"
        )
        schema_editor.execute(f"DROP INDEX IF EXISTS user_{column}_trgm_gist")
        schema_editor.execute(f"DROP INDEX IF EXISTS user_{column}_prefix")


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
