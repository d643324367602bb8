"""The README and docs/ must stay true to the repository: links resolve, every page is reachable from the README,
and the README's code map names every Django app."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slug(match) for match in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_relative_links_resolve():
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked here
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    unlinked = [page.name for page in PAGES[1:] if f"(docs/{page.name})" not in readme]
    assert unlinked == [], f"link these from the README's Documentation section: {unlinked}"


def test_the_code_map_names_every_app():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Where things are\n", 1)[1].split("\n## ", 1)[0]
    mapped = re.findall(r"^\| \d+ \| `(\w+)` \|", section, flags=re.M)
    installed = [app.removeprefix("apps.") for app in settings.INSTALLED_APPS if app.startswith("apps.")]
    assert sorted(mapped) == sorted(installed), "the README's code map and INSTALLED_APPS disagree"
    assert mapped[0] == "common", "the code map lists the lowest layer first"
