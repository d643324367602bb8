"""Run inside the transaction that writes text on a post (apps.common.hooks explains why not a signal): the tags
app registers its parser here at startup; posts and comments, below tags, never import it.

- `post_text_written.run(post=...)`: by apps.posts.services when a post is created or its text edited;
- `comment_text_written.run(comment_id=..., author=..., text=...)`: by apps.comments.services when a comment is
  created or edited. Declared here, not in comments, because tags and comments are independent siblings in the
  layers: both may import posts, neither the other.
"""

from apps.common.hooks import Hooks

post_text_written = Hooks("post_text_written")
comment_text_written = Hooks("comment_text_written")
