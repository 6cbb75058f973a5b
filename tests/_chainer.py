"""Chainer ``sngan_projection`` 32 px snapshots built with numpy, and their forward in plain torch ops.

Written from the published definition (pfnet-research/sngan_projection): ``gen_models/resnet_32.py`` (3ff93ef:
``l1``, ``block2..4``, ``b5``, ``c5``), ``gen_models/resblocks.py`` (``Block``: ``b1 -> relu -> unpooling 2x ->
c1 -> b2 -> relu -> c2`` + ``c_sc(unpool(x))``, ab97f6b), ``dis_models/snresnet_32.py`` (175be17: ``block1`` OptimizedBlock,
``block2`` down, ``block3/4`` plain, ``l5`` SNLinear without bias, ``l_y`` SNEmbedID), ``dis_models/resblocks.py``
(ab97f6b: hidden = in, shortcut only when learnable), ``source/links/sn_*.py`` (69d0e56: ``u`` of shape
``(1, rows)``), ``source/functions/max_sv.py`` (ab97f6b: one power iteration per forward, ``x / (||x|| + 1e-12)``),
and ``source/links/{categorical_,}conditional_batch_normalization.py`` (14903e7: eps 2e-5, decay 0.9; ``gammas/W``, ``betas/W``,
``avg_mean``, ``avg_var``, ``N``). Keys are the link paths ``chainer.serializers.save_npz`` writes.
"""

import numpy as np
import torch
import torch.nn.functional as F

EPS_BN = 2e-5


def _conv(rng, cout, cin, k):
    return {"W": rng.normal(0, 0.3, (cout, cin, k, k)).astype("f"), "b": rng.normal(0, 0.1, cout).astype("f")}


def _put(out, prefix, arrays):
    out.update({f"{prefix}/{k}": v for k, v in arrays.items()})


def _bn(rng, c, classes):
    stats = {"avg_mean": rng.normal(0, 0.1, c).astype("f"), "avg_var": (rng.random(c) + 0.5).astype("f"),
             "N": np.array(0)}
    if classes:
        # multiples of 2^-10 keep the gains exact in float32 and float64 alike
        gam = np.round((1 + rng.normal(0, 0.1, (classes, c))) * 1024) / 1024
        return dict(stats, **{"gammas/W": gam.astype("f"), "betas/W": rng.normal(0, 0.1, (classes, c)).astype("f")})
    return dict(stats, gamma=(1 + rng.normal(0, 0.1, c)).astype("f"), beta=rng.normal(0, 0.1, c).astype("f"))


def gen_npz(ch, classes, seed=0):
    rng = np.random.default_rng(seed)
    out = {"l1/W": rng.normal(0, 0.3, (16 * ch, 128)).astype("f"), "l1/b": rng.normal(0, 0.1, 16 * ch).astype("f")}
    for i in (2, 3, 4):
        for name, k in (("c1", 3), ("c2", 3), ("c_sc", 1)):
            _put(out, f"block{i}/{name}", _conv(rng, ch, ch, k))
        _put(out, f"block{i}/b1", _bn(rng, ch, classes))
        _put(out, f"block{i}/b2", _bn(rng, ch, classes))
    _put(out, "b5", _bn(rng, ch, 0))
    _put(out, "c5", _conv(rng, 3, ch, 3))
    return out


def _sn(rng, arrays, rows):
    u = rng.normal(size=(1, rows))
    return dict(arrays, u=(u / np.linalg.norm(u)).astype("f"))


def dis_npz(ch, classes, seed=1):
    rng = np.random.default_rng(seed)
    out = {}
    for i, cin in ((1, 3), (2, ch), (3, ch), (4, ch)):
        names = (("c1", 3), ("c2", 3)) + ((("c_sc", 1),) if i <= 2 else ())
        for name, k in names:
            _put(out, f"block{i}/{name}", _sn(rng, _conv(rng, ch, cin if name != "c2" else ch, k), ch))
    _put(out, "l5", _sn(rng, {"W": rng.normal(0, 0.3, (1, ch)).astype("f")}, 1))
    if classes:
        _put(out, "l_y", _sn(rng, {"W": rng.normal(0, 0.3, (classes, ch)).astype("f")}, classes))
    return out


