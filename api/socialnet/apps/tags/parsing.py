"""Finding #tags and @mentions in text. Run once, when text is written (apps.tags.services), never at read time.

A tag or mention starts the text or follows whitespace or an opening bracket/quote: so `example.com/#anchor`,
`page#3` and `ann@example.com` are not tags or mentions. Text is NFKC-normalised first, so composed and decomposed
accents, full-width letters and ligatures spell the same tag.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TAG_MAX_LENGTH = 100
# Beyond these a post's extra #words and @names stay plain text: bounds the rows and notifications one post makes.
MAX_TAGS_PER_TEXT = 30
MAX_MENTIONS_PER_TEXT = 20

_START = r"(?<![^\s(\[{\"'«\u201c\u2018])"  # the last two: opening curly quotes
# \w on str patterns is Unicode: letters of any script, digits, underscore.
_TAG = re.compile(_START + r"#(\w+)")
# Usernames are ASCII (apps.users); `@bob@example.org` (another server) is not a local mention.
_MENTION = re.compile(_START + r"@([A-Za-z0-9_]{1,30})(?![\w@])")


def tag_key(name: str) -> str:
    """How tag names compare: NFKC, lower case (`#Café`, `#CAFÉ` and `#café` are one tag)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).lower())


def tag_name_is_valid(name: str) -> bool:
    return 0 < len(name) <= TAG_MAX_LENGTH and re.fullmatch(r"\w+", name) is not None and not name.isdigit()


@dataclass(frozen=True)
class Parsed:
    tags: list[str]  # as first written in this text, one per key, in order
    mentions: list[str]  # lower-cased usernames, in order


def parse(text: str) -> Parsed:
    text = unicodedata.normalize("NFKC", text or "")
    tags: dict[str, str] = {}
    for match in _TAG.finditer(text):
        name = match.group(1)
        if not tag_name_is_valid(name):
            continue  # `#123`, or longer than a tag may be: plain text
        tags.setdefault(tag_key(name), name)
        if len(tags) == MAX_TAGS_PER_TEXT:
            break
    mentions: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        mentions.setdefault(match.group(1).lower(), None)
        if len(mentions) == MAX_MENTIONS_PER_TEXT:
            break
    return Parsed(tags=list(tags.values()), mentions=list(mentions))
