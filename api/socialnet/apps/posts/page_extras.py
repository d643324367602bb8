"""What a post shows beyond its own row: its images (in order), its tag names (as first written, in text order) and
its mentions (active accounts only), read inside the query that reads the posts, one column per post.

One statement per page, not a second one for the extras by the page's ids: a round trip to PostgreSQL cost a page
more CPU (a context switch and cold caches each way) than these correlated subqueries cost the server, three index
scans per post (docs/benchmarks.md). The column is NULL for a post locked to the viewer: its images, tags and
mentions are never read out of the database, so no later bug can put them in a payload.

The column is JSON text, `[tag names, [[user id, username], ...], [[image columns...], ...]]` (an empty list may
come as null), decoded here; built through the ORM (Prefetch, subquery expressions), this cost more Python time per
page than the query itself, and the SQL is compiled once per shape anyway (apps.common.prepared)."""

from __future__ import annotations

import json
from functools import cache

from django.db import router
from django.db.models import Expression, F, TextField

from apps.images.models import Image
from apps.images.selectors import PAGE_IMAGE_COLUMNS, page_image
from apps.users.models import User

from .models import Post

# The annotation's name on a post (instance attribute or values() key); `attach_extras` replaces it.
EXTRAS = "page_extras"


@cache
def _tables() -> dict[str, str]:
    # The tag and mention rows belong to the tags app, above posts: reached through the relations it declares on
    # Post, never imported. Built on first use: every app's models are loaded by then.
    tag_rows = Post._meta.get_field("post_tags").related_model
    mention_rows = Post._meta.get_field("post_mentions").related_model
    return {
        "post_tag": tag_rows._meta.db_table,
        "tag": tag_rows._meta.get_field("tag").related_model._meta.db_table,
        "mention": mention_rows._meta.db_table,
        "user": User._meta.db_table,
        "image": Image._meta.db_table,
        "image_columns": ", ".join(f"i.{name}" for name in PAGE_IMAGE_COLUMNS),
    }


# {post} is the outer post's id column, {locked} the rule's `is_locked`: fragments compiled by Django, never input.
# PostgreSQL: ordered json_agg, NULL for no rows; cast to text, as SQLite returns it (one decoding below).
_POSTGRESQL = (
    "CASE WHEN {locked} THEN NULL ELSE json_build_array("
    "(SELECT json_agg(t.name ORDER BY pt.id) FROM {post_tag} pt JOIN {tag} t ON t.id = pt.tag_id "
    "WHERE pt.post_id = {post}), "
    "(SELECT json_agg(json_build_array(u.id, u.username) ORDER BY m.id) FROM {mention} m "
    "JOIN {user} u ON u.id = m.user_id WHERE m.post_id = {post} AND u.is_active), "
    "(SELECT json_agg(json_build_array({image_columns}) ORDER BY i.position, i.id) FROM {image} i "
    "WHERE i.post_id = {post}))::text END"
)
# The embedded SQLite mode: json_group_array takes no ORDER BY before SQLite 3.44, so it reads an ordered subquery.
_SQLITE = (
    "CASE WHEN {locked} THEN NULL ELSE json_array("
    "json((SELECT json_group_array(name) FROM (SELECT t.name FROM {post_tag} pt JOIN {tag} t ON t.id = pt.tag_id "
    "WHERE pt.post_id = {post} ORDER BY pt.id))), "
    "json((SELECT json_group_array(json_array(id, username)) FROM (SELECT u.id, u.username FROM {mention} m "
    "JOIN {user} u ON u.id = m.user_id WHERE m.post_id = {post} AND u.is_active ORDER BY m.id))), "
    "json((SELECT json_group_array(json_array({row_columns})) FROM (SELECT {image_columns} FROM {image} i "
    "WHERE i.post_id = {post} ORDER BY i.position, i.id)))) END"
)


class PageExtras(Expression):
    """The extras column of the post rows it annotates; needs the rule's `is_locked` annotation before it."""

    output_field = TextField()

    def __init__(self):
        super().__init__(output_field=TextField())
        self.post, self.locked = F("id"), F("is_locked")

    def get_source_expressions(self):
        return [self.post, self.locked]

    def set_source_expressions(self, exprs):
        self.post, self.locked = exprs

    def _sql(self, template: str, compiler, **extra) -> tuple[str, list]:
        post_sql, post_params = compiler.compile(self.post)
        locked_sql, locked_params = compiler.compile(self.locked)
        assert not post_params  # a column: it is written three times below
        return template.format(post=post_sql, locked=locked_sql, **_tables(), **extra), locked_params

    def as_sql(self, compiler, connection):
        return self._sql(_POSTGRESQL, compiler)

    def as_sqlite(self, compiler, connection):
        return self._sql(_SQLITE, compiler, row_columns=", ".join(PAGE_IMAGE_COLUMNS))


def _decode(text: str | None, using: str) -> tuple[list[str], list[dict], list[Image]]:
    if text is None:  # locked for the viewer
        return [], [], []
    tags, mentions, images = json.loads(text)
    return (
        tags or [],
        [{"id": user_id, "username": username} for user_id, username in mentions or ()],
        [page_image(using, values) for values in images or ()],
    )


def attach_extras(posts: list[Post]) -> None:
    """Each post's extras column as `tag_names`, `mention_cards` and `ordered_images`."""
    using = router.db_for_read(Post)
    for post in posts:
        post.tag_names, post.mention_cards, post.ordered_images = _decode(post.__dict__.pop(EXTRAS), using)


def attach_row_extras(rows: list[dict]) -> None:
    """`attach_extras` for a list page's values() rows: the same three, as keys."""
    using = router.db_for_read(Post)
    for row in rows:
        row["tag_names"], row["mention_cards"], row["ordered_images"] = _decode(row.pop(EXTRAS), using)
