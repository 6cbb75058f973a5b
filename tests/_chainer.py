"""Chainer ``sngan_projection`` 32 and 128 px snapshots built with numpy, and their forward in plain torch ops.

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


# gen_models/resnet_32.py (ch=256: 4 x ch, head b5/c5) and resnet.py (ch=64: 16, 16, 8, 4, 2, 1 x ch, head b7/l7).
G_DESIGNS = {32: ((1, 1, 1, 1), "b5", "c5"), 128: ((16, 16, 8, 4, 2, 1), "b7", "l7")}
# dis_models/snresnet_32.py (ch=128, head l5 nobias) and snresnet.py (ch=64: 1, 2, 4, 8, 16, 16 x ch, head l7 with bias).
D_DESIGNS = {32: ((1, 1, 1, 1), (True, True, False, False), "l5", False),
             128: ((1, 2, 4, 8, 16, 16), (True,) * 5 + (False,), "l7", True)}


def gen_npz(ch, classes, seed=0, res=32):
    rng = np.random.default_rng(seed)
    factors, bn, conv = G_DESIGNS[res]
    chans = [f * ch for f in factors]
    out = {"l1/W": rng.normal(0, 0.3, (16 * chans[0], 128)).astype("f"), "l1/b": rng.normal(0, 0.1, 16 * chans[0]).astype("f")}
    for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:]), start=2):
        _put(out, f"block{i}/c1", _conv(rng, cout, cin, 3))  # hidden = out in gen_models/resblocks.py
        _put(out, f"block{i}/c2", _conv(rng, cout, cout, 3))
        _put(out, f"block{i}/c_sc", _conv(rng, cout, cin, 1))  # learnable: every block upsamples
        _put(out, f"block{i}/b1", _bn(rng, cin, classes))
        _put(out, f"block{i}/b2", _bn(rng, cout, classes))
    _put(out, bn, _bn(rng, chans[-1], 0))
    _put(out, conv, _conv(rng, 3, chans[-1], 3))
    return out


def _sn(rng, arrays, rows):
    u = rng.normal(size=(1, rows))
    return dict(arrays, u=(u / np.linalg.norm(u)).astype("f"))


def dis_npz(ch, classes, seed=1, res=32):
    rng = np.random.default_rng(seed)
    factors, downs, head, bias = D_DESIGNS[res]
    out, cin = {}, 3
    for i, (f, down) in enumerate(zip(factors, downs), start=1):
        cout = f * ch
        hidden = cout if i == 1 else cin  # OptimizedBlock: in -> out; Block: hidden = in
        _put(out, f"block{i}/c1", _sn(rng, _conv(rng, hidden, cin, 3), hidden))
        _put(out, f"block{i}/c2", _sn(rng, _conv(rng, cout, hidden, 3), cout))
        if i == 1 or cin != cout or down:
            _put(out, f"block{i}/c_sc", _sn(rng, _conv(rng, cout, cin, 1), cout))
        cin = cout
    lin = {"W": rng.normal(0, 0.3, (1, cin)).astype("f")}
    if bias:
        lin["b"] = rng.normal(0, 0.1, 1).astype("f")
    _put(out, head, _sn(rng, lin, 1))
    if classes:
        _put(out, "l_y", _sn(rng, {"W": rng.normal(0, 0.3, (classes, cin)).astype("f")}, classes))
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
    n = len({k.split("/")[0] for k in npz if k.startswith("block")})
    h = F.linear(z, _t(npz, "l1/W", dt), _t(npz, "l1/b", dt)).reshape(z.shape[0], -1, 4, 4)
    for i in range(2, n + 2):
        p = f"block{i}"
        r = _unpool(torch.relu(_batch_norm(npz, f"{p}/b1", h, y, train, dt)))
        r = F.conv2d(r, _t(npz, f"{p}/c1/W", dt), _t(npz, f"{p}/c1/b", dt), padding=1)
        r = torch.relu(_batch_norm(npz, f"{p}/b2", r, y, train, dt))
        r = F.conv2d(r, _t(npz, f"{p}/c2/W", dt), _t(npz, f"{p}/c2/b", dt), padding=1)
        h = r + F.conv2d(_unpool(h), _t(npz, f"{p}/c_sc/W", dt), _t(npz, f"{p}/c_sc/b", dt))
    h = torch.relu(_batch_norm(npz, f"b{n + 2}", h, None, train, dt))
    conv = f"c{n + 2}" if f"c{n + 2}/W" in npz else f"l{n + 2}"
    return torch.tanh(F.conv2d(h, _t(npz, f"{conv}/W", dt), _t(npz, f"{conv}/b", dt), padding=1))


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
    b = _t(npz, f"{prefix}/b", x.dtype)  # SNConvolution2D keeps its bias
    return F.conv2d(x, _w_bar(npz, prefix, x.dtype), b, padding=pad)


def dis_forward(npz, x, y=None):
    pool = lambda t: F.avg_pool2d(t, 2)  # noqa: E731
    n = len({k.split("/")[0] for k in npz if k.startswith("block")})
    downs = D_DESIGNS[{4: 32, 6: 128}[n]][1]
    h = pool(_sn_conv(npz, "block1/c2", torch.relu(_sn_conv(npz, "block1/c1", x, 1)), 1))
    h = h + _sn_conv(npz, "block1/c_sc", pool(x), 0)
    for i in range(2, n + 1):
        p, down = f"block{i}", downs[i - 1]
        r = _sn_conv(npz, f"{p}/c2", torch.relu(_sn_conv(npz, f"{p}/c1", torch.relu(h), 1)), 1)
        sc = _sn_conv(npz, f"{p}/c_sc", h, 0) if f"{p}/c_sc/W" in npz else h
        h = (pool(r) + pool(sc)) if down else (r + sc)
    feat = torch.relu(h).sum(dim=(2, 3))
    head = f"l{n + 1}"
    out = feat @ _w_bar(npz, head, x.dtype).T
    if f"{head}/b" in npz:
        out = out + _t(npz, f"{head}/b", x.dtype)
    if y is not None:
        out = out + (_w_bar(npz, "l_y", x.dtype)[y] * feat).sum(dim=1, keepdim=True)
    return out.view(-1)
