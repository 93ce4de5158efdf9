"""Loading the shipped weights and classifying batches of digit crops.

The model is loaded once per process (:func:`load_classifier`) and passed to whoever
reads; it is traced and frozen for CPU inference, in eval mode, under
``torch.inference_mode()``. Tests build a :class:`Classifier` around a small network.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeGuard

import numpy as np
from numpy.typing import NDArray

from recognition.calibration import fit_temperature, softmax
from recognition.mnist import sha256_of
from recognition.model import REJECT, DigitNet, batched_logits, inference_module, load_network_file, save_network
from recognition.normalise import normalise_digit
from recognition.pairs import (
    DEFAULT_COMB_PAIR_WEIGHTS,
    DEFAULT_PAIR_WEIGHTS,
    DEFAULT_TRIPLE_WEIGHTS,
    PairClassifier,
    load_pair_classifier,
)
from recognition.printed import DEFAULT_PRINTED_WEIGHTS, PrintedClassifier, load_printed_classifier
from recognition.results import DigitPrediction
from recognition.sequence import DEFAULT_LINE_MODE_WEIGHTS, DEFAULT_LINE_WEIGHTS, LineReader, load_line_reader
from segmentation.errors import InvalidInput, ModelError

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "digitnet.pt"
# The ensemble file beside the first weights file: its other networks, gate and temperature
# (written by ``formdigits calibrate-ensemble``).
ENSEMBLE_FILE = "ensemble.json"
# The other networks are asked about an image only when the first network's top probability is below this.
ENSEMBLE_GATE = 0.9
BATCH = 256
TOP_K = 3


class Classifier:
    """A digit network with its calibration temperature, ready for batched CPU inference.

    ``members`` are further (network, temperature) pairs, asked only about the images the
    first network is unsure of (top probability below ``gate``): there the probabilities are
    the normalised geometric mean of all the networks' calibrated ones, sharpened or softened
    by ``combined_temperature`` (fitted on held-out digits the gate passes, as the
    combination is not calibrated by its members' temperatures), elsewhere the first
    network's alone. ``pairs`` is the pair network (:mod:`recognition.pairs`) the reader
    offers runs of touching digits in free strings to, ``comb_pairs`` the one it offers comb
    cells joined across their wall to, ``triples`` the triple network it offers runs of three
    touching digits in free strings to, ``lines`` the line network (:mod:`recognition.sequence`)
    that judges the readings of free strings whole, ``line_mode_lines`` the one that does so in
    ``line`` mode instead of ``lines`` (an image that is one string), ``printed`` the printed-letter
    network (:mod:`recognition.printed`) that finds a currency printed at a line's ends; any may be None.
    """

    def __init__(
        self,
        network: DigitNet,
        temperature: float = 1.0,
        *,
        freeze: bool = True,
        members: Sequence[tuple[DigitNet, float]] = (),
        gate: float = ENSEMBLE_GATE,
        combined_temperature: float = 1.0,
        pairs: PairClassifier | None = None,
        comb_pairs: PairClassifier | None = None,
        triples: PairClassifier | None = None,
        lines: LineReader | None = None,
        line_mode_lines: LineReader | None = None,
        printed: PrintedClassifier | None = None,
    ) -> None:
        self.pairs = pairs
        self.printed = printed
        self.lines = lines
        self.line_mode_lines = line_mode_lines
        self.comb_pairs = comb_pairs
        self.triples = triples
        self.temperature = float(temperature)
        self.network = network.eval()
        self._module = inference_module(network, fuse=freeze)
        self._members = [(inference_module(n.eval(), fuse=freeze), float(t)) for n, t in members]
        self.gate = float(gate)
        self.combined_temperature = float(combined_temperature)

    @property
    def size(self) -> int:
        """Networks in the ensemble (1: a single network)."""
        return 1 + len(self._members)

    def logits(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        """Raw logits (N, 11) of the first network for normalised images (N, 28, 28), ink = 1.0."""
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise InvalidInput(f"expected normalised images of shape (N, 28, 28), got {images.shape}")
        return batched_logits(self._module, images, 11, BATCH)

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        """Calibrated class probabilities (N, 11); column 10 is not-a-digit."""
        p, unsure, combined = self._gated(images)
        if unsure.size:
            p[unsure] = softmax(combined, self.combined_temperature)
        return p

    def gated_logits(self, images: NDArray[np.float32]) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
        """The rows the gate passes to the other networks, and their combined logits before
        ``combined_temperature`` (what :func:`fit_ensemble_temperature` fits it on)."""
        _, unsure, combined = self._gated(images)
        return unsure, combined

    def _gated(self, images: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.intp], NDArray[np.float32]]:
        """The first network's probabilities, the rows it is unsure of, the mean of all
        networks' log-probabilities for those rows (up to a constant per row)."""
        if images.shape[0] == 0:
            return np.zeros((0, 11), dtype=np.float32), np.zeros(0, np.intp), np.zeros((0, 11), np.float32)
        first = self.logits(images)
        p = softmax(first, self.temperature)
        unsure = np.flatnonzero(p.max(axis=1) < self.gate) if self._members else np.zeros(0, np.intp)
        # The mean of log-probabilities: their logsumexp terms cancel in a softmax.
        total = first[unsure].astype(np.float64) / self.temperature
        if unsure.size:
            for module, temperature in self._members:
                total += batched_logits(module, images[unsure], 11, BATCH).astype(np.float64) / temperature
        return p, unsure, (total / self.size).astype(np.float32)

    def predict(self, images: NDArray[np.float32]) -> list[DigitPrediction]:
        """One :class:`DigitPrediction` per normalised image (N, 28, 28)."""
        return [prediction_from_probabilities(p) for p in self.probabilities(images)]

    def predict_crops(
        self, crops: Sequence[NDArray[np.generic]], *, ink_is_bright: bool | None = None
    ) -> list[DigitPrediction]:
        """Normalise raw crops (any size, either polarity) and classify them in one batch."""
        if not crops:
            return []
        images = np.stack([normalise_digit(c, ink_is_bright=ink_is_bright) for c in crops])
        return self.predict(images)


def prediction_from_probabilities(p: NDArray[np.float32]) -> DigitPrediction:
    """The verdict for one row of 11 calibrated probabilities."""
    best = int(np.argmax(p))
    order = np.argsort(-p[:REJECT], kind="stable")[:TOP_K]
    alternatives = tuple((int(d), float(p[d])) for d in order)
    digit = None if best == REJECT else best
    return DigitPrediction(
        digit=digit,
        confidence=float(p[best]),
        alternatives=alternatives,
        reject_p=float(p[REJECT]),
        probabilities=tuple(float(v) for v in p[:REJECT]),
    )


def save_weights(path: Path, network: DigitNet, temperature: float) -> None:
    """Write the shipped weights file: state_dict plus what inference needs to rebuild it."""
    save_network(path, network, temperature)


def load_network(path: Path) -> tuple[DigitNet, float]:
    """The network and temperature in a weights file written by :func:`save_weights`.

    Strict keys, CPU, weights only; ``ModelError`` for a missing, corrupt or mismatched file.
    """
    network, payload = load_network_file(path, lambda p: DigitNet(widths=tuple(p["widths"])))
    return network, float(payload["temperature"])  # type: ignore[return-value]


def fit_ensemble_temperature(combined: NDArray[np.float32], labels: NDArray[np.int64]) -> float:
    """The ``combined_temperature`` minimising NLL of the combined logits of the images the gate
    passed (:meth:`Classifier.gated_logits`) against their labels.

    Fit it on held-out images (the networks' validation split, never the test set), with
    enough doubtful ones among them: clean MNIST digits alone pass the gate about 1% of the time.
    """
    if len(combined) < 10:
        raise InvalidInput(f"only {len(combined)} images pass the gate: too few to fit a temperature")
    return fit_temperature(combined, labels)


def write_ensemble(
    path: Path, first: Path, members: Sequence[Path], gate: float, temperature: float, fitted: dict[str, object]
) -> None:
    """Write the ensemble file ``path`` for the weights file ``first`` and its ``members``.

    Members are named relative to the file's directory; every weights file's sha256 is
    recorded, so that a retrained network is not combined with a temperature fitted for
    another (:func:`load_classifier` then reads with the first network alone).
    """
    spec = {
        "first": first.name,
        "members": [m.name for m in members],
        "gate": gate,
        "temperature": temperature,
        "sha256": {p.name: sha256_of(p) for p in (first, *members)},
        "fitted": fitted,
    }
    path.write_text(json.dumps(spec, indent=2) + "\n")


def _ensemble(first: Path, spec_path: Path | None) -> tuple[list[tuple[DigitNet, float]], float, float]:
    """The members, gate and combined temperature the ensemble file ``spec_path`` gives
    ``first``; none (with a warning saying why) when the file or a member is missing or
    the file was fitted for other weights."""
    alone: tuple[list[tuple[DigitNet, float]], float, float] = ([], ENSEMBLE_GATE, 1.0)
    if spec_path is None:
        return alone
    if not spec_path.exists():
        log.warning("no ensemble file at %s: digits are read by %s alone", spec_path, first.name)
        return alone
    try:
        spec = json.loads(spec_path.read_text())
        names = [str(m) for m in spec["members"]]
        gate, temperature = float(spec["gate"]), float(spec["temperature"])
        digests = {str(k): str(v) for k, v in spec["sha256"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"the ensemble file {spec_path} is corrupt: {exc}") from exc
    if not (temperature > 0 and 0 < gate <= 1):
        raise ModelError(f"the ensemble file {spec_path} has gate {gate} and temperature {temperature}")
    paths = [spec_path.parent / name for name in names]
    for missing in [m for m in paths if not m.exists()]:
        log.warning("no ensemble member at %s: digits are read by %s alone", missing, first.name)
        return alone
    loaded = [load_network(m) for m in paths]
    for p in (first, *paths):
        if digests.get(p.name) != sha256_of(p):
            log.warning(
                "%s was fitted for another %s: digits are read by %s alone (refit it with formdigits calibrate-ensemble)",
                spec_path,
                p.name,
                first.name,
            )
            return alone
    return loaded, gate, temperature


def _present(path: Path | None, model: str, what: str) -> TypeGuard[Path]:
    """Whether an optional model file is there to load: False for no path, and with a warning for a missing file."""
    if path is not None and not path.exists():
        log.warning("no %s model at %s: %s are read without it", model, path, what)
    return path is not None and path.exists()


def _load_pairs(path: Path | None, what: str, count: int = 2) -> PairClassifier | None:
    """A pair (or triple) network from ``path``; None (with a warning) when the file is missing, None for no path."""
    if not _present(path, "triple" if count == 3 else "pair", what):
        return None
    network = load_pair_classifier(path)
    if network.count != count:
        raise ModelError(f"{path} reads {network.count} digits whole, not {count}")
    return network


def load_classifier(
    path: Path = DEFAULT_WEIGHTS,
    *,
    freeze: bool = True,
    ensemble: Path | Literal["beside"] | None = "beside",
    pair_weights: Path | Literal["beside"] | None = "beside",
    comb_pair_weights: Path | Literal["beside"] | None = "beside",
    triple_weights: Path | Literal["beside"] | None = "beside",
    line_weights: Path | Literal["beside"] | None = "beside",
    line_mode_weights: Path | Literal["beside"] | None = "beside",
    printed_weights: Path | Literal["beside"] | None = "beside",
) -> Classifier:
    """Load weights written by :func:`save_weights` as a ready :class:`Classifier`.

    ``ensemble``: the ensemble file (:func:`write_ensemble`) naming the other networks, the
    gate and the combined temperature; by default ``ensemble.json`` beside ``path``; None
    loads ``path`` alone. A missing file or member, or a file fitted for other weights, leaves
    the ensemble out with a warning; a corrupt one raises ``ModelError``.
    The pair networks are loaded too, from ``pair_weights`` (free strings) and
    ``comb_pair_weights`` (comb fields), by default from the files named like the shipped
    ones (``pairnet.pt``, ``combpairnet.pt``) beside ``path``; None leaves one out. So is the
    triple network, from ``triple_weights`` (``triplenet.pt``). A missing file leaves it out
    with a warning, a corrupt one (or one reading another number of digits) raises ``ModelError``.
    So does the line network, from ``line_weights`` (``linenet.pt``).
    The line network of ``line`` mode comes from ``line_mode_weights`` (``linenet-line.pt``);
    with None, or by default without that file, ``line`` mode reads with the other line network
    (quietly: it is a refinement, not a part; a named file that is missing is warned of).
    The printed-letter network comes from ``printed_weights`` (``printednet.pt``); a missing file
    leaves it out with a warning (a currency printed before an amount is then read as digits).
    """
    network, temperature = load_network(path)
    log.info("loaded digit model from %s (T=%.3f)", path, temperature)
    members, gate, combined_temperature = _ensemble(
        path, path.with_name(ENSEMBLE_FILE) if ensemble == "beside" else ensemble
    )
    if pair_weights == "beside":
        pair_weights = path.with_name(DEFAULT_PAIR_WEIGHTS.name)
    if comb_pair_weights == "beside":
        comb_pair_weights = path.with_name(DEFAULT_COMB_PAIR_WEIGHTS.name)
    pairs = _load_pairs(pair_weights, "touching digits in free strings")
    comb_pairs = _load_pairs(comb_pair_weights, "comb cells joined across a wall")
    if triple_weights == "beside":
        triple_weights = path.with_name(DEFAULT_TRIPLE_WEIGHTS.name)
    triples = _load_pairs(triple_weights, "three digits written into each other", count=3)
    if line_weights == "beside":
        line_weights = path.with_name(DEFAULT_LINE_WEIGHTS.name)
    lines = load_line_reader(line_weights) if _present(line_weights, "line", "free strings") else None
    beside = path.with_name(DEFAULT_LINE_MODE_WEIGHTS.name)
    if line_mode_weights == "beside":
        line_mode_weights = beside if beside.exists() else None
    line_mode_lines = None
    if line_mode_weights is not None and not line_mode_weights.exists():
        log.warning(
            "no line model of line mode at %s: line images are judged by the other line model", line_mode_weights
        )
    elif line_mode_weights is not None:
        line_mode_lines = load_line_reader(line_mode_weights)
        log.info("loaded the line network of line mode from %s", line_mode_weights)
    return Classifier(
        network,
        temperature,
        freeze=freeze,
        members=members,
        gate=gate,
        combined_temperature=combined_temperature,
        pairs=pairs,
        comb_pairs=comb_pairs,
        triples=triples,
        lines=lines,
        line_mode_lines=line_mode_lines,
        printed=_load_printed(
            path.with_name(DEFAULT_PRINTED_WEIGHTS.name) if printed_weights == "beside" else printed_weights
        ),
    )


def _load_printed(path: Path | None) -> PrintedClassifier | None:
    """The printed-letter network from ``path``; None (with a warning) when the file is missing, None for no path."""
    if not _present(path, "printed-letter", "currencies printed at a line's ends"):
        return None
    return load_printed_classifier(path)
