"""The committed weights: every network file has its model card, and the card describes that very file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recognition.mnist import sha256_of

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


@pytest.mark.parametrize("path", sorted(WEIGHTS.glob("*.pt")), ids=lambda p: p.name)
def test_each_network_file_has_a_card_naming_its_checksum(path: Path) -> None:
    card = json.loads(path.with_suffix(".card.json").read_text())
    assert card["weights"] == path.name
    digest = card.get("sha256") or card.get("weights_sha256")
    assert digest == sha256_of(path)
    markdown = path.with_suffix(".card.md").read_text()
    assert f"# Model card: `{path.name}`" in markdown and digest in markdown
