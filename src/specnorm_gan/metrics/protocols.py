"""What is measured and how: the metric names and the named evaluation protocols (sample counts, reference subset).

A result is comparable only with results of the same :class:`Protocol`; every result names its protocol.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

__all__ = ["Protocol", "PROTOCOLS", "PAPER", "FIFTY_K", "get_protocol", "METRIC_NAMES"]

METRIC_NAMES = ("is", "fid", "kid", "intra_fid")
"""Metric names accepted by :class:`Evaluator` (aliases: ``isc``, ``intra-fid``, ``intrafid``)."""


_METRIC_ALIASES = {
    "is": "is",
    "isc": "is",
    "inception_score": "is",
    "fid": "fid",
    "kid": "kid",
    "intra_fid": "intra_fid",
    "intra-fid": "intra_fid",
    "intrafid": "intra_fid",
}


def _check_count(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 2:
        raise ValueError(f"{name} must be an int >= 2, got {value!r}")


@dataclass(frozen=True)
class Protocol:
    """How many samples each metric uses and against which reference subset.

    A result is only comparable with results of the same protocol (and the same feature extractor and
    reference set); every result dict carries its protocol's ``name`` and all these fields.

    Args:
        name: Name reported with every number (``"paper"``, ``"50k"``, or your own).
        is_samples: Generated samples for the Inception Score.
        is_splits: IS is computed on ``is_splits`` contiguous chunks of the samples; mean ± std over the chunks
            is reported (the OpenAI reference code does not shuffle; neither does this module, so with
            class-balanced labels every chunk of a conditional model holds every class equally often).
        fid_samples: Generated samples for FID and KID.
        fid_reference_samples: Reference images for FID and KID: a random subset of this size (drawn with
            ``reference_seed``), or ``None`` for the whole reference set.
        intra_fid_samples_per_class: Generated samples of each class for intra-FID; the reference of class ``c``
            is always every reference image labelled ``c``.
        kid_subsets: Number of random subsets KID averages over (torch-fidelity's default 100).
        kid_subset_size: Size of each KID subset (torch-fidelity's default 1000; reduced to the number of available
            samples when fewer, and the value used is reported).
        reference_seed: Seed of the reference subset selection (fixed so the cached statistics are reused).
        description: One line describing the protocol and where it comes from.

    Example:
        >>> from specnorm_gan.metrics import PAPER
        >>> PAPER.is_samples, PAPER.is_splits, PAPER.fid_samples, PAPER.fid_reference_samples
        (50000, 10, 5000, 10000)
        >>> small = dataclasses.replace(PAPER, name="paper-small", is_samples=5000, is_splits=1)
    """

    name: str
    is_samples: int = 50_000
    is_splits: int = 10
    fid_samples: int = 50_000
    fid_reference_samples: Optional[int] = None
    intra_fid_samples_per_class: int = 5_000
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    reference_seed: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Protocol.name must be a non-empty string, got {self.name!r}")
        for field in ("is_samples", "is_splits", "fid_samples", "intra_fid_samples_per_class", "kid_subsets",
                      "kid_subset_size"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Protocol.{field} must be a positive int, got {value!r}")
        if self.is_splits > self.is_samples:
            raise ValueError(
                f"Protocol.is_splits ({self.is_splits}) must not exceed is_samples ({self.is_samples})"
            )
        if self.fid_reference_samples is not None and (
            not isinstance(self.fid_reference_samples, int) or self.fid_reference_samples < 2
        ):
            raise ValueError(
                f"Protocol.fid_reference_samples must be None (whole reference set) or an int >= 2, "
                f"got {self.fid_reference_samples!r}"
            )

    def with_num_samples(self, num_samples: Optional[int] = None, *, per_class: Optional[int] = None) -> "Protocol":
        """The same protocol with other generated sample counts, renamed so the numbers stay apart.

        Use it for cheap periodic evaluation during training. ``num_samples`` replaces the IS and FID/KID counts
        (name suffix ``-n<N>``), ``per_class`` the intra-FID count per class (suffix ``-c<N>``); the reference
        side is unchanged.

        Args:
            num_samples: Generated images for IS and for FID/KID.
            per_class: Generated images per class for intra-FID.

        Returns:
            A new :class:`Protocol` (``self`` if both are ``None``).

        Example:
            >>> PAPER.with_num_samples(5000).name
            'paper-n5000'
            >>> PAPER.with_num_samples(per_class=500).name
            'paper-c500'
        """
        p = self
        if num_samples is not None:
            _check_count("num_samples", num_samples)
            p = dataclasses.replace(
                p,
                name=f"{p.name}-n{num_samples}",
                is_samples=num_samples,
                is_splits=min(p.is_splits, num_samples),
                fid_samples=num_samples,
                description=f"{p.description} [IS and FID on {num_samples} generated samples]".strip(),
            )
        if per_class is not None:
            _check_count("per_class", per_class)
            p = dataclasses.replace(
                p,
                name=f"{p.name}-c{per_class}",
                intra_fid_samples_per_class=per_class,
                description=f"{p.description} [intra-FID on {per_class} generated samples per class]".strip(),
            )
        return p

    def to_dict(self) -> Dict[str, Any]:
        """The protocol as a JSON-serialisable dict.

        Returns:
            ``dataclasses.asdict(self)``.

        Example:
            >>> PAPER.to_dict()["name"]
            'paper'
        """
        return dataclasses.asdict(self)


PAPER = Protocol(
    name="paper",
    is_samples=50_000,
    is_splits=10,
    fid_samples=5_000,
    fid_reference_samples=10_000,
    intra_fid_samples_per_class=5_000,
    description=(
        "SNGAN / projection-discriminator papers (Miyato et al. 2018; Miyato & Koyama 2018): IS = mean ± std over "
        "10 splits x 5K generated; FID = 5K generated vs 10K reference images; intra-FID = 5K generated per class "
        "vs all reference images of the class"
    ),
)
"""The papers' protocol (IS 10 x 5K; FID 10K real vs 5K generated; intra-FID 5K per class)."""

FIFTY_K = Protocol(
    name="50k",
    is_samples=50_000,
    is_splits=10,
    fid_samples=50_000,
    fid_reference_samples=None,
    intra_fid_samples_per_class=5_000,
    description=(
        "now-common protocol (torch-mimicry, StudioGAN, MMGeneration): IS = mean ± std over 10 splits x 5K of "
        "50K generated; FID and KID = 50K generated vs the full reference (training) set; intra-FID = 5K "
        "generated per class vs all reference images of the class"
    ),
)
"""The now-common protocol (50K generated vs the full training set)."""

PROTOCOLS: Dict[str, Protocol] = {"paper": PAPER, "50k": FIFTY_K}
"""The named protocols: ``"paper"`` and ``"50k"``."""


def get_protocol(protocol: Union[str, Protocol]) -> Protocol:
    """Look up a protocol by name (``"paper"``, ``"50k"``) or pass a :class:`Protocol` through.

    Args:
        protocol: A name from :data:`PROTOCOLS` or a :class:`Protocol`.

    Returns:
        The :class:`Protocol`.

    Example:
        >>> get_protocol("50k").fid_reference_samples is None
        True
    """
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, str):
        key = protocol.lower()
        if key in ("50000", "50K".lower()):
            key = "50k"
        if key in PROTOCOLS:
            return PROTOCOLS[key]
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {sorted(PROTOCOLS)} or a Protocol")
    raise TypeError(f"protocol must be a str or a Protocol, got {type(protocol).__name__}")


def _normalize_metrics(metrics: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    out: List[str] = []
    for m in metrics:
        if not isinstance(m, str):
            raise TypeError(f"metric names must be strings, got {m!r}")
        key = _METRIC_ALIASES.get(m.lower())
        if key is None:
            raise ValueError(f"unknown metric {m!r}; expected some of {list(METRIC_NAMES)}")
        if key not in out:
            out.append(key)
    if not out:
        raise ValueError(f"no metric requested; expected some of {list(METRIC_NAMES)}")
    return tuple(out)
