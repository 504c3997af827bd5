"""Small text helpers shared by several projects: slugs and safe truncation."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 60) -> str:
    """'Broad Beans, Sown in Autumn!' -> 'broad-beans-sown-in-autumn'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_WORD.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "untitled"


def truncate(text: str, width: int, suffix: str = "...") -> str:
    """Cut `text` to at most `width` characters at a word boundary, ending with `suffix`."""
    if len(text) <= width:
        return text
    if width <= len(suffix):
        return suffix[:width]
    cut = text[: width - len(suffix)]
    if text[len(cut)] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + suffix


def word_count(text: str) -> int:
    return len(text.split())


if __name__ == "__main__":
    assert slugify("Broad Beans, Sown in Autumn!") == "broad-beans-sown-in-autumn"
    assert slugify("Über Straße") == "uber-strae"
    assert truncate("the quick brown fox", 12) == "the quick..."
    assert truncate("short", 12) == "short"
    print("ok")
