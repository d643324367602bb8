"""Finding tags and mentions in text: Unicode tags, URLs and emails are not tags or mentions, `#123` is no tag."""

import pytest

from apps.tags.parsing import MAX_TAGS_PER_TEXT, parse, tag_key


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("#Python and #django", ["Python", "django"]),
        ("#café #straße #Москва #東京 #日本語_2", ["café", "straße", "Москва", "東京", "日本語_2"]),
        ("#123 is a number, #1a is a tag, #_ too", ["1a", "_"]),
        ("https://example.com/#anchor page#3 a#b", []),
        ('(#wrapped) «#quoted» "#q"', ["wrapped", "quoted", "q"]),
        ("#Dup #dup #DUP", ["Dup"]),
        ("#" + "x" * 100 + " #" + "y" * 101, ["x" * 100]),
        ("#cafe\u0301 #\uff46\uff55\uff4c\uff4c", ["café", "full"]),  # decomposed accent, full-width letters: NFKC
        ("# lonely #", []),
    ],
)
def test_tags(text, tags):
    assert parse(text).tags == tags


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("hi @Alice and @bob_2!", ["alice", "bob_2"]),
        ("mail ann@example.com or see https://x.org/@carl", []),
        ("@remote@other.server is not local", []),
        ("@a @A (@b)", ["a", "b"]),
        ("@" + "n" * 31, []),
    ],
)
def test_mentions(text, mentions):
    assert parse(text).mentions == mentions


def test_keys_compare_case_and_compatibility_insensitively():
    assert tag_key("CAFÉ") == tag_key("café") == tag_key("cafe\u0301")
    assert tag_key("Straße") == "straße"


def test_the_number_of_tags_per_text_is_bounded():
    text = " ".join(f"#t{i}" for i in range(MAX_TAGS_PER_TEXT + 10))
    assert len(parse(text).tags) == MAX_TAGS_PER_TEXT
