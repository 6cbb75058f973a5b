"""Tests of specnorm_gan.metrics (IS / FID / KID / intra-FID through torch-fidelity).

The Inception weights cannot be downloaded here, so the glue is tested with small stand-in feature extractors
registered through torch-fidelity's own ``register_feature_extractor``; the real code paths (feature
extraction, statistics, Fréchet distance, IS splits, KID subsets, caching, per-class intra-FID) all run.
Results are compared with closed forms and with independent float64 recomputations (numpy / scipy).
One test runs the real torch-fidelity Inception-v3 code path with a randomly initialised weights file.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import urllib.error
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

torch_fidelity = pytest.importorskip("torch_fidelity", reason="needs the [metrics] extra (torch-fidelity)")
scipy_linalg = pytest.importorskip("scipy.linalg", reason="needs scipy (test extra) for the float64 reference")

from torch_fidelity import FeatureExtractorBase, register_feature_extractor  # noqa: E402
from torch_fidelity.registry import DATASETS_REGISTRY, FEATURE_EXTRACTORS_REGISTRY  # noqa: E402

from specnorm_gan import metrics as M  # noqa: E402

K = 10  # classes decoded by the "confident" stand-in classifier
D = 12  # feature dimension of the pooling stand-in (3 channels x 2 x 2 blocks)
RES = 8  # image resolution of the test generators


# ----------------------------------------------------------------------------------------------------------------
# stand-in feature extractors, registered through torch-fidelity's extension mechanism


class PoolFeatures(FeatureExtractorBase):
    """'pool': 2x2 average pool of each channel of x / 255 (12 dims); 'logits': a confident 10-class classifier
    that reads the class from the mean of channel 0 (class c <-> value (c + 0.5) / 10)."""

    images_seen = 0

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)

    @staticmethod
    def get_provided_features_list():
        return ("pool", "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits", "fid": "pool", "kid": "pool", "prc": "pool"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 3, RES, RES, dtype=torch.uint8)

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.dim() == 4 and x.shape[1] == 3
        type(self).images_seen += x.shape[0]
        pool = F.adaptive_avg_pool2d(x.double() / 255, 2).flatten(1)
        cls = (x[:, 0].double().mean((1, 2)) / 255 * K).floor().clamp(0, K - 1).long()
        logits = 50.0 * F.one_hot(cls, K).float()
        out = {"pool": pool.float(), "logits": logits}
        return tuple(out[k] for k in self.features_list)


class UniformClassifier(PoolFeatures):
    """Same features; the classifier outputs equal logits for every image (p(y|x) uniform)."""

    def forward(self, x):
        feats = dict(zip(self.features_list, super().forward(x)))
        if "logits" in feats:
            feats["logits"] = torch.zeros_like(feats["logits"])
        return tuple(feats[k] for k in self.features_list)


for _name, _cls in (("specnorm-test-pool", PoolFeatures), ("specnorm-test-uniform", UniformClassifier)):
    if _name not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(_name, _cls)
FE = "specnorm-test-pool"


# ----------------------------------------------------------------------------------------------------------------
# tiny generators with the library's interface: G(z, y=None), z_dim, num_classes, resolution, out_channels, sample()


def blocks_to_images(b: torch.Tensor) -> torch.Tensor:
    """(N, 12) block values in [-1, 1] -> (N, 3, 8, 8) images, each 4x4 block constant."""
    return b.clamp(-1, 1).view(-1, 3, 2, 2).repeat_interleave(RES // 2, 2).repeat_interleave(RES // 2, 3)


class BlockGaussianG(nn.Module):
    """Images whose 12 block values are Gaussian: b = mean[y] + z @ L.T (so the 'pool' features are
    N((mean[y] + 1) / 2, L L^T / 4) up to uint8 rounding). With ``class_code`` the channel-0 blocks carry the class
    (value (y + 0.5) / 10 in [0, 1]) for the confident classifier."""

    def __init__(self, mean: torch.Tensor, L: torch.Tensor, conditional: bool = False, class_code: bool = False,
                 z_dist: str = "normal"):
        super().__init__()
        self.z_dist = z_dist
        self.register_buffer("mean", mean.reshape(-1, D).float())
        self.register_buffer("L", L.float())
        self.z_dim = L.shape[1]
        self.num_classes = self.mean.shape[0] if conditional else 0
        self.resolution = RES
        self.out_channels = 3
        self.class_code = class_code
        self.modes_seen: list[bool] = []
        self.grad_seen: list[bool] = []

    def forward(self, z, y=None):
        self.modes_seen.append(self.training)
        self.grad_seen.append(torch.is_grad_enabled())
        m = self.mean[y] if y is not None else self.mean[0].expand(z.shape[0], D)
        b = m + z @ self.L.T
        if self.class_code:
            c = (y.float() if y is not None else torch.zeros(z.shape[0])) + 0.5
            b = b.clone()
            b[:, :4] = (c[:, None] / K) * 2 - 1
        return blocks_to_images(b)

    def sample(self, n, y=None, generator=None):
        z = torch.randn(n, self.z_dim, generator=generator)
        if self.num_classes and y is None:
            y = torch.arange(n) % self.num_classes
        return self(z, y)


def gaussian_reference(mean: torch.Tensor, L: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    z = torch.randn(n, L.shape[1], generator=torch.Generator().manual_seed(seed))
    return M.to_uint8(blocks_to_images(mean.reshape(1, D) + z @ L.T))


def random_cholesky(seed: int, scale: float) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(D, D, generator=g, dtype=torch.float64)
    return (scale * torch.linalg.cholesky(A @ A.T / D + 0.5 * torch.eye(D, dtype=torch.float64))).float()


# ----------------------------------------------------------------------------------------------------------------
# independent float64 references


def ref_uint8(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> uint8 in float64, written independently of metrics.to_uint8."""
    v = np.floor((np.clip(x.double().numpy(), -1, 1) + 1) / 2 * 255 + 0.5)
    return torch.from_numpy(np.clip(v, 0, 255).astype(np.uint8))


