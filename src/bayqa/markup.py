"""Markdown as found on the web, made into text that reads (and is searched) like what the page shows.

YAML front matter becomes metadata instead of passage text. Images become their alt text, links their visible
text, and bare URLs longer than a short address their host name, so no passage is filled with web addresses.
Footnote markers (``[^1]``, ``<sup>4</sup>``) are dropped, and the footnotes' own text kept. A line of nothing but
links (a menu, a table of contents, related articles) is dropped. Other HTML tags are
dropped (an ``<img>`` keeps its alt text). Headings left empty are dropped, and a bold line that opens a block
with a hard line break is set apart, so that it can act as a heading. Fenced code is left exactly as it is.
Emphasis and heading marks stay: the page shows Markdown without them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from bayqa.paragraphs import split_fenced

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.MULTILINE | re.DOTALL)
_KEY = re.compile(r"([A-Za-z_][\w.-]*)[ \t]*:(?:[ \t]+(.*))?$")
_YAML_ITEM = re.compile(r"\s*-\s+(.*)$")

_CODE_SPAN = re.compile(r"(`+).*?\1")
# Links and images, inline ("[text](url "title")") or by reference ("[text][label]"), and the references' targets.
_URL_PART = r"[^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*"  # balanced parentheses may occur in a URL
_TARGET = rf"(?:\(\s*{_URL_PART}(?:\s+[\"'(][^\n]*?[\"')])?\s*\)|\[[^\]\n]*\])"
_IMAGE = re.compile(rf"!\[([^\]\n]*)\]{_TARGET}")
_LINK = re.compile(rf"\[([^\]\n]*)\]{_TARGET}")
_REFERENCE = re.compile(r" {0,3}\[[^\]\n^][^\]\n]*\]:\s*\S+.*")
# A line of nothing but links, as a list item or with separators: a site's menu, "Skip to content", a table of
# contents or "Related articles" - the site's navigation, not the document's text.
_LINKS_ONLY = re.compile(rf"[ \t]*(?:[-*+][ \t]+|\d{{1,3}}[.)][ \t]+)?(?:\[[^\]\n]*\]{_TARGET}[ \t|·•/,;]*)+")

# Footnotes: the marker in the text goes, the footnote's own text stays.
_FOOTNOTE_DEFINITION = re.compile(r"^( {0,3})\[\^[^\]\s]+\]:[ \t]*", re.MULTILINE)
#: What a footnote mark set in <sup> says: a number, a letter or a sign (the HTML reader drops those too).
FOOTNOTE_MARK_TEXT = r"[\w*†‡§]{1,3}"
_FOOTNOTE_MARK = re.compile(rf"\[\^[^\]\s]+\]|<sup>\s*{FOOTNOTE_MARK_TEXT}\s*</sup>", re.IGNORECASE)

# HTML inside Markdown, as web archives keep it (<figure>, <img>, comments).
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ALT = re.compile(r"\balt\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE)

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}。，；：！？）」』]")
_EMPTY_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]+#*)?[ \t]*$")
_BOLD_LINE = re.compile(r"[ \t]*(\*\*|__)(?=\S)([^*_\n]+?)\1[ \t]*$")
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")

LONG_URL = 30  # characters: a longer address is shown as its host


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The YAML front matter of a Markdown text as simple ``key: value`` strings (lists joined with commas), and the
    text without it. A text whose first lines only look like a rule is returned whole, with no metadata."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    metadata: dict[str, str] = {}
    key = ""
    for line in match.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = _YAML_ITEM.match(line)
        found = None if line[:1].isspace() or item else _KEY.match(line)
        if found:
            key = found.group(1).lower()
            metadata[key] = _unquote(found.group(2) or "")
        elif item and key:
            metadata[key] = ", ".join(filter(None, (metadata[key], _unquote(item.group(1)))))
        elif not key or not line[:1].isspace():
            return {}, text  # not YAML keys: the dashes were a rule and what follows is the text
    return metadata, text[match.end() :].lstrip("\n")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.replace('\\"', '"').strip()


_ATX_HEADING = re.compile(r"#{1,6}\s+\S")
_HEADING_TAIL = re.compile(r"[a-z][^.!?:;。！？：；]{0,58}")  # a heading's second line: lower case, short, no stop
#: What closes a sentence or a clause at a line's end, in either language.
CLOSING_STOPS = (".", "!", "?", ":", ";", "。", "！", "？", "：", "；")


def clean_markdown(text: str) -> str:
    """Markdown without the markup that a page does not show as text; see the module's description."""
    pieces = []
    for piece, fenced in split_fenced(text):
        if not fenced:
            piece = _COMMENT.sub("", piece)
            piece = _FOOTNOTE_DEFINITION.sub(r"\1", piece)
            piece = "\n".join(_clean_lines(piece.split("\n")))
            piece = _BLANK_LINES.sub("\n\n", piece)
        pieces.append(piece)
    return "".join(pieces)


