"""save_pretrained / from_pretrained round trips (G, D, build_gan results, Hub cache) and bad input."""

import json

import pytest
import torch

from specnorm_gan import SNDCGANDiscriminator, SNResNetDiscriminator, SNResNetGenerator, build_gan, from_pretrained, save_pretrained
from specnorm_gan.pretrained import load_state_dict_checked


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_generator_round_trip_keeps_every_option(tmp_path):
    G = SNResNetGenerator(48, 5, z_dim=64, width=0.125, upsample_mode="bilinear", bn_eps=1e-4, conditional_final_bn=True)
    with torch.no_grad():
        G.train()(torch.randn(4, 64), torch.tensor([0, 1, 2, 4]))  # non-initial BN statistics
    save_pretrained(G, tmp_path)
    assert not any(p.suffix in (".pt", ".pth", ".pkl", ".bin") for p in tmp_path.iterdir())  # no pickle
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"]["kwargs"] == {"resolution": 48, "num_classes": 5, "z_dim": 64, "width": 0.125,
                                         "upsample_mode": "bilinear", "bn_eps": 1e-4, "conditional_final_bn": True}
    H = from_pretrained(tmp_path)
    _same_state(G, H)
    z, y = torch.randn(3, 64), torch.tensor([4, 0, 2])
    G.eval(), H.eval()
    with torch.no_grad():
        assert torch.equal(G(z, y), H(z, y))


def test_discriminator_round_trip_same_u(tmp_path):
    D = SNResNetDiscriminator(32, 10, width=0.125, arch="48-strided", hidden="out", shortcut_after_activation=True)
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([3, 9])
    with torch.no_grad():
        D.train()(x, y)
    save_pretrained(D, tmp_path)
    E = from_pretrained(tmp_path)
    _same_state(D, E)
    with torch.no_grad():
        for mode in (False, True):
            D.train(mode), E.train(mode)
            assert torch.equal(D(x, y), E(x, y))
        assert torch.equal(D.head.linear.weight_u, E.head.linear.weight_u)  # both advanced u the same way


def test_dcgan_round_trip(tmp_path):
    D = SNDCGANDiscriminator(32, width=0.125, variant="cgl")
    _same_state(D, from_pretrained(save_pretrained(D, tmp_path)))


def test_build_gan_result_round_trip(tmp_path):
    spec = build_gan("cifar10-projection-mimicry", width=0.125, n_dis=3)
    save_pretrained(spec, tmp_path)
    back = from_pretrained(tmp_path)
    assert back.preset.name == "cifar10-projection-mimicry" and back.hparams == spec.hparams
    assert back.hparams.n_dis == 3
    _same_state(spec.G, back.G)
    _same_state(spec.D, back.D)
    assert back.G.blocks[0].upsample_mode == "bilinear"


def _fake_hub_cache(cache, repo, folder):
    # huggingface_hub's cache layout: models--owner--name/{refs/main, snapshots/<commit>/files}.
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    snap = root / "snapshots" / commit
    snap.mkdir(parents=True)
    for f in folder.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)


def test_hub_repo_loads_offline_from_the_cache(tmp_path):
    pytest.importorskip("huggingface_hub")  # the optional 'hub' extra (installed by the test extra)
    G = SNResNetGenerator(32, width=0.125)
    _fake_hub_cache(tmp_path / "cache", "someone/sngan-test", save_pretrained(G, tmp_path / "model"))
    # An endpoint nothing listens on: the download fails and the cache answers.
    H = from_pretrained("someone/sngan-test", cache_dir=str(tmp_path / "cache"), endpoint="http://127.0.0.1:9")
    _same_state(G, H)
    with pytest.raises(FileNotFoundError, match=r"(?s)'someone/other'.*could not be downloaded.*not in the local cache"):
        from_pretrained("someone/other", cache_dir=str(tmp_path / "cache"), endpoint="http://127.0.0.1:9")


def test_hub_needs_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ImportError, match=r"specnorm-gan\[hub\]"):
        from_pretrained("someone/sngan-test")


def test_not_a_folder_nor_a_repo(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a pretrained folder"):
        from_pretrained(tmp_path / "missing" / "deeper")


def test_shape_mismatch_names_key_and_shapes_and_changes_nothing():
    G = SNResNetGenerator(32, width=0.125)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    state = SNResNetGenerator(32, width=0.125).state_dict()
    state["blocks.1.c2.weight"] = torch.zeros(32, 32, 1, 1)
    with pytest.raises(ValueError, match=r"'blocks.1.c2.weight' has shape \(32, 32, 1, 1\), expected \(32, 32, 3, 3\)"):
        load_state_dict_checked(G, state)
    for k, v in G.state_dict().items():
        assert torch.equal(v, before[k]), k  # nothing half-loaded (dense.weight etc. come first)


def test_missing_and_extra_keys_are_named():
    G = SNResNetGenerator(32, width=0.125)
    state = dict(G.state_dict())
    del state["conv_out.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \['conv_out.bias'\].*unexpected keys \['extra.weight'\]"):
        load_state_dict_checked(G, state)


def test_tampered_config_is_rejected(tmp_path):
    save_pretrained(SNResNetGenerator(32, width=0.125), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["model"]["kwargs"]["width"] = 0.25  # weights no longer fit
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"'dense.weight' has shape \(512, 128\), expected \(1024, 128\)"):
        from_pretrained(tmp_path)
    config["format"] = "something-else"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="not a specnorm-gan config"):
        from_pretrained(tmp_path)
