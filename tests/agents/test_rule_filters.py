import pytest

from concept_distill.agents.rule_filters import check_rule, similarity

PROBLEMS = "Debby had 32 pieces of candy and her sister Mia had 42. They ate 35. How many are left?"
ANSWERS = "39\nThe answer is 74."


@pytest.mark.parametrize(
    ("rule", "status"),
    [
        ("When a problem says some items were eaten, subtract them from the total.", "proposed"),
        ("When Debby shares candy, add both amounts first.", "leak"),
        ("When there are 32 pieces, subtract 35.", "leak"),
        ("When you finish, write 'The answer is 74.'", "leak"),
        ("Always double-check your calculations carefully.", "generic"),
        ("When a problem mentions eating, double-check the subtraction step.", "proposed"),
        ("When " + "very " * 40 + "long.", "too_long"),
        ("", "malformed"),
        ("When a problem says items were eaten, subtract them from the total amount.", "duplicate"),
    ],
)
def test_rule_checks(rule: str, status: str) -> None:
    existing = ["When a problem says some items were eaten, subtract them from the total."]
    if status == "proposed":
        existing = []
    assert check_rule(rule, PROBLEMS, ANSWERS, existing)[0] == status


def test_a_format_keyword_from_the_reference_is_not_a_name() -> None:
    rule = "When you reply, start your reply with the word ANSWER: followed by your answer."
    assert check_rule(rule, "Name one fruit.", r"(?m)^\W*ANSWER\s*:", [])[0] == "proposed"


def test_similarity_is_symmetric_and_bounded() -> None:
    a, b = "When adding money, align the decimals.", "Align the decimals when adding money."
    assert similarity(a, b) == similarity(b, a) == 1.0
    assert similarity(a, "When dividing, check the remainder.") < 0.3