def _t(npz, key, dtype):
    return torch.as_tensor(np.asarray(npz[key]), dtype=dtype)


def _batch_norm(npz, prefix, h, y, train, dtype):
    if train:
        mean, var = h.mean(dim=(0, 2, 3)), h.var(dim=(0, 2, 3), unbiased=False)
    else:
        mean, var = _t(npz, f"{prefix}/avg_mean", dtype), _t(npz, f"{prefix}/avg_var", dtype)
    h = (h - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + EPS_BN)
    if f"{prefix}/gammas/W" in npz:
        return h * _t(npz, f"{prefix}/gammas/W", dtype)[y][:, :, None, None] + _t(npz, f"{prefix}/betas/W", dtype)[y][:, :, None, None]
    return h * _t(npz, f"{prefix}/gamma", dtype)[None, :, None, None] + _t(npz, f"{prefix}/beta", dtype)[None, :, None, None]


def _unpool(h):
    return h.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # F.unpooling_2d(x, 2, outsize=2x)


def gen_forward(npz, z, y=None, train=False):
    dt = z.dtype
    h = F.linear(z, _t(npz, "l1/W", dt), _t(npz, "l1/b", dt)).reshape(z.shape[0], -1, 4, 4)
    for i in (2, 3, 4):
        p = f"block{i}"
        r = _unpool(torch.relu(_batch_norm(npz, f"{p}/b1", h, y, train, dt)))
        r = F.conv2d(r, _t(npz, f"{p}/c1/W", dt), _t(npz, f"{p}/c1/b", dt), padding=1)
        r = torch.relu(_batch_norm(npz, f"{p}/b2", r, y, train, dt))
        r = F.conv2d(r, _t(npz, f"{p}/c2/W", dt), _t(npz, f"{p}/c2/b", dt), padding=1)
        h = r + F.conv2d(_unpool(h), _t(npz, f"{p}/c_sc/W", dt), _t(npz, f"{p}/c_sc/b", dt))
    h = torch.relu(_batch_norm(npz, "b5", h, None, train, dt))
    return torch.tanh(F.conv2d(h, _t(npz, "c5/W", dt), _t(npz, "c5/b", dt), padding=1))


def _l2n(x):
    return x / (torch.linalg.vector_norm(x) + 1e-12)


def _w_bar(npz, prefix, dt):
    w = _t(npz, f"{prefix}/W", dt)
    mat = w.reshape(w.shape[0], -1)
    u = _t(npz, f"{prefix}/u", dt)
    v = _l2n(u @ mat)
    u = _l2n(v @ mat.T)
    return w / (u @ mat @ v.T).reshape(())


def _sn_conv(npz, prefix, x, pad):
    b = _t(npz, f"{prefix}/b", x.dtype)
    return F.conv2d(x, _w_bar(npz, prefix, x.dtype), b, padding=pad)


def dis_forward(npz, x, y=None):
    pool = lambda t: F.avg_pool2d(t, 2)  # noqa: E731
    h = pool(_sn_conv(npz, "block1/c2", torch.relu(_sn_conv(npz, "block1/c1", x, 1)), 1))
    h = h + _sn_conv(npz, "block1/c_sc", pool(x), 0)
    for i in (2, 3, 4):
        p = f"block{i}"
        r = _sn_conv(npz, f"{p}/c2", torch.relu(_sn_conv(npz, f"{p}/c1", torch.relu(h), 1)), 1)
        if i == 2:
            h = pool(r) + pool(_sn_conv(npz, f"{p}/c_sc", h, 0))
        else:
            h = r + h
    feat = torch.relu(h).sum(dim=(2, 3))
    out = feat @ _w_bar(npz, "l5", x.dtype).T
    if y is not None:
        out = out + (_w_bar(npz, "l_y", x.dtype)[y] * feat).sum(dim=1, keepdim=True)
    return out.view(-1)