def ref_pool(u8: torch.Tensor) -> np.ndarray:
    x = u8.double().numpy() / 255
    n, _, h, w = x.shape
    return x.reshape(n, 3, 2, h // 2, 2, w // 2).mean(axis=(3, 5)).reshape(n, D)


def ref_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy_linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def ref_fid_low_rank(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID for n << D without a matrix square root: with centred A_i (n x D), S_i = A_i^T A_i / (n - 1) and
    tr sqrt(S1 S2) = nuclear norm of A1 A2^T / (n - 1) (the nonzero eigenvalues of S1 S2 are those of
    M M^T / (n - 1)^2 with M = A1 A2^T)."""
    a1, a2 = f1 - f1.mean(0), f2 - f2.mean(0)
    n1, n2 = len(f1) - 1, len(f2) - 1
    tr_sqrt = np.linalg.svd(a1 @ a2.T / math.sqrt(n1 * n2), compute_uv=False).sum()
    diff = f1.mean(0) - f2.mean(0)
    return float(diff @ diff + (a1 ** 2).sum() / n1 + (a2 ** 2).sum() / n2 - 2 * tr_sqrt)


def ref_generated_features(G: BlockGaussianG, n: int, seed: int, labels=None) -> np.ndarray:
    """Recompute the features of the samples the evaluator draws (z ~ N(0, I) from a CPU generator seeded with
    ``seed``, all at once, as documented)."""
    g = torch.Generator().manual_seed(seed)
    if getattr(G, "z_dist", "normal") == "uniform":
        z = torch.rand(n, G.z_dim, generator=g) * 2 - 1
    else:
        z = torch.randn(n, G.z_dim, generator=g)
    was_training = G.training
    with torch.no_grad():
        x = G.eval()(z, labels)
    G.train(was_training)
    return ref_pool(ref_uint8(x))


def small_protocol(**kw) -> M.Protocol:
    base = dict(name="test", is_samples=200, is_splits=2, fid_samples=200, fid_reference_samples=None,
                intra_fid_samples_per_class=50, kid_subsets=10, kid_subset_size=100)
    base.update(kw)
    return M.Protocol(**base)


def make_evaluator(reference=None, tmp_path=None, **kw) -> M.Evaluator:
    kw.setdefault("feature_extractor", FE)
    kw.setdefault("device", "cpu")
    kw.setdefault("protocol", small_protocol())
    if tmp_path is not None:
        kw.setdefault("cache_dir", str(tmp_path / "cache"))
    else:
        kw.setdefault("cache", False)
    return M.Evaluator(reference, **kw)


# ----------------------------------------------------------------------------------------------------------------
# packaging: optional extras


def test_import_does_not_import_optional_dependencies():
    code = (
        "import sys, specnorm_gan, specnorm_gan.metrics\n"
        "bad = [m for m in ('torch_fidelity', 'scipy', 'matplotlib', 'torchvision', 'PIL') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "assert 'metrics' not in dir(specnorm_gan) or specnorm_gan.metrics.__name__ == 'specnorm_gan.metrics'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_missing_extra_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    with pytest.raises(ImportError, match=r"specnorm-gan\[metrics\]"):
        M.Evaluator(None, metrics="is")
    with pytest.raises(ImportError, match=r"specnorm-gan\[metrics\]"):
        M.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2))


def test_missing_matplotlib_gives_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"specnorm-gan\[benchmark\]"):
        M.plot_metric_curves([{"protocol": "paper", "step": 1, "fid": 3.0}], tmp_path / "x.png")


# ----------------------------------------------------------------------------------------------------------------
# image conversion


def test_to_uint8_equals_png_round_trip(tmp_path):
    vutils = pytest.importorskip("torchvision.utils")
    Image = pytest.importorskip("PIL.Image")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 6, 5, generator=g) * 2 - 1
    x[0, 0, 0, :5] = torch.tensor([-1.0, 1.0, 0.0, -1 + 1 / 255, 1 - 1 / 510])  # boundaries and a rounding tie
    ours = M.to_uint8(x)
    for i in range(x.shape[0]):
        p = tmp_path / f"{i}.png"
        vutils.save_image(x[i], p, normalize=True, value_range=(-1, 1))
        png = torch.from_numpy(np.asarray(Image.open(p).convert("RGB")).copy()).permute(2, 0, 1)
        assert torch.equal(ours[i], png)
    # an independent float64 formula agrees except where float32 rounding decides an exact .5 tie
    assert torch.equal(ours[1:], ref_uint8(x[1:]))
    assert (ours.int() - ref_uint8(x).int()).abs().max() <= 1


def test_to_uint8_grayscale_and_uint8_passthrough():
    x = torch.randint(0, 256, (2, 1, 4, 4), dtype=torch.uint8)
    out = M.to_uint8(x)
    assert out.shape == (2, 3, 4, 4) and torch.equal(out[:, 2], x[:, 0])


@pytest.mark.parametrize(
    "x, err, match",
    [
        (torch.full((1, 3, 4, 4), 2.0), ValueError, r"\[-1, 1\]"),
        (torch.full((1, 3, 4, 4), -1.5), ValueError, r"\[-1, 1\]"),
        (torch.full((1, 3, 4, 4), float("nan")), ValueError, "NaN"),
        (torch.zeros(1, 3, 4, 4, dtype=torch.int32), TypeError, "uint8"),
        (torch.zeros(1, 4, 4, 4), ValueError, "C in"),
    ],
)
def test_to_uint8_rejects_bad_images(x, err, match):
    with pytest.raises(err, match=match):
        M.to_uint8(x)


# ----------------------------------------------------------------------------------------------------------------
# the math: closed forms and float64 references


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    d = 6
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    # commuting (diagonal) covariances: ||mu1 - mu2||^2 + sum (sqrt(a) - sqrt(b))^2
    a, b = rng.uniform(0.1, 2, d), rng.uniform(0.1, 2, d)
    closed = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert M.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(closed, rel=1e-10)
    # dense S and c^2 S: tr(S) (1 - c)^2 + ||mu1 - mu2||^2
    A = rng.normal(size=(d, d))
    S = A @ A.T + 0.1 * np.eye(d)
    c = 1.7
    closed = ((mu1 - mu2) ** 2).sum() + np.trace(S) * (1 - c) ** 2
    assert M.frechet_distance(mu1, S, mu2, c * c * S) == pytest.approx(closed, rel=1e-9)
    # general non-commuting covariances against scipy's sqrtm in float64
    B = rng.normal(size=(d, d))
    S2 = B @ B.T + 0.1 * np.eye(d)
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(S) + np.trace(S2) - 2 * np.trace(np.real(scipy_linalg.sqrtm(S @ S2)))
    assert M.frechet_distance(mu1, S, mu2, S2) == pytest.approx(ref, rel=1e-9)
    # identical statistics -> 0 within rounding (relative to the scale of the traces)
    assert abs(M.frechet_distance(mu1, S, mu1, S)) < 1e-9 * np.trace(S)
    with pytest.raises(ValueError, match="covariances"):
        M.frechet_distance(mu1, S[:-1, :-1], mu2, S)
    # the low-rank reference used with the 2048-d Inception features agrees with sqrtm (n < D: singular)
    f1, f2 = rng.normal(size=(5, 8)), rng.normal(size=(5, 8)) + 0.3
    with pytest.warns(UserWarning, match="5 samples of 8-dimensional"):
        s1, s2 = M.feature_statistics(f1), M.feature_statistics(f2)
    fid = M.frechet_distance(s1["mu"], s1["sigma"], s2["mu"], s2["sigma"])
    assert ref_fid_low_rank(f1, f2) == pytest.approx(fid, rel=1e-6)


def test_feature_statistics_warns_when_samples_do_not_exceed_dimension():
    with pytest.warns(UserWarning, match=r"from 12 samples of 12-dimensional features.*rank at most 11"):
        M.feature_statistics(torch.randn(12, 12))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = M.feature_statistics(torch.randn(13, 12, dtype=torch.float64))
    assert s["sigma"].dtype == np.float64
    with pytest.raises(ValueError, match="at least 2"):
        M.feature_statistics(torch.randn(1, 3))


def test_inception_score_matches_float64_formula():
    g = torch.Generator().manual_seed(1)
    logits = 3 * torch.randn(120, 7, generator=g, dtype=torch.float64)
    p = torch.softmax(logits, 1).numpy()
    scores = []
    for chunk in np.split(p, 4):  # contiguous splits, no shuffling
        py = chunk.mean(0, keepdims=True)
        scores.append(math.exp((chunk * (np.log(chunk) - np.log(py))).sum(1).mean()))
    mean, std = M.inception_score(logits, splits=4)
    assert mean == pytest.approx(np.mean(scores), rel=1e-10)
    assert std == pytest.approx(np.std(scores), rel=1e-8)


def ref_kid_unbiased(f1: np.ndarray, f2: np.ndarray) -> float:
    d = f1.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    m = f1.shape[0]
    kxx, kyy, kxy = k(f1, f1), k(f2, f2), k(f1, f2)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    )


def test_kernel_inception_distance_sanity():
    rng = np.random.default_rng(2)
    f1, f2 = rng.normal(size=(80, 5)), rng.normal(size=(80, 5))
    # one subset of all samples = a permutation of each set: equals the unbiased MMD^2 on the full sets
    mean, std = M.kernel_inception_distance(f1, f2, subsets=1, subset_size=80)
    assert mean == pytest.approx(ref_kid_unbiased(f1, f2), rel=1e-9, abs=1e-12) and std == 0.0
    # same distribution -> KID near 0 (unbiased: can be slightly negative); shifted -> clearly positive, growing
    same, _ = M.kernel_inception_distance(f1, f2, subsets=20, subset_size=60)
    shift1, _ = M.kernel_inception_distance(f1 + 0.5, f2, subsets=20, subset_size=60)
    shift2, _ = M.kernel_inception_distance(f1 + 1.0, f2, subsets=20, subset_size=60)
    assert abs(same) < 0.1 * shift1 and shift1 < shift2


# ----------------------------------------------------------------------------------------------------------------
# the full pipeline with the stand-in extractor


def test_identical_image_sets_give_zero_fid():
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 256, (300, 3, RES, RES), dtype=torch.uint8, generator=g)
    ev = make_evaluator(x, metrics=("fid", "kid"), protocol=small_protocol(fid_samples=300, kid_subset_size=300,
                                                                          kid_subsets=1))
    r = ev.evaluate_images(x)
    feats = ref_pool(x)
    assert abs(r["fid"]) < 1e-9 * np.trace(np.cov(feats, rowvar=False))
    assert r["kid_mean"] == pytest.approx(ref_kid_unbiased(feats, feats), rel=1e-6, abs=1e-12)
    assert r["protocol"] == "test" and r["pipeline"]["fid_reference_samples"] == 300


def test_gaussian_generator_fid_matches_recomputation_and_closed_form():
    n = 3000
    m1 = torch.linspace(-0.3, 0.3, D)
    m2 = m1 + 0.05 * torch.cos(torch.arange(D, dtype=torch.float32))
    L1, L2 = random_cholesky(10, 0.08), random_cholesky(11, 0.1)
    G = BlockGaussianG(m1, L1)
    ref = gaussian_reference(m2, L2, n, seed=123)
    ev = make_evaluator(ref, metrics="fid", protocol=small_protocol(fid_samples=n), seed=7, batch_size=500)
    r = ev.evaluate_generator(G)
    # exact: float64 recomputation from the same samples (independent conversion, pooling and sqrtm)
    expected = ref_fid(ref_generated_features(G, n, seed=7), ref_pool(ref))
    assert r["fid"] == pytest.approx(expected, rel=1e-6)
    # closed form of the two Gaussians the features follow: N((m + 1) / 2, L L^T / 4); tolerance = sampling error
    mu1, mu2 = ((m1 + 1) / 2).double().numpy(), ((m2 + 1) / 2).double().numpy()
    S1, S2 = (L1.double() @ L1.double().T / 4).numpy(), (L2.double() @ L2.double().T / 4).numpy()
    closed = M.frechet_distance(mu1, S1, mu2, S2)
    assert closed == pytest.approx(
        ((mu1 - mu2) ** 2).sum() + np.trace(S1 + S2) - 2 * np.trace(np.real(scipy_linalg.sqrtm(S1 @ S2))), rel=1e-9
    )
    # estimator bias ~ D^2 * var / n plus sampling noise; both far below 10% here
    assert r["fid"] == pytest.approx(closed, rel=0.1)


def test_uniform_latent_distribution_is_honoured():
    G = BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.2), z_dist="uniform")
    ref = gaussian_reference(torch.zeros(D), random_cholesky(1, 0.1), 300, seed=0)
    r = make_evaluator(ref, metrics="fid", protocol=small_protocol(fid_samples=300), seed=4).evaluate_generator(G)
    assert r["fid"] == pytest.approx(ref_fid(ref_generated_features(G, 300, seed=4), ref_pool(ref)), rel=1e-6)
    assert "U(-1, 1)" in r["pipeline"]["latent"]


def test_results_do_not_depend_on_batch_size():
    G = BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.1))
    ref = gaussian_reference(torch.zeros(D), random_cholesky(1, 0.1), 300, seed=0)
    r1 = make_evaluator(ref, metrics="fid", batch_size=7).evaluate_generator(G)
    r2 = make_evaluator(ref, metrics="fid", batch_size=64).evaluate_generator(G)
    assert r1["fid"] == pytest.approx(r2["fid"], rel=1e-9)
    r3 = make_evaluator(ref, metrics="fid", seed=1).evaluate_generator(G)
    assert r3["fid"] != r1["fid"]


def test_inception_score_uniform_classifier_is_one():
    G = BlockGaussianG(torch.zeros(K, D), random_cholesky(0, 0.1), conditional=True, class_code=True)
    ev = make_evaluator(None, metrics="is", feature_extractor="specnorm-test-uniform")
    r = ev.evaluate_generator(G)
    assert r["is_mean"] == pytest.approx(1.0, abs=1e-12) and r["is_std"] == pytest.approx(0.0, abs=1e-12)


def test_inception_score_confident_balanced_classifier_is_num_classes():
    G = BlockGaussianG(torch.zeros(K, D), random_cholesky(0, 0.001), conditional=True, class_code=True)
    ev = make_evaluator(None, metrics="is", protocol=small_protocol(is_samples=200, is_splits=4))
    r = ev.evaluate_generator(G)
    # class-balanced labels, contiguous splits of 50 = 5 per class: every split scores exactly K
    assert r["is_mean"] == pytest.approx(K, rel=1e-9) and r["is_std"] < 1e-9
    assert r["pipeline"]["is_splits"] == 4 and r["pipeline"]["is_samples"] == 200
    # an unconditional G that always shows class 0 to the classifier: one class -> IS 1
    G0 = BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.001), class_code=True)
    assert make_evaluator(None, metrics="is").evaluate_generator(G0)["is_mean"] == pytest.approx(1.0, abs=1e-9)


def test_generator_is_sampled_in_eval_mode_without_grad_and_mode_is_restored():
    G = BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.1)).train()
    make_evaluator(None, metrics="is").evaluate_generator(G)
    assert G.training and G.modes_seen and not any(G.modes_seen) and not any(G.grad_seen)
    G.eval()
    make_evaluator(None, metrics="is").evaluate_generator(G)
    assert not G.training


def test_intra_fid_per_class_values(tmp_path):
    C, per_class, n_ref = 3, 60, 90
    means = torch.stack([torch.full((D,), v) for v in (-0.2, 0.0, 0.2)])
    L = random_cholesky(4, 0.08)
    G = BlockGaussianG(means, L, conditional=True)
    shifted = means.clone()
    shifted[2] += 0.15  # the reference of class 2 is shifted: its FID stands out
    ref = torch.cat([gaussian_reference(shifted[c], L, n_ref, seed=100 + c) for c in range(C)])
    labels = torch.arange(C).repeat_interleave(n_ref)
    reference = M.ReferenceData(ref, labels=labels, name="gauss3")
    proto = small_protocol(fid_samples=C * per_class, intra_fid_samples_per_class=per_class)
    # (a) with FID: the class-balanced pool of 180 holds 60 per class and is reused
    ev = make_evaluator(reference, tmp_path, metrics=("fid", "intra_fid"), protocol=proto, seed=5)
    r = ev.evaluate_generator(G)
    pool_labels = torch.arange(C * per_class) % C
    pool = ref_generated_features(G, C * per_class, seed=5, labels=pool_labels)
    ref_feats = ref_pool(ref)
    for c in range(C):
        want = ref_fid(pool[(pool_labels == c).numpy()], ref_feats[(labels == c).numpy()])
        assert r["intra_fid_per_class"][str(c)] == pytest.approx(want, rel=1e-6)
    assert r["intra_fid"] == pytest.approx(np.mean(list(r["intra_fid_per_class"].values())), rel=1e-12)
    assert r["intra_fid_per_class"]["2"] > 5 * max(r["intra_fid_per_class"]["0"], r["intra_fid_per_class"]["1"])
    assert r["pipeline"]["intra_fid_reference_per_class"] == {"0": n_ref, "1": n_ref, "2": n_ref}
    # (b) intra-FID alone: every class is sampled on its own with seed + 1 + c
    r2 = make_evaluator(reference, tmp_path, metrics="intra_fid", protocol=proto, seed=5).evaluate_generator(G)
    for c in range(C):
        f = ref_generated_features(G, per_class, seed=5 + 1 + c, labels=torch.full((per_class,), c))
        want = ref_fid(f, ref_feats[(labels == c).numpy()])
        assert r2["intra_fid_per_class"][str(c)] == pytest.approx(want, rel=1e-6)


def test_intra_fid_needs_conditional_generator_and_labels():
    G = BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.1))
    ref = gaussian_reference(torch.zeros(D), random_cholesky(0, 0.1), 100, seed=0)
    with pytest.raises(ValueError, match="conditional"):
        make_evaluator(ref, metrics="intra_fid").evaluate_generator(G)
    Gc = BlockGaussianG(torch.zeros(2, D), random_cholesky(0, 0.1), conditional=True)
    with pytest.raises(ValueError, match="labels"):
        make_evaluator(ref, metrics="intra_fid").evaluate_generator(Gc)


# ----------------------------------------------------------------------------------------------------------------
# reference handling and caching


def test_reference_statistics_are_cached_on_disk(tmp_path):
    L = random_cholesky(0, 0.1)
    ref = gaussian_reference(torch.zeros(D), L, 400, seed=0)
    G = BlockGaussianG(torch.zeros(D), L)
    proto = small_protocol(fid_reference_samples=300)
    ev1 = make_evaluator(M.ReferenceData(ref, name="myref"), tmp_path, metrics=("fid", "kid"), protocol=proto)
    PoolFeatures.images_seen = 0
    r1 = ev1.evaluate_generator(G)
    assert PoolFeatures.images_seen == 300 + 200  # reference subset + generated
    files = sorted(os.listdir(tmp_path / "cache"))
    # torch-fidelity's cache naming: <input>-<extractor>-stat-fid-<layer>.pt / -features-<layer>.pt
    assert files == [f"myref-n300-seed0-{FE}-features-pool.pt", f"myref-n300-seed0-{FE}-stat-fid-pool.pt"]
    # a fresh evaluator (new process in practice) reads the reference from the cache: only generated images seen
    ev2 = make_evaluator(M.ReferenceData(ref, name="myref"), tmp_path, metrics=("fid", "kid"), protocol=proto)
    PoolFeatures.images_seen = 0
    r2 = ev2.evaluate_generator(G)
    assert PoolFeatures.images_seen == 200
    assert r2["fid"] == r1["fid"] and r2["kid_mean"] == r1["kid_mean"]
    # the subset is a fixed random subset of 300 of the 400 images: same FID as passing those images explicitly
    idx = torch.randperm(400, generator=torch.Generator().manual_seed(0))[:300].sort().values
    r3 = make_evaluator(ref[idx], metrics="fid").evaluate_generator(G)
    assert r3["fid"] == pytest.approx(r1["fid"], rel=1e-9)
    # within one evaluator the statistics stay in memory
    PoolFeatures.images_seen = 0
    ev2.evaluate_generator(G)
    assert PoolFeatures.images_seen == 200


def test_array_reference_name_is_content_hash_and_cache_can_be_disabled(tmp_path):
    x = torch.randint(0, 256, (50, 3, RES, RES), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert M.ReferenceData(x).name == M.ReferenceData(x.clone()).name
    y = x.clone()
    y[0, 0, 0, 0] ^= 1
    assert M.ReferenceData(x).name != M.ReferenceData(y).name
    nhwc = M.ReferenceData(x.permute(0, 2, 3, 1).numpy())
    assert len(nhwc) == 50
    ev = make_evaluator(x, tmp_path, metrics="fid", cache=False, protocol=small_protocol(fid_samples=50))
    ev.evaluate_images(x)
    assert not (tmp_path / "cache").exists()


def test_npz_and_statistics_file_references(tmp_path):
    L = random_cholesky(0, 0.1)
    ref = gaussian_reference(torch.zeros(D), L, 200, seed=0)
    labels = torch.arange(200) % 2
    p = tmp_path / "data.npz"
    np.savez(p, x=ref.permute(0, 2, 3, 1).numpy(), y=labels.numpy())  # the project's NHWC data format
    rd = M.ReferenceData(str(p))
    assert rd.name.startswith("data-") and torch.equal(rd.labels(), labels)
    G = BlockGaussianG(torch.zeros(D), L)
    r = make_evaluator(rd, metrics="fid").evaluate_generator(G)
    stats = M.feature_statistics(torch.from_numpy(ref_pool(ref)))
    s = tmp_path / "stats.npz"
    np.savez(s, mu=stats["mu"], sigma=stats["sigma"])
    r_stats = make_evaluator(str(s), metrics="fid").evaluate_generator(G)
    assert r_stats["fid"] == pytest.approx(r["fid"], rel=1e-9)
    assert r_stats["pipeline"]["fid_reference_samples"] is None
    with pytest.raises(ValueError, match="only FID statistics"):
        make_evaluator(str(s), metrics=("fid", "kid"))
    with pytest.raises(FileNotFoundError):
        M.ReferenceData(str(tmp_path / "missing.npz"))


class _LabelledDataset(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.targets = x, y.tolist()
        self.reads = 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        self.reads += 1
        return self.x[i]


_REGISTERED = {}


def test_registered_torch_fidelity_input_with_labels(tmp_path):
    L = random_cholesky(0, 0.1)
    x = torch.cat([gaussian_reference(torch.full((D,), v), L, 80, seed=c) for c, v in enumerate((-0.2, 0.2))])
    y = torch.arange(2).repeat_interleave(80)
    name = "specnorm-test-registered"
    _REGISTERED["ds"] = _LabelledDataset(x, y)
    if name not in DATASETS_REGISTRY:
        torch_fidelity.register_dataset(name, lambda root, download: _REGISTERED["ds"])
    G = BlockGaussianG(torch.stack([torch.full((D,), v) for v in (-0.2, 0.2)]), L, conditional=True)
    proto = small_protocol(fid_samples=160, intra_fid_samples_per_class=80)
    reference = M.ReferenceData(name, datasets_root=str(tmp_path / "ds"), download=False)
    ev = make_evaluator(reference, tmp_path, metrics=("fid", "intra_fid"), protocol=proto)
    r = ev.evaluate_generator(G)
    assert r["pipeline"]["reference"] == name and r["pipeline"]["reference_size"] == 160
    direct = make_evaluator(M.ReferenceData(x, labels=y), metrics=("fid", "intra_fid"), protocol=proto)
    r_direct = direct.evaluate_generator(G)
    assert r["fid"] == pytest.approx(r_direct["fid"], rel=1e-9)
    assert r["intra_fid"] == pytest.approx(r_direct["intra_fid"], rel=1e-9)
    assert sorted(os.listdir(tmp_path / "cache")) == sorted(
        [f"{name}-{FE}-stat-fid-pool.pt"] + [f"{name}-class{c}-{FE}-stat-fid-pool.pt" for c in range(2)]
    )


def test_registered_reference_that_cannot_be_loaded(tmp_path):
    name = "specnorm-test-offline"

    def offline(root, download):
        raise urllib.error.URLError("no network in this test")

    if name not in DATASETS_REGISTRY:
        torch_fidelity.register_dataset(name, offline)
    ref = M.ReferenceData(name, datasets_root=str(tmp_path))
    ev = make_evaluator(ref, metrics="fid")
    with pytest.raises(M.ReferenceUnavailableError, match=f"{name}.*Without internet access"):
        ev.evaluate_generator(BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.1)))


def test_reference_dataset_of_tuples_and_unit_range_is_rejected():
    L = random_cholesky(0, 0.1)
    x = torch.cat([gaussian_reference(torch.full((D,), v), L, 50, seed=c) for c, v in enumerate((-0.2, 0.2))])
    y = torch.arange(2).repeat_interleave(50)
    x11 = x.float() / 127.5 - 1  # [-1, 1] floats; the items are (image, label) tuples, labels only in the items
    rd = M.ReferenceData(torch.utils.data.TensorDataset(x11, y), name="tuples")
    G = BlockGaussianG(torch.stack([torch.full((D,), v) for v in (-0.2, 0.2)]), L, conditional=True)
    proto = small_protocol(fid_samples=100, intra_fid_samples_per_class=50)
    r = make_evaluator(rd, metrics=("fid", "intra_fid"), protocol=proto).evaluate_generator(G)
    r_u8 = make_evaluator(M.ReferenceData(x, labels=y), metrics=("fid", "intra_fid"), protocol=proto
                          ).evaluate_generator(G)
    assert r["fid"] == pytest.approx(r_u8["fid"], rel=1e-9)
    assert r["intra_fid_per_class"] == pytest.approx(r_u8["intra_fid_per_class"], rel=1e-9)
    with pytest.raises(ValueError, match=r"\[0, 1\] images"):
        M.ReferenceData(x.float() / 255)
    ds01 = torch.utils.data.TensorDataset(x.float() / 255)
    with pytest.raises(ValueError, match=r"\[0, 1\] images"):
        make_evaluator(M.ReferenceData(ds01, name="u01"), metrics="fid").evaluate_generator(G)


def test_protocol_subset_larger_than_reference_is_an_error():
    ref = gaussian_reference(torch.zeros(D), random_cholesky(0, 0.1), 100, seed=0)
    ev = make_evaluator(ref, metrics="fid", protocol=small_protocol(fid_reference_samples=500))
    with pytest.raises(ValueError, match="500 reference images.*only 100"):
        ev.evaluate_generator(BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.1)))


# ----------------------------------------------------------------------------------------------------------------
# bad input


def test_generator_range_errors_and_warnings():
    class Scaled(BlockGaussianG):
        def __init__(self, *a, scale=1.0, shift=0.0, **k):
            super().__init__(*a, **k)
            self.scale, self.shift = scale, shift

        def forward(self, z, y=None):
            return super().forward(z, y) * self.scale + self.shift

    L = random_cholesky(0, 0.1)
    with pytest.raises(ValueError, match=r"values in \[.*\]; expected float images in \[-1, 1\]"):
        make_evaluator(None, metrics="is").evaluate_generator(Scaled(torch.zeros(D), L, scale=3.0))
    with pytest.warns(UserWarning, match=r"looks like \[0, 1\] images"):
        make_evaluator(None, metrics="is").evaluate_generator(Scaled(torch.zeros(D), L, scale=0.4, shift=0.5))


def test_too_few_generated_samples_warns_with_the_number():
    ref = gaussian_reference(torch.zeros(D), random_cholesky(0, 0.1), 100, seed=0)
    G = BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.1))
    with pytest.warns(UserWarning, match=r"generated images: FID statistics from 10 samples of 12-dimensional"):
        make_evaluator(ref, metrics="fid", protocol=small_protocol(fid_samples=10)).evaluate_generator(G)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown metric"):
        make_evaluator(None, metrics=("is", "precision"))
    with pytest.raises(ValueError, match="need a reference"):
        make_evaluator(None, metrics=("is", "fid"))
    with pytest.raises(ValueError, match="unknown protocol"):
        M.get_protocol("100k")
    with pytest.raises(ValueError, match="not registered"):
        M.Evaluator(None, metrics="is", feature_extractor="no-such-extractor")
    with pytest.raises(ValueError, match="is_splits"):
        M.Protocol("x", is_samples=5, is_splits=10)
    with pytest.raises(TypeError, match="z_dim"):
        make_evaluator(None, metrics="is").evaluate_generator(nn.Linear(2, 2))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        M.Evaluator(None, metrics="is", inception_weights="/nonexistent/weights.pth")


def test_weights_file_of_the_wrong_kind_is_a_clear_error(tmp_path):
    bad = tmp_path / "not_inception.pth"
    torch.save({"weight": torch.zeros(2)}, bad)
    ev = M.Evaluator(None, metrics="is", device="cpu", inception_weights=bad, protocol=small_protocol())
    with pytest.raises(ValueError, match="could not load the weights file.*weights-inception-2015-12-05"):
        ev.evaluate_generator(BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.1)))


def test_offline_inception_fails_with_instructions(monkeypatch, tmp_path):
    import torch_fidelity.feature_extractor_inceptionv3 as fe_inception

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(fe_inception, "load_state_dict_from_url", offline)
    G = BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.1))
    ev = M.Evaluator(None, metrics="is", device="cpu", protocol=small_protocol())
    with pytest.raises(M.InceptionWeightsUnavailableError, match=r"--inception-weights PATH") as info:
        ev.evaluate_generator(G)
    assert "weights-inception-2015-12-05-6726825d.pth" in str(info.value)


def _random_inception_weights(path) -> None:
    """A weights file in torch-fidelity's format for its Inception-v3 (random values, He-scaled so that the
    activations stay O(1)). Only to exercise the real code path offline; the numbers mean nothing."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe_inception

    cls = fe_inception.FeatureExtractorInceptionV3
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(fe_inception, "load_state_dict_from_url", lambda *a, **k: {})
        mp.setattr(cls, "load_state_dict", lambda self, sd, *a, **k: None)
        torch.manual_seed(0)
        model = cls("inception-v3-compat", ["2048"])
    finally:
        mp.undo()
    sd = model.state_dict()
    with torch.no_grad():
        for k, v in sd.items():
            if k.endswith("bn.running_var"):  # x / sqrt(var): sqrt(6) gain per conv-BN-ReLU (He scaling)
                v.fill_(1 / 6)
    torch.save(sd, path)


def test_real_inception_code_path_with_a_weights_file(tmp_path):
    # IS and KID (not FID: one 2048 x 2048 eigendecomposition costs seconds on 2 cores; the FID math is tested
    # above, and KID reads the same '2048' layer). Inputs and outputs of torch-fidelity's extractor are captured
    # with hooks, so no extra Inception forward is needed for the float64 recomputation.
    weights = tmp_path / "inception.pth"
    _random_inception_weights(weights)
    G = BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.3))
    ref = gaussian_reference(torch.full((D,), 0.3), random_cholesky(1, 0.3), 2, seed=0)
    proto = M.Protocol("tiny", is_samples=2, is_splits=1, fid_samples=2, kid_subsets=1, kid_subset_size=2)
    ev = M.Evaluator(ref, metrics=("is", "kid"), protocol=proto, device="cpu", inception_weights=weights,
                     cache=False, batch_size=2)
    fe = ev._get_extractor()
    assert type(fe).__name__ == "FeatureExtractorInceptionV3"
    seen = []
    fe.register_forward_hook(lambda mod, args, out: seen.append((args[0].clone(), dict(zip(mod.features_list, out)))))
    r = ev.evaluate_generator(G)
    assert r["pipeline"]["feature_layers"] == {"is": "logits_unbiased", "kid": "2048"}
    assert "299x299" in r["pipeline"]["resize"] and r["pipeline"]["feature_extractor"] == "inception-v3-compat"
    assert r["pipeline"]["feature_extractor_weights"] == str(weights)
    # what went into the network: the reference, then G's samples converted independently
    (x_ref, out_ref), (x_gen, out_gen) = seen
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(x_gen, ref_uint8(G.eval()(z))) and torch.equal(x_ref, ref)
    f_gen, f_ref = out_gen["2048"].double().numpy(), out_ref["2048"].double().numpy()
    assert np.abs(f_gen).max() > 1e-3  # non-degenerate features
    assert r["kid_mean"] == pytest.approx(ref_kid_unbiased(f_gen, f_ref), rel=1e-4)
    p = torch.softmax(out_gen["logits_unbiased"].double(), 1).numpy()
    score = math.exp((p * (np.log(p) - np.log(p.mean(0, keepdims=True)))).sum(1).mean())
    assert r["is_mean"] == pytest.approx(score, rel=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# protocols and reporting


def test_protocols_are_named_in_every_result():
    assert M.get_protocol("paper") is M.PAPER and M.get_protocol("50k") is M.FIFTY_K
    # the papers' protocol: IS 10 splits x 5K = 50K; FID 5K generated vs 10K real; the common one: 50K vs all
    assert (M.PAPER.is_splits * 5000, M.PAPER.fid_samples, M.PAPER.fid_reference_samples) == (M.PAPER.is_samples,
                                                                                              5000, 10000)
    assert (M.FIFTY_K.is_samples, M.FIFTY_K.fid_samples, M.FIFTY_K.fid_reference_samples) == (50000, 50000, None)
    p = M.PAPER.with_num_samples(5000)
    assert p.name == "paper-n5000" and p.fid_reference_samples == 10000
    p = M.FIFTY_K.with_num_samples(1000, per_class=100)
    assert p.name == "50k-n1000-c100" and p.intra_fid_samples_per_class == 100 and p.is_samples == 1000
    G = BlockGaussianG(torch.zeros(D), random_cholesky(0, 0.1))
    r = make_evaluator(None, metrics="is").evaluate_generator(G, num_samples=100, step=3)
    assert r["protocol"] == "test-n100" and r["protocol_spec"]["is_samples"] == 100 and r["step"] == 3


def test_table_json_and_history_plot(tmp_path):
    C = 2
    L = random_cholesky(0, 0.1)
    G = BlockGaussianG(torch.zeros(C, D), L, conditional=True, class_code=True)
    ref = torch.cat([gaussian_reference(torch.zeros(D), L, 60, seed=c) for c in range(C)])
    rd = M.ReferenceData(ref, labels=torch.arange(C).repeat_interleave(60))
    proto = small_protocol(is_samples=100, fid_samples=100, intra_fid_samples_per_class=50, kid_subset_size=50)
    ev = make_evaluator(rd, metrics=("is", "fid", "kid", "intra_fid"), protocol=proto)
    for step in (100, 200, 300):
        ev.evaluate_generator(G, step=step, seed=step)
    r = ev.history[-1]
    table = M.format_table(r)
    assert "protocol: test" in table and "±" in table and "intra-FID per class" in table
    assert f"{r['is_mean']:.2f} ± {r['is_std']:.2f}" in table and f"{r['fid']:.2f}" in table
    out = tmp_path / "eval.json"
    M.save_results(r, out)
    assert json.loads(out.read_text()) == r
    M.save_results(ev.history, tmp_path / "hist.json")
    assert json.loads((tmp_path / "hist.json").read_text()) == ev.history
    with pytest.raises(ValueError, match="without its protocol"):
        M.format_table({"fid": 1.0})
    with pytest.raises(ValueError, match="without its protocol"):
        M.save_results({"fid": 1.0}, out)

    pytest.importorskip("matplotlib", reason="plots need the [benchmark] extra (matplotlib)")
    png = tmp_path / "curves.png"
    plotted = M.plot_metric_curves(tmp_path / "hist.json", png)
    assert plotted == ["is", "fid", "kid", "intra_fid"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mixed = ev.history + [dict(ev.history[0], protocol="50k")]
    with pytest.raises(ValueError, match="mixes protocols"):
        M.plot_metric_curves(mixed, png)


# ----------------------------------------------------------------------------------------------------------------
# the library's own models, training checkpoints and examples/evaluate.py


def _load_example(name: str):
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_library_generator_matches_recomputation():
    from specnorm_gan import build_gan

    torch.manual_seed(0)
    G = build_gan("cifar10-projection", width=0.0625).G.train()
    C, per_class = G.num_classes, 13
    g = torch.Generator().manual_seed(1)
    ref = torch.randint(0, 256, (C * 20, 3, G.resolution, G.resolution), dtype=torch.uint8, generator=g)
    labels = torch.arange(C).repeat_interleave(20)
    proto = small_protocol(fid_samples=C * per_class, intra_fid_samples_per_class=per_class)
    r = make_evaluator(M.ReferenceData(ref, labels=labels), metrics=("fid", "intra_fid"), protocol=proto, seed=2,
                       batch_size=64).evaluate_generator(G)
    assert G.training  # mode restored
    y = torch.arange(C * per_class) % C
    feats = ref_generated_features(G, C * per_class, seed=2, labels=y)
    assert r["fid"] == pytest.approx(ref_fid(feats, ref_pool(ref)), rel=1e-6)
    for c in (0, C - 1):
        want = ref_fid(feats[(y == c).numpy()], ref_pool(ref)[(labels == c).numpy()])
        assert r["intra_fid_per_class"][str(c)] == pytest.approx(want, rel=1e-6)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from specnorm_gan.data import ImageDataset
    from specnorm_gan.training import TrainConfig, Trainer

    out = tmp_path_factory.mktemp("run")
    data = ImageDataset(torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8), torch.arange(40) % 10)
    cfg = TrainConfig(preset="cifar10-projection", width=0.0625, iterations=1, out_dir=str(out), ema=True,
                      tensorboard=False, progress=False, batch_size=4, g_batch_size=4, device="cpu")
    Trainer(cfg, data).save_checkpoint()
    return out


def test_evaluate_script_end_to_end(run_dir, tmp_path, capsys):
    evaluate = _load_example("evaluate")
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (200, 32, 32, 3), dtype=torch.uint8, generator=g)
    y = torch.arange(200) % 10
    npz = tmp_path / "real.npz"
    np.savez(npz, x=x.numpy(), y=y.numpy())
    out = tmp_path / "eval.json"
    argv = ["--ckpt", str(run_dir), "--metrics", "is", "fid", "kid", "--intra-fid", "--reference", str(npz),
            "--protocol", "50k", "--num-samples", "130", "--intra-fid-samples", "13", "--feature-extractor", FE,
            "--device", "cpu",
            "--cache-dir", str(tmp_path / "cache"), "--json", str(out), "--batch-size", "65"]
    assert evaluate.main(argv) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["protocol"] == "50k-n130-c13" and "protocol: 50k-n130-c13" in printed
    assert result["checkpoint"]["generator"] == "G_ema" and result["checkpoint"]["preset"] == "cifar10-projection"
    assert len(result["intra_fid_per_class"]) == 10 and result["pipeline"]["intra_fid_samples_per_class"] == 13
    assert "±" in printed and "intra-FID" in printed
    # the same numbers from the library on the checkpoint's EMA generator
    G, info = evaluate.load_generator(str(run_dir))
    assert info["generator"] == "G_ema"
    ref = M.ReferenceData(x.numpy(), labels=y)
    proto = M.FIFTY_K.with_num_samples(130, per_class=13)
    r = make_evaluator(ref, metrics=("is", "fid", "kid", "intra_fid"), protocol=proto, batch_size=65
                       ).evaluate_generator(G)
    for k in ("is_mean", "fid", "kid_mean", "intra_fid"):
        assert result[k] == pytest.approx(r[k], rel=1e-9)