def _clean_lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    for i, line in enumerate(lines):
        if _REFERENCE.fullmatch(line) or _LINKS_ONLY.fullmatch(line):
            continue
        cleaned = _outside_code(line, clean_inline)
        if cleaned != line and not cleaned.strip() or _EMPTY_HEADING.fullmatch(cleaned):
            continue  # a line of nothing but markup, or a heading with no words
        previous, following = lines[i - 1] if i else "", lines[i + 1] if i + 1 < len(lines) else ""
        if _stands_out(cleaned, previous, following):
            out += [cleaned.rstrip(), ""]
            continue
        out.extend(cleaned.split("\n"))
    return _wrapped_headings(out)


def _wrapped_headings(lines: list[str]) -> list[str]:
    """A heading that a conversion from PDF wrapped onto the next line ("## Chapter VII Promote the Integrated
    Development", a blank line, "of Education, Technology and Talents") made whole: a heading without a closing
    stop, and a short line after it that starts in lower case and ends in none."""
    out = list(lines)
    i = 0
    while i + 2 < len(out):
        heading, blank, rest = out[i], out[i + 1], out[i + 2].strip()
        open_heading = _ATX_HEADING.match(heading) is not None and not heading.rstrip().endswith(CLOSING_STOPS)
        if open_heading and not blank.strip() and _HEADING_TAIL.fullmatch(rest):
            out[i] = f"{heading.rstrip()} {rest}"
            del out[i + 2]
        i += 1
    return out


def _stands_out(line: str, previous: str, following: str) -> bool:
    """A bold line that opens a block and ends in a hard line break before more text: a heading set in bold."""
    return bool(_BOLD_LINE.match(line)) and line.endswith("  ") and not previous.strip() and bool(following.strip())


def _outside_code(line: str, clean: Callable[[str], str]) -> str:
    """``clean`` applied to the parts of the line outside inline code spans."""
    parts, pos = [], 0
    for code in _CODE_SPAN.finditer(line):
        parts += [clean(line[pos : code.start()]), code.group()]
        pos = code.end()
    parts.append(clean(line[pos:]))
    return "".join(parts)


# What a page shows of inline markup, replaced in this order (an image inside a link first, then the link).
_INLINE: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_FOOTNOTE_MARK, ""),
    (_IMAGE, r"\1"),
    (_LINK, r"\1"),
    (_IMG_TAG, lambda m: next((a or b for a, b in _ALT.findall(m.group())), "")),
    (re.compile(r"<br\s*/?>", re.IGNORECASE), "\n"),
    (re.compile(r"<((?:https?|ftp)://[^\s<>]+)>"), r"\1"),  # an autolink: its address, shortened below
    (re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>"), ""),  # any other tag
)


def clean_inline(text: str) -> str:
    """Images to alt text, links to their text, footnote markers and tags dropped, long URLs shortened."""
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return shorten_urls(text)


def shorten_urls(text: str) -> str:
    """Each web address longer than LONG_URL characters replaced by its host name ("hkcnews.com")."""
    return _URL.sub(_short, text)


def _short(match: re.Match[str]) -> str:
    url = match.group()
    if len(url) <= LONG_URL:
        return url
    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    return host.removeprefix("www.")
