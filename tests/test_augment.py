"""DiffAugment and the adaptive pipeline: differentiable, seeded, identity at p = 0, checked against plain indexing."""

import pytest
import torch

from specnorm_gan.augment import ADA_TRANSFORMS, AdaptiveAugment, DiffAugment, cutout, rot90, translation


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("aug", [DiffAugment("color,translation,cutout"), AdaptiveAugment(p=0.7, target=None)])
def test_gradients_reach_the_input(aug):
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    aug(x, _gen()).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("aug", [DiffAugment("color,translation,cutout"), AdaptiveAugment(p=0.5, target=None)])
def test_same_random_state_same_transform_for_real_and_fake(aug):
    real, fake = torch.randn(6, 3, 8, 8), torch.randn(6, 3, 8, 8)
    # geometric part is linear in x given the random state: T(a) + T(b) == T(a + b)
    geo = DiffAugment("translation,cutout")
    assert torch.allclose(geo(real, _gen(3)) + geo(fake, _gen(3)), geo(real + fake, _gen(3)), atol=1e-6)
    assert torch.equal(aug(real, _gen(3)), aug(real.clone(), _gen(3)))
    assert not torch.equal(aug(real, _gen(3)), aug(real, _gen(4)))


def test_p_zero_is_identity_bit_for_bit():
    x = torch.randn(5, 3, 8, 8)
    assert torch.equal(AdaptiveAugment(p=0.0, target=None)(x, _gen()), x)


def test_p_one_applies_every_transform():
    x = torch.randn(64, 3, 8, 8)
    out = AdaptiveAugment("flip", p=1.0, target=None)(x, _gen())
    assert torch.equal(out, x.flip(3))


def test_translation_matches_padded_slicing():
    x = torch.randn(8, 2, 6, 6, dtype=torch.float64)
    g = _gen(5)
    out = translation(x, g, ratio=0.34)
    g = _gen(5)
    s = int(6 * 0.34 + 0.5)
    dy = torch.floor(torch.rand(8, generator=g) * (2 * s + 1)).long() - s
    dx = torch.floor(torch.rand(8, generator=g) * (2 * s + 1)).long() - s
    pad = torch.nn.functional.pad(x, (s, s, s, s))
    for i in range(8):  # reference: crop from the zero-padded image
        ref = pad[i, :, s - dy[i]: s - dy[i] + 6, s - dx[i]: s - dx[i] + 6]
        assert torch.equal(out[i], ref)


def test_cutout_zeroes_a_quarter_when_inside():
    x = torch.ones(200, 1, 8, 8)
    out = cutout(x, _gen(1))
    zeros = (out == 0).flatten(1).sum(1)
    assert zeros.max() == 16 and zeros.min() >= 4  # a 4x4 square, clipped at the border


def test_rot90_matches_torch_rot90():
    x = torch.randn(32, 3, 5, 5)
    out = rot90(x, _gen(2))
    for i in range(32):
        assert any(torch.equal(out[i], torch.rot90(x[i], k, dims=(1, 2))) for k in (1, 2, 3))


def test_controller_moves_p_both_ways_and_clamps():
    aug = AdaptiveAugment(p=0.5, target=0.6, speed_images=100, interval=2)
    aug.update(torch.ones(10))
    assert float(aug.p) == 0.5  # accumulating
    aug.update(torch.tensor([1.0] * 5 + [-1.0] * 5))  # r_t = 10/20 = 0.5 < 0.6: p falls by 20/100
    assert abs(float(aug.p) - 0.3) < 1e-6
    for _ in range(20):
        aug.update(torch.ones(50))
    assert float(aug.p) == 1.0
    state = aug.state_dict_aug()
    other = AdaptiveAugment(p=0.0, target=0.6, speed_images=100, interval=2)
    other.load_state_dict_aug(state)
    assert torch.equal(other.p, aug.p) and other._steps == aug._steps


def test_bad_input():
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        DiffAugment("color,zoom")
    with pytest.raises(ValueError, match=r"probability in \[0, 1\]"):
        AdaptiveAugment(p=1.5)
    with pytest.raises(ValueError, match=r"probability in \[0, 1\]"):
        AdaptiveAugment(target=-0.1)
    with pytest.raises(ValueError, match="unknown ADA transform"):
        AdaptiveAugment("flip,warp")
    assert set(ADA_TRANSFORMS) >= {"flip", "rot90", "translation", "cutout"}
