"""What a question asks: the kind of answer it wants, and the questions it holds when it asks several at once.

The answer kind steers the highlighter's figure bonus and the "not found" answer-type check: "date" for "when",
"until when", "what year", "什么时候"; "figure" for "how many", "how much", "多少"; "amount" (of money) for a
figure question about a toll, fee, fare, price, cost, rent, wage, salary or budget, or "how much" someone spends,
pays or invests (投资, 拨款), and for "what is the toll …" or "what monthly rent does …"; not for a share of it ("as a
share of GDP"). The first question word decides: "How many … when it opened?" asks for a number.
"when" asks only as a question word: it opens the question or one of its clauses, follows "since", "until" or a
verb of knowing or telling, or comes before an inverted auxiliary ("… and when did it open?"); elsewhere it is a
conjunction ("Who was governor when the plan was signed?", "… focus on when analysing …", "When the plan was
released, what …?") and asks for nothing.
Traditional Chinese and Cantonese question words (什麼時候, 幾時, 幾多, 邊個月, 多少錢) count like their Simplified
forms.

A question such as "When was X first used, and when did Y …?" holds two questions (``parts``): its clauses are
cut at a question mark or semicolon inside it, at "and" / "but" / "or" before a question word, and at a Chinese
comma; each clause with a question word is a part, and a clause without one joins the next part (or the last).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bayqa.terms import simplified, terms

_AUXILIARY = "is|are|was|were|will|would|did|does|do|has|have|had|can|could|should|shall|may|might|must"
_LEAD_IN = r"and|but|or|since|until|till|from|by|know|tell(?:\s+(?:me|us))?|say|ask|asks|asked|state|states|show|shows|explain"
_ASKS_FOR_DATE = re.compile(
    # "When choosing …, what …", "When asked …": "when" before a participle opens a clause, not a question
    rf"(?:^\W*|[,;:?(]\s*|\b(?:{_LEAD_IN})\s+)when\b(?!\s+\w+(?:ing|ed)\b)|\bwhen\s+(?:{_AUXILIARY})\b"
    r"|\b(?:what|which) (?:years?|dates?|days?|months?)\b"
    r"|[什甚][么麼麽][时時]候|何[时時]|[几幾][时時]|哪一?年|哪一?天|哪[个個]月|[几幾]月|几号|幾號"
    r"|邊一?年|邊[個个]月|邊一?[日天]",
    re.IGNORECASE,
)
# "What is the toll for a car …" asks for money like "How much is the toll …": the money word heads the phrase
# (a preposition, punctuation or the end follows it), unlike "What is the toll road called?".
_MONEY_WORD = r"(?:tolls?|fees?|fares?|prices?|costs?|rents?|tariffs?|charges?|wages?|salar(?:y|ies)|budgets?)"
_WHAT_MONEY = (
    rf"what(?:['’]s|\s+(?:is|are|was|were|will\s+be|would\s+be))\s+the\s+(?:[\w-]+\s+){{0,3}}?{_MONEY_WORD}"
    r"(?=\s*(?:$|[?.,;:]|(?:for|of|on|to|at|per|in|from|charged|paid|payable|levied|under|each|now)\b))"
    # "What monthly rent does the park charge …", "What salary must employers pay …"
    rf"|what\s+(?:[\w-]+\s+){{0,2}}?{_MONEY_WORD}\s+(?:{_AUXILIARY})\b"
)
_ASKS_FOR_FIGURE = re.compile(
    r"\b(?:how (?:many|much|long|large|big|far|old|often|high|soon|deep|wide|tall|heavy|fast)|"
    rf"what (?:share|percentage|proportion|fraction|size|area|number|amount|quota|cap|rent|cost)|{_WHAT_MONEY}"
    r"|as a (?:share|percentage|proportion) of"
    r"|what (?:[\w-]+\s+){0,2}?rates?)\b"  # "What hourly rate …", "What is the rate of …": a rate is a figure
    # 几乎 is "almost", 哪几个 "which ones"; after 的, 这, 那, 前, 后, 近 it is "the few" (剩下的几栋楼, 这几年, 近几年)
    r"|多少|多大|多[长長]|多高|多久|多[远遠]|(?<![哪的这這那前后後近])[几幾](?!乎)",
    re.IGNORECASE,
)
_HOW_MANY = re.compile(r"\bhow many\s+([A-Za-z][\w'’-]*)", re.IGNORECASE)
# Measure words that count things (家 companies, 个 items, 座 buildings, 名 people …), after 多少 or 几.
_MEASURE = re.compile(r"(?:多少|(?<![哪的这這那前后後近])[几幾])\s*([家个個座间間所名人项項条條次架辆輛艘栋棟位份种種类類批届屆层層部台只隻])")
# A figure question about money ("How much is the toll", "租金是多少") wants an amount of money.
_ASKS_FOR_AMOUNT = re.compile(
    rf"\b{_MONEY_WORD}\b"
    r"|\bhow much\b[^?]*\b(?:spends?|spent|pays?|paid|invests?|invested)\b"  # "How much will Shenzhen spend …"
    r"|投资|投資|拨款|撥款"
    r"|租金|[价價]格|[价價][钱錢]|[费費]用|[票车車学學路][价價费費]|收[费費]|多少[钱錢]|幾多[钱錢]|造[价價]|工[资資]|薪",
    re.IGNORECASE,
)
# A share of money ("What share of a product's costs …", "成本占比") is a percentage, not an amount.
_ASKS_FOR_SHARE = re.compile(r"\b(?:what|which) (?:share|percentage|proportion|fraction)\b|\bhow many per ?cent\b|\bas a (?:share|percentage|proportion) of\b|百分之几|比例|比重|占比|佔比", re.IGNORECASE)
# Where a question's clauses meet: a question mark or semicolon with more after it, "and" / "but" / "or" before a
# question word, a Chinese comma.
_CLAUSE_BREAK = re.compile(
    r"[?？;；](?=\s*\S)|,?\s*\b(?:and|but|or)\s+(?=(?:when|what|which|who|whom|whose|where|why|how)\b)|，",
    re.IGNORECASE,
)
_QUESTION_WORD = re.compile(
    r"\b(?:when|what|which|who|whom|whose|where|why|how)\b"
    r"|什[么麼麽]|甚[么麼麽]|哪|谁|誰|多少|[几幾](?!乎)|如何|怎|[为為]何|何[时時]|邊(?:[個个度位間啲一年日天])|[吗嗎]|是否",
    re.IGNORECASE,
)
# Spoken Cantonese as Hong Kong writes it, in standard written Chinese: the multilingual model and the dictionary
# read the standard forms (而家 is 现在 "now"), and the colloquial characters would make search terms no passage
# has. Longer words first; 係 only as the verb (not in 關係 "relation"), and no word that standard Chinese also uses.
_CANTONESE = {
    "點解": "為什麼", "點樣": "怎樣", "乜嘢": "什麼", "咩嘢": "什麼", "邊度": "哪裡", "邊個": "誰", "邊位": "哪位",
    "幾耐": "多久", "幾多": "多少", "幾時": "什麼時候", "而家": "現在", "宜家": "現在", "會唔會": "會不會",
    "有冇": "有沒有", "係咪": "是不是", "佢哋": "他們", "我哋": "我們", "你哋": "你們",
    "嘅": "的", "咗": "了", "喺": "在", "冇": "沒有", "唔": "不", "咩": "什麼", "嚟": "來", "佢": "他", "啲": "些",
    "嗰": "那", "畀": "給", "睇": "看", "咁": "這麼",
    "呢啲": "這些", "呢個": "這個", "呢度": "這裡", "嗰度": "那裡", "邊間": "哪間", "揸車": "開車", "搵": "找",
    "俾": "給", "嘢": "東西", "諗": "想", "攞": "拿", "噉": "這樣", "乜": "什麼",
}
_COLLOQUIAL = re.compile("|".join(sorted(_CANTONESE, key=len, reverse=True)) + r"|(?<![關联聯维維干幹体體])係")


def written_chinese(question: str) -> str:
    """``question`` with the words of spoken Cantonese put in standard written Chinese (幾多 -> 多少, 嘅 -> 的)."""
    return _COLLOQUIAL.sub(lambda m: _CANTONESE.get(m.group(), "是"), question)


# When a date word and a figure word start at the same place (几时, 幾時), the date word is the longer, and decides.
_YEAR = re.compile(r"(?<![\d.,])(1[89]\d\d|20\d\d)(?!\d)(?![.,]\d)")  # not part of a longer number
_KINDS = (("date", _ASKS_FOR_DATE), ("figure", _ASKS_FOR_FIGURE))
_ASKS_WHY = re.compile(r"\bwhy\b|\bhow come\b|\bfor what reasons?\b|为什么|為什麼|為甚麼|为何|為何|何以|点解|點解|原因", re.IGNORECASE)
# "When the first phase straightened the channel in 1997, how much land …?": a clause that "when" opens and a comma
# closes before a question word sets the scene; the question after it says what is asked.
_WHEN_CLAUSE = re.compile(r"^\W*when\b[^,?]*,\s*(?=(?:what|which|who|whom|whose|where|why|how|when)\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    """One of the questions a question asks: its search terms and the kind of answer it wants (as
    ``expected_answer`` says)."""

    terms: frozenset[str]
    answer_kind: str | None

    @classmethod
    def of(cls, text: str) -> Part:
        return cls(frozenset(terms(text)), expected_answer(text))


def asks_why(question: str) -> bool:
    """Whether the question asks for a reason ("Why …", 为什么, 點解): its answer is the sentence that gives one."""
    return _ASKS_WHY.search(question) is not None


def asks_for(question: str) -> str | None:
    """What kind of figure the question wants as its answer: "date", "figure" (a number or an amount) or None."""
    question = _WHEN_CLAUSE.sub("", question)
    found = [(m.start(), order, kind) for order, (kind, pattern) in enumerate(_KINDS) if (m := pattern.search(question))]
    return min(found)[2] if found else None


def expected_answer(question: str) -> str | None:
    """What an answer to the question must state: "date", "amount" (of money), "figure", or None (anything)."""
    wants = asks_for(question)
    money = wants == "figure" and _ASKS_FOR_AMOUNT.search(question) and not _ASKS_FOR_SHARE.search(question)
    return "amount" if money else wants


def counted(question: str) -> str | None:
    """What a "how many" question counts: the search term of the word after it ("How many hours a year …": hour;
    "How many local staff …": local, as "one local staff" says it), or the measure word after 多少 / 几 (多少家: 家, in
    Simplified script); None when it names none ("How many of …", 多少钱)."""
    measure = _MEASURE.search(question)
    if measure:
        return simplified(measure.group(1))
    found = _HOW_MANY.search(question)
    word = terms(found.group(1)) if found else []
    return word[0] if word else None


def named_years(question: str) -> frozenset[str]:
    """The years a question names ("in 2015", "2020年末"): an answer about another year does not answer it."""
    return frozenset(_YEAR.findall(question))


def question_parts(question: str) -> list[str]:
    """The questions ``question`` asks, each as the text of its clauses; one (the question) when it asks one."""
    parts: list[str] = []
    pending = ""
    for clause in (c.strip() for c in _CLAUSE_BREAK.split(question)):
        if not clause:
            continue
        pending = f"{pending} {clause}" if pending else clause
        if _QUESTION_WORD.search(clause):
            parts.append(pending)
            pending = ""
    if pending:
        if parts:
            parts[-1] = f"{parts[-1]} {pending}"
        else:
            parts.append(pending)
    return parts if len(parts) > 1 else [question]
