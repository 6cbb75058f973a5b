"""Data loading: format-exact fixtures written here (npz, CIFAR pickles, STL-10 binaries, MNIST idx,
Flowers102, image folders), pixel helpers against Pillow, and the in-memory batch stream."""

from __future__ import annotations

import pickle
import re
import struct
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import pytest
import torch

from specnorm_gan.data import (
    DatasetNotFoundError,
    ImageDataset,
    InMemoryLoader,
    convert_channels,
    load_dataset,
    load_image_folder,
    load_npz,
    resize_images,
    save_npz,
    to_float_images,
    to_uint8_images,
    validate_labels,
)

RNG = np.random.default_rng(0)


def _images(n: int, h: int, w: int, c: int = 3) -> np.ndarray:
    return RNG.integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Fixture writers (the real on-disk formats)
# --------------------------------------------------------------------------------------------
def write_cifar10(root: Path, per_batch: int = 3) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """cifar-10-batches-py: pickled dicts with 'data' (N, 3072) uint8 rows (R plane, G, B) and 'labels'.

    The official files are Python 2 pickles whose str keys load as str with ``encoding="latin1"``
    (torchvision's reader); protocol-2 pickles with str keys load identically.
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    xs: Dict[str, np.ndarray] = {}
    ys: Dict[str, np.ndarray] = {}
    for name in names:
        x = _images(per_batch, 32, 32)
        y = RNG.integers(0, 10, size=per_batch)
        rows = x.transpose(0, 3, 1, 2).reshape(per_batch, 3072)  # channel planes, row-major
        entry = {"batch_label": name, "labels": [int(v) for v in y], "data": rows,
                 "filenames": [f"{name}_{i}.png" for i in range(per_batch)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        xs[name], ys[name] = x, y
    meta = {"num_cases_per_batch": per_batch, "label_names": [
            "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"], "num_vis": 3072}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    train_x = np.concatenate([xs[n] for n in names[:5]])
    train_y = np.concatenate([ys[n] for n in names[:5]])
    return train_x, train_y, xs["test_batch"], ys["test_batch"]


def write_idx(path: Path, arr: np.ndarray) -> None:
    """IDX format of MNIST: magic 0x0000 08 ndim, big-endian dims, uint8 data."""
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x0800 | arr.ndim))
        f.write(struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(arr.astype(np.uint8).tobytes())


def write_mnist(root: Path, folder: str = "MNIST", n: int = 5) -> Tuple[np.ndarray, np.ndarray]:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    x = RNG.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = RNG.integers(0, 10, size=n).astype(np.uint8)
    write_idx(raw / "train-images-idx3-ubyte", x)
    write_idx(raw / "train-labels-idx1-ubyte", y)
    write_idx(raw / "t10k-images-idx3-ubyte", x[:2])
    write_idx(raw / "t10k-labels-idx1-ubyte", y[:2])
    return x, y


def write_stl10(root: Path, n: int = 2) -> Dict[str, np.ndarray]:
    """stl10_binary: each image is 3 planes of 96x96 stored column-major; labels 1..10 as uint8."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    out: Dict[str, np.ndarray] = {}
    for split in ("train", "test", "unlabeled"):
        x = RNG.integers(0, 256, size=(n, 3, 96, 96), dtype=np.uint8)  # (N, C, row, col), upright
        (folder / f"{split}_X.bin").write_bytes(x.transpose(0, 1, 3, 2).tobytes())  # column-major planes
        out[split] = x
        if split != "unlabeled":
            y = RNG.integers(1, 11, size=n).astype(np.uint8)
            (folder / f"{split}_y.bin").write_bytes(y.tobytes())
            out[split + "_y"] = y.astype(np.int64) - 1
    (folder / "class_names.txt").write_text("\n".join(f"c{i}" for i in range(10)))
    return out


