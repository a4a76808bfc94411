"""`rdv models inspect`: what a person reads to trust a model."""

from pathlib import Path

from rdv.model import load_artifact
from rdv.model.describe import describe, feature_slots
from rdv_tools.demo.examples import login_bot_logistic, login_bot_tree


def test_linear_coefficients_are_named_by_feature_and_category(tmp_path: Path) -> None:
    artifact = load_artifact(login_bot_logistic(tmp_path / "lr", "2"))
    # The one-hot vector drops its last category (DE), as Spark's dropLast does.
    assert feature_slots(artifact) == [
        "failed_logins",
        "account_age_days",
        "country=US",
        "country=FR",
    ]
    text = describe(artifact).splitlines()
    assert text[0] == "login-bot@2: LogisticRegression (classifier)"
    assert text[1:3] == ["  intercept -1.0000", "  +0.8000  failed_logins"]
    assert "  -0.0100  account_age_days" in text


def test_a_tree_reads_as_if_else_within_a_node_budget(tmp_path: Path) -> None:
    artifact = load_artifact(login_bot_tree(tmp_path / "dt", "1"))
    # With handleInvalid=keep the indexer adds a slot for unseen countries.
    assert feature_slots(artifact)[2:] == ["country=US", "country=FR", "country=DE"]
    assert describe(artifact).splitlines()[1:] == [
        "  tree 0 (weight 1):",
        "  if failed_logins <= 3.5:",
        "    predict class counts 90, 10",
        "  else:",
        "    predict class counts 20, 80",
    ]
    assert describe(artifact, node_budget=1).endswith("(node budget of 1 reached)")
