"""specnorm_gan.toy: mixture geometry, sampling and the mode-coverage metric against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from specnorm_gan.toy import GaussianMixture, ModeCoverage, grid_of_gaussians, mode_coverage, ring_of_gaussians


# ----------------------------------------------------------------------------- geometry
def test_ring_centers_closed_form() -> None:
    ring = ring_of_gaussians(8, radius=2.0, std=0.02, dtype=torch.float64)
    k = torch.arange(8, dtype=torch.float64)
    expected = 2.0 * torch.stack([torch.cos(2 * math.pi * k / 8), torch.sin(2 * math.pi * k / 8)], dim=1)
    torch.testing.assert_close(ring.centers, expected, rtol=0, atol=1e-15)
    # Neighbouring means are a chord 2 r sin(pi / n) apart.
    gaps = (ring.centers - ring.centers.roll(1, 0)).norm(dim=1)
    torch.testing.assert_close(gaps, torch.full((8,), 4 * math.sin(math.pi / 8), dtype=torch.float64))
    assert ring.std == 0.02 and ring.n_modes == 8


def test_grid_centers_closed_form() -> None:
    grid = grid_of_gaussians(5, spacing=2.0, std=0.05)
    expected = {(float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(c) for c in grid.centers.tolist()} == expected
    assert grid.centers.shape == (25, 2) and grid.std == 0.05
    # Centred at the origin for even sizes too (means at +-0.5 spacing).
    torch.testing.assert_close(grid_of_gaussians(4, spacing=1.0).centers.mean(0), torch.zeros(2))
    assert grid_of_gaussians(4, spacing=1.0).centers.abs().max().item() == 1.5


def test_dtype_and_device_arguments() -> None:
    ring = ring_of_gaussians(3, dtype=torch.float64, device="cpu")
    assert ring.centers.dtype == torch.float64 and ring.sample(4).dtype == torch.float64


# ----------------------------------------------------------------------------- sampling
def test_sample_is_seeded_and_shaped() -> None:
    grid = grid_of_gaussians()
    a = grid.sample(100, generator=torch.Generator().manual_seed(3))
    b = grid.sample(100, generator=torch.Generator().manual_seed(3))
    c = grid.sample(100, generator=torch.Generator().manual_seed(4))
    assert a.shape == (100, 2)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_sample_moments_match_mixture() -> None:
    # Equal weights: mean of the samples = mean of the centres; per-mode spread = std; every mode
    # gets about n / K samples (binomial, checked at 6 standard deviations).
    mix = GaussianMixture(torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]], dtype=torch.float64), 0.5)
    n = 40_000
    x = mix.sample(n, generator=torch.Generator().manual_seed(0))
    nearest = torch.cdist(x, mix.centers).argmin(1)
    counts = torch.bincount(nearest, minlength=4).double()
    p = 0.25
    assert ((counts - n * p).abs() < 6 * math.sqrt(n * p * (1 - p))).all(), counts
    resid = x - mix.centers[nearest]
    assert resid.mean(0).abs().max() < 6 * 0.5 / math.sqrt(n)
    torch.testing.assert_close(resid.std(0), torch.full((2,), 0.5, dtype=torch.float64), rtol=0.02, atol=0)


# ----------------------------------------------------------------------------- metric
def test_high_quality_share_of_true_samples_is_chi2_probability() -> None:
    # For well-separated isotropic 2-D modes, P(|x - mu| <= k sigma) = 1 - exp(-k^2 / 2).
    grid = grid_of_gaussians(5, spacing=2.0, std=0.05)
    n = 200_000
    x = grid.sample(n, generator=torch.Generator().manual_seed(1))
    for k in (1.0, 2.0, 3.0):
        p = 1 - math.exp(-k * k / 2)
        cov = grid.mode_coverage(x, threshold=k)
        assert abs(cov.high_quality - p) < 5 * math.sqrt(p * (1 - p) / n), (k, cov.high_quality, p)
        assert cov.modes_covered == 25
    cov = grid.mode_coverage(x)
    assert int(cov.counts.sum()) == round(cov.high_quality * n)


def test_threshold_boundary_is_inclusive_and_exact() -> None:
    centers = torch.tensor([[0.0, 0.0], [100.0, 0.0]], dtype=torch.float64)
    std = 0.1
    r = 3 * std
    inside = torch.tensor([[r * (1 - 1e-9), 0.0], [0.0, -r * (1 - 1e-9)], [100.0 + r * (1 - 1e-9), 0.0]], dtype=torch.float64)
    outside = torch.tensor([[r * (1 + 1e-9), 0.0], [0.0, r * (1 + 1e-9)]], dtype=torch.float64)
    cov = mode_coverage(inside, centers, std)
    assert (cov.modes_covered, cov.high_quality, cov.counts.tolist()) == (2, 1.0, [2, 1])
    cov = mode_coverage(outside, centers, std)
    assert (cov.modes_covered, cov.high_quality, cov.counts.tolist()) == (0, 0.0, [0, 0])
    # Exactly on the boundary (a 3-4-5 triangle, exact in floating point) counts as inside.
    edge = torch.tensor([[3.0, 4.0], [100.0, -5.0]])
    assert mode_coverage(edge, centers, 1.0, threshold=5.0).high_quality == 1.0
    assert mode_coverage(edge, centers, 1.0, threshold=4.999).high_quality == 0.0


def test_collapse_and_partial_coverage_counts() -> None:
    ring = ring_of_gaussians(8, radius=2.0, std=0.02)
    c = ring.centers
    # All samples on one mode: 1 mode covered, every sample high quality.
    collapsed = c[3].expand(50, 2).clone()
    cov = ring.mode_coverage(collapsed)
    assert isinstance(cov, ModeCoverage)
    assert (cov.modes_covered, cov.high_quality) == (1, 1.0)
    assert cov.counts.tolist() == [0, 0, 0, 50, 0, 0, 0, 0]
    # 30 samples on mode 0, 10 on mode 5, 60 at the origin (no mode within 3 std).
    x = torch.cat([c[0].expand(30, 2), c[5].expand(10, 2), torch.zeros(60, 2)])
    cov = ring.mode_coverage(x)
    assert (cov.modes_covered, cov.high_quality) == (2, 0.4)
    assert ring.mode_coverage(x, min_count=11).modes_covered == 1
    assert ring.mode_coverage(x, min_count=31).modes_covered == 0
    # A high-quality sample is credited to its nearest mode only.
    assert cov.counts.tolist() == [30, 0, 0, 0, 0, 10, 0, 0]


def test_samples_between_modes_go_to_the_nearest_and_are_low_quality() -> None:
    centers = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    x = torch.tensor([[0.4, 0.0], [0.6, 0.0], [0.05, 0.0]])
    cov = mode_coverage(x, centers, std=0.1)
    assert (cov.modes_covered, cov.counts.tolist()) == (1, [1, 0])
    assert cov.high_quality == pytest.approx(1 / 3)
    # With a looser ball both midpoints count, each for its own nearest mode.
    assert mode_coverage(x, centers, std=0.1, threshold=4.5).counts.tolist() == [2, 1]


def test_chunked_distances_match_unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    import specnorm_gan.toy as toy

    grid = grid_of_gaussians()
    x = grid.sample(1000, generator=torch.Generator().manual_seed(0)) * 1.02
    full = grid.mode_coverage(x)
    monkeypatch.setattr(toy, "_CHUNK", 7)
    chunked = grid.mode_coverage(x)
    assert full.modes_covered == chunked.modes_covered and full.high_quality == chunked.high_quality
    assert torch.equal(full.counts, chunked.counts)


def test_float32_input_is_scored_in_float64() -> None:
    # 2.9999999 std away in float64 terms must stay inside even when samples are float32.
    centers = torch.tensor([[1000.0, 0.0]])
    x = torch.tensor([[1000.0 + 0.29, 0.0]], dtype=torch.float32)
    assert mode_coverage(x, centers, std=0.1).high_quality == 1.0


def test_higher_dimensional_mixture() -> None:
    # Works for any D: in 3-D the high-quality share of true samples is P(chi2_3 <= 9).
    centers = torch.eye(3, dtype=torch.float64) * 10
    mix = GaussianMixture(centers, 0.1)
    n = 100_000
    x = mix.sample(n, generator=torch.Generator().manual_seed(2))
    k = 3.0
    p = math.erf(k / math.sqrt(2)) - math.sqrt(2 / math.pi) * k * math.exp(-k * k / 2)
    assert abs(mix.mode_coverage(x).high_quality - p) < 5 * math.sqrt(p * (1 - p) / n)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(samples=[[0.0, 0.0]]), TypeError, "samples must be a torch.Tensor"),
        (dict(samples=torch.zeros(3, 2, dtype=torch.long)), TypeError, "floating-point"),
        (dict(samples=torch.zeros(3)), ValueError, r"shape \(N, D\)"),
        (dict(samples=torch.zeros(0, 2)), ValueError, r"shape \(N, D\)"),
        (dict(samples=torch.zeros(3, 3)), ValueError, "same number of coordinates"),
        (dict(std=0.0), ValueError, "std must be a positive"),
        (dict(std=float("nan")), ValueError, "std must be a positive"),
        (dict(std="1"), TypeError, "std must be a positive float"),
        (dict(threshold=-1.0), ValueError, "threshold must be a positive"),
        (dict(min_count=0), ValueError, "min_count must be an int >= 1"),
        (dict(min_count=1.5), TypeError, "min_count must be an int"),
    ],
)
def test_mode_coverage_rejects_bad_input(kwargs: dict, err: type, match: str) -> None:
    args = dict(samples=torch.zeros(3, 2), centers=torch.zeros(2, 2), std=0.1)
    args.update(kwargs)
    samples, centers, std = args.pop("samples"), args.pop("centers"), args.pop("std")
    with pytest.raises(err, match=match):
        mode_coverage(samples, centers, std, **args)


def test_constructors_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="n_modes must be an int >= 1"):
        ring_of_gaussians(0)
    with pytest.raises(ValueError, match="radius must be a positive"):
        ring_of_gaussians(8, radius=-2.0)
    with pytest.raises(TypeError, match="size must be an int"):
        grid_of_gaussians(5.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="std must be a positive"):
        grid_of_gaussians(5, std=0.0)
    with pytest.raises(ValueError, match=r"centers must have shape \(N, D\)"):
        GaussianMixture(torch.zeros(4), 0.1)
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        ring_of_gaussians().sample(0)