def write_png(path: Path, arr: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


# --------------------------------------------------------------------------------------------
# npz
# --------------------------------------------------------------------------------------------
def test_npz_roundtrip_and_layout(tmp_path: Path) -> None:
    x = _images(7, 5, 6)
    y = np.arange(7, dtype=np.int64) % 3
    np.savez_compressed(tmp_path / "d.npz", x=x, y=y, class_names=np.array(["a", "b", "c"]))
    ds = load_npz(tmp_path / "d.npz")
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (7, 3, 5, 6)
    assert torch.equal(ds.images, torch.from_numpy(x).permute(0, 3, 1, 2))  # NHWC -> NCHW, same pixels
    assert ds.labels.tolist() == y.tolist() and ds.class_names == ["a", "b", "c"] and ds.num_classes == 3
    save_npz(tmp_path / "e.npz", ds)
    with np.load(tmp_path / "e.npz", allow_pickle=False) as d:
        assert np.array_equal(d["x"], x) and np.array_equal(d["y"], y)


def test_npz_grayscale_unlabelled_and_rgba(tmp_path: Path) -> None:
    g = _images(4, 8, 8, 1)[..., 0]
    np.savez(tmp_path / "g.npz", x=g)  # (N, H, W), no labels
    ds = load_npz(tmp_path / "g.npz")
    assert ds.images.shape == (4, 1, 8, 8) and ds.labels is None and ds.num_classes == 0
    rgba = _images(2, 4, 4, 4)
    np.savez(tmp_path / "a.npz", x=rgba, y=np.array([-1, -1]))  # -1 = no label
    ds = load_npz(tmp_path / "a.npz")
    assert torch.equal(ds.images, torch.from_numpy(rgba[..., :3]).permute(0, 3, 1, 2)) and ds.labels is None


def test_npz_bad_input(tmp_path: Path) -> None:
    np.savez(tmp_path / "f.npz", x=np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        load_npz(tmp_path / "f.npz")
    np.savez(tmp_path / "n.npz", images=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="no array 'x'"):
        load_npz(tmp_path / "n.npz")
    np.savez(tmp_path / "y.npz", x=np.zeros((2, 4, 4, 3), np.uint8), y=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="'y'"):
        load_npz(tmp_path / "y.npz")
    with pytest.raises(DatasetNotFoundError):
        load_npz(tmp_path / "missing.npz")


def _label_report(y: np.ndarray, bad: np.ndarray) -> str:
    """The expected 'value (count times)' list, counted independently with numpy."""
    values, counts = np.unique(y[bad], return_counts=True)
    return ", ".join(f"{v} ({c} time{'s' if c != 1 else ''})" for v, c in zip(values, counts))


def test_npz_out_of_range_labels_are_refused_with_values_and_counts(tmp_path: Path) -> None:
    y = np.array([0, -1, 2, -3, -1, 1], dtype=np.int64)
    np.savez(tmp_path / "neg.npz", x=_images(6, 4, 4), y=y)
    expected = _label_report(y, y < 0)
    assert expected == "-3 (1 time), -1 (2 times)"
    for load in (load_npz, load_dataset):
        with pytest.raises(ValueError, match=rf"neg\.npz: 'y' holds 3 negative labels: {re.escape(expected)}; .*>= 0"):
            load(tmp_path / "neg.npz")
    # beyond the declared class names
    y = np.array([0, 3, 1, 5, 3], dtype=np.int64)
    np.savez(tmp_path / "big.npz", x=_images(5, 4, 4), y=y, class_names=np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match=rf"holds 3 labels outside \[0, 3\): {re.escape(_label_report(y, y >= 3))}"):
        load_npz(tmp_path / "big.npz")


def test_validate_labels_against_numpy_counts() -> None:
    y = RNG.integers(-20, 30, size=500)
    bad = (y < 0) | (y >= 10)
    values = np.unique(y[bad])
    with pytest.raises(ValueError) as e:
        validate_labels(torch.from_numpy(y), 10, "src")
    msg = str(e.value)
    assert msg.startswith(f"src holds {int(bad.sum())} labels outside [0, 10): ")
    assert _label_report(y[np.isin(y, values[:8])], slice(None)) in msg  # the 8 smallest values with their counts
    assert f"and {len(values) - 8} more distinct values" in msg
    validate_labels(torch.from_numpy(y.clip(0, 9)), 10)  # in range: no error
    validate_labels(torch.from_numpy(y.clip(0, None)))  # None: only >= 0 is required
    with pytest.raises(ValueError, match="num_classes must be an int >= 1 or None, got 0"):
        validate_labels(torch.zeros(2, dtype=torch.int64), 0)


def test_npz_without_images_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 8, 8, 3), np.uint8), y=np.zeros(0, np.int64))
    for load in (load_npz, load_dataset):
        with pytest.raises(ValueError, match=rf"no images in {re.escape(str(tmp_path / 'empty.npz'))}"):
            load(tmp_path / "empty.npz")


