"""What measure a question asks a figure in, and whether a sentence states a figure in it.

"How long do the authorities take to handle a request …?" wants a span ("within 20 working days"), which
"Before 2018, …" does not give though it holds a figure; "How big is the Park?" wants an area ("87-hectare"),
"What share …?" a share ("54%", "one-third"), "多少倍" a multiple ("3.6 times"), "How old …?" an age. The
highlighter counts such a sentence's figure once more, as it does a figure of what a "how many" question counts
(bayqa.asking.counted). Pure functions.
"""

from __future__ import annotations

import re

_NUMBER = r"(?:\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|a few|several|half an?)\b)"
_CHINESE_NUMBER = r"[\d.,一二两兩三四五六七八九十百千万萬半几幾多余餘]"

_ASKS = {
    # "how long" asks a time or a length: both are spans
    "span": re.compile(
        r"\bhow (?:long|soon|far)\b|\bwhat (?:period|duration|time ?frame|time limit)\b|多久|多[长長]|多[远遠]"
        # a count of time or length units: "多少公里", "几个月", "how many kilometres"
        r"|多少\s*(?:个|個)?\s*(?:公里|千米|米|海里|年|个月|個月|天|周|週|星期|小时|小時|分钟|分鐘)"
        # 几 after 近, 这, 前 … is "the last few" (近几年), after 第 an ordinal (第几周); 几月几日 asks a date
        r"|(?<![第哪的这這那前后後近])[几幾]\s*(?:个|個)?\s*(?:公里|千米|海里|个月|個月|天|周|週|星期|小时|小時|分钟|分鐘)"
        r"|\bhow many (?:years|months|weeks|days|hours|minutes|km|kilomet(?:re|er)s|met(?:re|er)s|miles)\b", re.IGNORECASE),
    "area": re.compile(
        r"\bhow (?:big|large)\b|\bwhat (?:size|area)\b|\b(?:total|land|floor|site|gross) (?:area|size)\b|\bthe (?:area|size) of\b"
        r"|\bhow many (?:hectares|square|acres)\b"
        r"|多大|面积|面積|占地|佔地|(?:多少|[几幾])\s*(?:平方|公[顷頃]|亩|畝)", re.IGNORECASE),
    "share": re.compile(
        r"\bwhat (?:share|percentage|proportion|fraction|per ?cent)\b|\bas a (?:share|percentage|proportion)\b|\bhow much of\b"
        r"|\b(?<!hourly )(?<!daily )(?<!monthly )(?<!wage )(?<!exchange )(?:growth|response|recycling|unemployment|tax|"
        r"vacancy|occupancy|success|participation|utilisation|utilization|poverty|ownership) rates?\b"
        r"|百分之|比例|比率|比重|占多少|佔多少|[几幾]成|份[额額]|增[长長]率", re.IGNORECASE),
    "multiple": re.compile(r"\bhow many times\b|(?:多少|[几幾])\s*倍", re.IGNORECASE),
    "age": re.compile(r"\bhow old\b|\bwhat age\b|\bage (?:limit|of)\b|年[龄齡]|[几幾]岁|[几幾]歲|多少[岁歲]", re.IGNORECASE),
}
# Asked about people, "how large" is a count, not an area
_PEOPLE = re.compile(r"\b(?:population|people|residents|workforce|staff|visitors)\b|人口|人次", re.IGNORECASE)

_STATES = {
    "span": re.compile(
        rf"{_NUMBER}[\s-]*(?:working |calendar |business |clear |more |full )?"
        r"(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|decades?|km|kilomet(?:re|er)s?|met(?:re|er)s?|miles?)\b"
        # Chinese: not "2025年" (a date) nor "12月" (a month): a span has 个月, 年 after a short figure, 天, 小时 …
        rf"|(?<!\d){_CHINESE_NUMBER}{{1,6}}\s*(?:个月|個月|个工作日|個工作日|工作天|天|小时|小時|分钟|分鐘|秒|周|週|星期|公里|千米|海里|(?<!平方)米)"
        r"|(?<![\d])(?:\d{1,2}(?:\.\d+)?|[一二两兩三四五六七八九十半几幾多]{1,3})\s*年(?![\d〇零一二三四五六七八九十]{1,2}月)",
        re.IGNORECASE),
    "area": re.compile(
        rf"{_NUMBER}[\s-]*(?:hectares?|ha\b|km²|km2\b|square (?:kilomet(?:re|er)s?|met(?:re|er)s?|feet|foot|miles?)|sq\.? ?(?:km|m|ft|feet)\b|m²|acres?)"
        rf"|{_CHINESE_NUMBER}\s*(?:平方公里|平方千米|公[顷頃]|平方米|平方尺|平方呎|平方英尺|[万萬]平方)",
        re.IGNORECASE),
    "share": re.compile(
        r"\d\s*(?:%|％|per ?cent\b)|\b(?:half|(?:one|two|three|four|a)[ -](?:third|quarter|fifth|tenth)s?|one in \w+)\b"
        r"|百分之|分之[一二三四五六七八九十]|[一二三四五六七八九十\d]\s*成(?![立为為功果员員本])|一半",
        re.IGNORECASE),
    "multiple": re.compile(r"\d\s*(?:times\b|-?fold\b|倍)|\b(?:twice|double|triple|treble)\b|[两兩二三四五六七八九十]\s*倍", re.IGNORECASE),
    "age": re.compile(
        r"\b(?:aged|age of|under|below|over|above|younger than|older than)\s+\d{2}\b|\b\d{2}\s*(?:years? (?:of age|old)|-year-old)"
        r"|\d{1,3}\s*(?:岁|歲|周岁|周歲)",
        re.IGNORECASE),
}


def asked_measure(question: str) -> str | None:
    """The measure a question asks a figure in: "span" (a time or a length), "area", "share", "multiple", "age", or
    None."""
    for measure, pattern in _ASKS.items():
        if pattern.search(question) and not (measure == "area" and _PEOPLE.search(question)):
            return measure
    return None


def states_measure(measure: str, sentence: str) -> bool:
    """Whether ``sentence`` (either language) states a figure in ``measure`` (``asked_measure``)."""
    return _STATES[measure].search(sentence) is not None
