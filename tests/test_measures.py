"""The measure a question asks a figure in (bayqa.measures), and the sentence it chooses."""

import pytest

from bayqa.measures import asked_measure, states_measure
from bayqa.query import Query
from tests.test_retrieval import _answer


@pytest.mark.parametrize(
    ("question", "measure"),
    [
        ("How long do the authorities take to handle a request?", "span"),
        ("How far is the port from the airport?", "span"),
        ("等候时间要多久？", "span"),
        ("How big is the Hong Kong Park?", "area"),
        ("What is the total area of the Greater Bay Area?", "area"),
        ("香港园区第一期规划可提供多大面积？", "area"),
        ("How large is the population of the Northern Metropolis?", None),  # a count of people, not an area
        ("How much rent does Macao pay for the area it administers?", None),  # "the area" is no size asked
        ("What share of employment did manufacturing hold?", "share"),
        ("What was the response rate of the survey?", "share"),
        ("What hourly rate does the scheme pay?", None),  # money, which the answer kind already asks
        ("來自私營部門的大約佔多少？", "share"),
        ("How old must applicants be?", "age"),
        ("申請人要幾多歲以下先合資格？", "age"),  # Cantonese, read in written Chinese by Query
        ("Who chairs the committee?", None),
        # a count of units of a measure
        ("深中通道全长多少公里？", "span"),
        ("需要几个月才能完成？", "span"),
        ("How many kilometres long is the bridge?", "span"),
        ("疫苗最早在懷孕第幾週可以檢測？", None),  # 第几周 is an ordinal: which week
        ("近几年香港经济增长了多少？", None),  # 近几年: the last few years
        ("几月几日开通？", None),  # a date
        ("园区可提供多少平方尺？", "area"),
        ("贸易总值相当于本地生产总值的多少倍？", "multiple"),
        ("How many times larger is Qianhai now?", "multiple"),
    ],
)
def test_the_measure_a_question_asks(question: str, measure: str | None) -> None:
    assert Query.of(question).measure == measure


@pytest.mark.parametrize(
    ("measure", "sentence", "stated"),
    [
        ("span", "Applications are handled within 20 working days.", True),
        ("span", "Before 2018, residents relied on travel permits.", False),  # a year is a date, not a span
        ("span", "工程需时3年。", True),
        ("span", "河道长37公里。", True),
        ("span", "2025年完成。", False),
        ("span", "12月22日开园。", False),
        ("area", "The 87-hectare site lies at the border.", True),
        ("area", "可提供约1000万平方尺的面积。", True),
        ("area", "The site opened in 2025.", False),
        ("share", "Of the firms, 213 replied (a 54% response rate).", True),
        ("share", "One-third of the newly added land is kept for them.", True),
        ("share", "More than three quarters came from the private sector.", True),
        ("share", "公司成立于2020年。", False),
        ("age", "Applicants must be below 37 years of age.", True),
        ("multiple", "The value of trade was 3.6 times the GDP.", True),
        ("multiple", "贸易总值相当于本地生产总值的三倍。", True),
        ("multiple", "Trade grew by 3.6% last year.", False),
        ("age", "The scheme began 37 years ago.", False),
    ],
)
def test_a_sentence_states_a_figure_in_the_measure(measure: str, sentence: str, stated: bool) -> None:
    assert states_measure(measure, sentence) is stated


def test_a_figure_in_the_measure_asked_chooses_the_sentence() -> None:
    dated = "Before 2018, residents on the mainland relied on their travel permits."
    timed = "Local bureaus handle applications within 20 working days."
    passage = f"{dated} {timed}"
    question = "How long did residents on the mainland wait for local bureaus to handle applications?"
    assert asked_measure(question) == "span"
    assert _answer(passage, question, [0.7, 0.5]) == timed  # the year does not answer "how long"