def test_shared_npz_format_if_present() -> None:
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist_test.npz"
    if not path.is_file():
        pytest.skip("the project's shared data folder is not next to this checkout")
    ds = load_dataset(path, resolution=32, channels=3)
    assert ds.images.shape == (10000, 3, 32, 32) and ds.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


# --------------------------------------------------------------------------------------------
# torchvision formats
# --------------------------------------------------------------------------------------------
def test_cifar10_pickle_batches(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    train_x, train_y, test_x, test_y = write_cifar10(tmp_path)
    # The fixture is not the official file set: the default MD5 check must refuse it, clearly.
    with pytest.raises(DatasetNotFoundError, match="verify=False"):
        load_dataset(tmp_path, "cifar10")
    ds = load_dataset(tmp_path, verify=False)  # dataset detected from the folder layout
    assert ds.images.shape == (15, 3, 32, 32) and ds.class_names[3] == "cat"
    assert torch.equal(ds.images, torch.from_numpy(train_x).permute(0, 3, 1, 2))
    assert ds.labels.tolist() == train_y.tolist()
    both = load_dataset(tmp_path / "cifar-10-batches-py", "cifar10", split="train+test", verify=False, resolution=16)
    assert both.images.shape == (18, 3, 16, 16) and both.labels[15:].tolist() == test_y.tolist()


def test_cifar100_pickle(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    x = _images(4, 32, 32)
    for name in ("train", "test"):
        entry = {"data": x.transpose(0, 3, 1, 2).reshape(4, 3072), "fine_labels": [0, 99, 5, 7], "coarse_labels": [0] * 4}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"c{i}" for i in range(100)]}, f, protocol=2)
    ds = load_dataset(tmp_path, "cifar100", verify=False)
    assert torch.equal(ds.images, torch.from_numpy(x).permute(0, 3, 1, 2)) and ds.num_classes == 100
    assert ds.labels.tolist() == [0, 99, 5, 7]


def test_stl10_binaries_upright_and_splits(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    ref = write_stl10(tmp_path)
    ds = load_dataset(tmp_path, "stl10", verify=False)  # default split: train+test (labelled)
    assert torch.equal(ds.images, torch.from_numpy(np.concatenate([ref["train"], ref["test"]])))
    assert ds.labels.tolist() == np.concatenate([ref["train_y"], ref["test_y"]]).tolist()
    un = load_dataset(tmp_path, "stl10-unlabeled", verify=False, resolution=48)
    assert un.labels is None and un.images.shape == (2, 3, 48, 48)
    ref48 = resize_images(torch.from_numpy(ref["unlabeled"]), 48)
    assert torch.equal(un.images, ref48)


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_idx(tmp_path: Path, name: str, folder: str) -> None:
    pytest.importorskip("torchvision")
    x, y = write_mnist(tmp_path, folder)
    ds = load_dataset(tmp_path, name)
    assert torch.equal(ds.images, torch.from_numpy(x)[:, None]) and ds.labels.tolist() == y.tolist()
    rgb = load_dataset(tmp_path / folder, resolution=32, channels=3)  # detected from the folder name
    assert rgb.images.shape == (5, 3, 32, 32)
    assert torch.equal(rgb.images[:, 0], rgb.images[:, 2])  # gray repeated


def test_flowers102_layout(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    scipy_io = pytest.importorskip("scipy.io")
    base = tmp_path / "flowers-102"
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30), (7, 7, 7), (90, 0, 9)]
    for i, c in enumerate(colours, 1):
        write_png(base / "jpg" / f"image_{i:05d}.jpg", np.full((20 + i, 30, 3), c, np.uint8))  # a real JPEG (lossy)
    scipy_io.savemat(base / "imagelabels.mat", {"labels": np.array([[1, 2, 3, 1, 102, 5]])})
    # Official setid.mat: 1-based image ids per split (the test split is listed in an odd order).
    scipy_io.savemat(base / "setid.mat", {"trnid": np.array([[1, 2]]), "valid": np.array([[3, 4]]), "tstid": np.array([[6, 5]])})
    ds = load_dataset(tmp_path, "flowers102", resolution=8, verify=False)
    assert ds.images.shape == (6, 3, 8, 8) and ds.labels.tolist() == [0, 1, 2, 0, 4, 101]
    for i, c in zip(range(6), [colours[k] for k in (0, 1, 2, 3, 5, 4)]):  # constant images stay constant (JPEG: +-3)
        assert (ds.images[i].float() - torch.tensor(c, dtype=torch.float).view(3, 1, 1)).abs().max() <= 3
    val = load_dataset(tmp_path, "flowers102", split="val", resolution=8, verify=False)
    assert val.labels.tolist() == [2, 0]