def test_evaluate_script_rejects_other_architectures_and_bad_files(run_dir, tmp_path, capsys):
    from specnorm_gan import build_gan
    from specnorm_gan.training import find_checkpoint

    evaluate = _load_example("evaluate")
    base = ["--metrics", "is", "--feature-extractor", FE, "--device", "cpu", "--num-samples", "10"]
    # the checkpoint holds another preset than expected
    assert evaluate.main(["--ckpt", str(run_dir), "--preset", "stl10-resnet48"] + base) == 2
    assert "holds a model of preset 'cifar10-projection'" in capsys.readouterr().err
    # G weights of another architecture than the checkpoint's config describes
    ckpt = torch.load(find_checkpoint(run_dir), weights_only=True)
    ckpt["G"] = build_gan("cifar10-resnet", width=0.125).G.state_dict()
    ckpt["G_ema"] = ckpt["G"]
    bad = tmp_path / "other.pt"
    torch.save(ckpt, bad)
    assert evaluate.main(["--ckpt", str(bad)] + base) == 2
    assert "does not match this model" in capsys.readouterr().err
    # not a training checkpoint at all (a bare state dict)
    bare = tmp_path / "bare.pt"
    torch.save(build_gan("cifar10-resnet", width=0.125).G.state_dict(), bare)
    assert evaluate.main(["--ckpt", str(bare)] + base) == 2
    assert "not a specnorm_gan training checkpoint" in capsys.readouterr().err
    # FID without a reference
    assert evaluate.main(["--ckpt", str(run_dir), "--metrics", "fid", "--feature-extractor", FE]) == 2
    assert "--reference" in capsys.readouterr().err