def test_missing_dataset_says_what_to_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as e:
        load_dataset(tmp_path / "nowhere", "cifar10")
    msg = str(e.value)
    assert "cifar-10-python.tar.gz" in msg and str(tmp_path / "nowhere") in msg and "--download" in msg
    with pytest.raises(DatasetNotFoundError, match="stl10_binary.tar.gz"):
        load_dataset(tmp_path, "stl10")
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset(tmp_path / "nothing-here")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset(tmp_path, "cifar11")


# --------------------------------------------------------------------------------------------
# Image folders
# --------------------------------------------------------------------------------------------
def test_image_folder_classes_and_flat(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    write_png(tmp_path / "set" / "b_cls" / "1.png", np.full((10, 14, 3), 200, np.uint8))
    write_png(tmp_path / "set" / "a_cls" / "x.png", np.full((12, 12, 3), 50, np.uint8))
    write_png(tmp_path / "set" / "a_cls" / "sub" / "y.png", np.full((30, 20, 3), 90, np.uint8))
    (tmp_path / "set" / "a_cls" / "notes.txt").write_text("not an image")
    ds = load_image_folder(tmp_path / "set", resolution=8)
    assert ds.class_names == ["a_cls", "b_cls"] and ds.labels.tolist() == [0, 0, 1]
    assert ds.images.shape == (3, 3, 8, 8)
    assert [int(v) for v in ds.images.flatten(1).float().mean(1)] == [50, 90, 200]
    gray = load_dataset(tmp_path / "set", resolution=4, channels=1)
    assert gray.images.shape == (3, 1, 4, 4)
    with pytest.raises(ValueError, match="differ in size"):
        load_image_folder(tmp_path / "set")
    write_png(tmp_path / "flat" / "0.png", _images(1, 6, 6)[0])
    write_png(tmp_path / "flat" / "1.png", _images(1, 6, 6)[0])
    flat = load_dataset(tmp_path / "flat")
    assert flat.labels is None and flat.images.shape == (2, 3, 6, 6)


def write_truncated_png(path: Path, arr: np.ndarray) -> None:
    """A real PNG cut to half its bytes (the header survives, the image data does not)."""
    write_png(path, arr)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_image_folder_skips_unreadable_files_with_one_warning(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    write_png(tmp_path / "set" / "a" / "0.png", np.full((8, 8, 3), 10, np.uint8))
    write_truncated_png(tmp_path / "set" / "a" / "1.png", _images(1, 16, 16)[0])
    write_png(tmp_path / "set" / "b" / "0.png", np.full((8, 8, 3), 30, np.uint8))
    (tmp_path / "set" / "b" / "2.jpg").write_bytes(b"not a jpeg")
    write_png(tmp_path / "set" / "b" / "3.png", np.full((8, 8, 3), 40, np.uint8))
    with pytest.warns(UserWarning) as record:
        ds = load_dataset(tmp_path / "set")
    assert len(record) == 1  # one warning for all skipped files
    msg = str(record[0].message)
    assert msg.startswith(f"skipped 2 of 5 image files under {tmp_path / 'set'}")
    assert str(tmp_path / "set" / "a" / "1.png") in msg and str(tmp_path / "set" / "b" / "2.jpg") in msg
    assert "0.png" not in msg and "3.png" not in msg
    # the readable images, with their own labels
    assert ds.images.shape == (3, 3, 8, 8) and ds.labels.tolist() == [0, 1, 1] and ds.class_names == ["a", "b"]
    assert [int(v) for v in ds.images.flatten(1).float().mean(1)] == [10, 30, 40]

    write_truncated_png(tmp_path / "broken" / "0.png", _images(1, 16, 16)[0])
    with pytest.raises(ValueError, match=rf"none of the 1 image files under {re.escape(str(tmp_path / 'broken'))} could be decoded: .*0\.png"):
        load_image_folder(tmp_path / "broken")


# --------------------------------------------------------------------------------------------
# Pixel helpers against Pillow and closed forms
# --------------------------------------------------------------------------------------------
def test_resize_matches_pillow_bilinear() -> None:
    Image = pytest.importorskip("PIL.Image")
    x = _images(2, 40, 40)
    ours = resize_images(torch.from_numpy(x).permute(0, 3, 1, 2), 17)
    for i in range(2):
        ref = np.asarray(Image.fromarray(x[i]).resize((17, 17), Image.BILINEAR))
        diff = np.abs(ours[i].permute(1, 2, 0).numpy().astype(int) - ref.astype(int))
        assert diff.max() <= 2, diff.max()
    wide = torch.from_numpy(_images(1, 10, 16)).permute(0, 3, 1, 2)
    assert torch.equal(resize_images(wide, 10), wide[:, :, :, 3:13])  # centre crop, no resize needed
    with pytest.raises(ValueError, match="resolution"):
        resize_images(wide, 0)


def test_grayscale_matches_pillow() -> None:
    Image = pytest.importorskip("PIL.Image")
    x = _images(1, 9, 9)
    ours = convert_channels(torch.from_numpy(x).permute(0, 3, 1, 2), 1)[0, 0].numpy().astype(int)
    ref = np.asarray(Image.fromarray(x[0]).convert("L")).astype(int)
    assert np.abs(ours - ref).max() <= 1


def test_float_mapping_and_inverse() -> None:
    levels = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    f = to_float_images(levels)
    torch.testing.assert_close(f.double(), levels.double().div(127.5).sub(1), rtol=0, atol=1.2e-7)  # float32 rounding
    assert f.min() == -1 and f.max() == 1
    assert torch.equal(to_uint8_images(f), levels)
    g = torch.Generator().manual_seed(0)
    dq = to_float_images(levels.expand(64, 1, 16, 16), dequantize=True, generator=g)
    base = levels.double() / 128 - 1
    offset = dq.double() - base
    assert offset.min() >= 0 and offset.max() < 1 / 128 + 1e-7
    assert abs(offset.mean().item() - 1 / 256) < 1e-4  # uniform noise on [0, 1/128)
    assert to_float_images(levels, channels_last=True).is_contiguous(memory_format=torch.channels_last)


def test_dataset_validation() -> None:
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset(torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="1 or 3 channels"):
        ImageDataset(torch.zeros(2, 2, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="labels"):
        ImageDataset(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="number of classes"):
        ImageDataset(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 2]), ["a", "b"])


# --------------------------------------------------------------------------------------------
# The batch stream
# --------------------------------------------------------------------------------------------
def _stream(n: int, batch: int, **kw) -> InMemoryLoader:  # type: ignore[no-untyped-def]
    ds = ImageDataset(torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous(), torch.arange(n) % 4)
    return InMemoryLoader(ds, batch, **kw)


@pytest.mark.parametrize("n,batch", [(12, 4), (10, 4), (5, 8)])
def test_every_image_once_per_epoch(n: int, batch: int) -> None:
    loader = _stream(n, batch, seed=3)
    seen = torch.cat([loader.next_batch()[0][:, 0, 0, 0].long() for _ in range(3 * n)])
    for e in range(3 * batch):  # consecutive epochs are permutations of the whole set
        assert sorted(seen[e * n : (e + 1) * n].tolist()) == list(range(n))
    assert seen[:n].tolist() != list(range(n))  # shuffled


def test_labels_follow_images_and_seeding() -> None:
    a, b, c = _stream(20, 6, seed=1), _stream(20, 6, seed=1), _stream(20, 6, seed=2)
    xa, ya = a.next_batch()
    xb, _ = b.next_batch()
    xc, _ = c.next_batch()
    assert torch.equal(xa, xb) and not torch.equal(xa, xc)
    assert ya.tolist() == [int(v) % 4 for v in xa[:, 0, 0, 0]]


def test_state_dict_resumes_the_stream() -> None:
    a = _stream(10, 4, seed=5)
    for _ in range(4):
        a.next_batch()
    state = a.state_dict()
    expected = [a.next_batch()[0] for _ in range(5)]
    b = _stream(10, 4, seed=0)
    b.load_state_dict(state)
    assert all(torch.equal(x, b.next_batch()[0]) for x in expected)
    with pytest.raises(ValueError, match="10 images"):
        _stream(11, 4).load_state_dict(state)


def test_rank_shards_partition_the_global_batch() -> None:
    single = _stream(14, 6, seed=9)
    r0, r1 = _stream(14, 3, seed=9, rank=0, world_size=2), _stream(14, 3, seed=9, rank=1, world_size=2)
    for _ in range(7):
        g = single.next_batch()[0]
        assert torch.equal(torch.cat([r0.next_batch()[0], r1.next_batch()[0]]), g)
    with pytest.raises(ValueError, match="rank"):
        _stream(4, 2, rank=2, world_size=2)
