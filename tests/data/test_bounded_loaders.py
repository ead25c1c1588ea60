"""Hostile files are refused from their headers, in one line, before anything big is allocated.

Each hostile file is built small on disk. The loads that would allocate gigabytes run with the
process's address space capped a few hundred MB above its current size, so an attempted huge
allocation fails the test (a MemoryError) instead of swapping.
"""

import contextlib
import pickle
import resource
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from sslcore.data import (
    limits,
    load_cifar,
    load_csv,
    load_image_folder,
    load_npz,
    load_path,
    tables,
)
from sslcore.data.limits import max_classes, max_data_bytes
from sslcore.errors import DataError

HEADROOM = 256 << 20  # bytes of address space a load may add while capped


@contextlib.contextmanager
def address_space_capped():
    """Caps this process's address space ``HEADROOM`` above its current size, then restores it.

    An attempted huge allocation then raises MemoryError (failing the test) instead of swapping
    or being overcommitted unseen; only the soft limit is lowered, so it can be raised back.
    """
    with open("/proc/self/status") as f:
        vm_kb = next(int(line.split()[1]) for line in f if line.startswith("VmSize"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm_kb * 1024 + HEADROOM, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def refused(load, *args):
    """The one-line DataError message of ``load(*args)``, run with the address space capped."""
    with address_space_capped(), pytest.raises(DataError) as e:
        load(*args)
    message = str(e.value)
    assert "\n" not in message
    return message


def npy_header(shape, dtype="<f8"):
    """The bytes of a version 1.0 ``.npy`` header for ``shape`` and ``dtype``."""
    header = {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}
    body = repr(header).encode("latin1")
    pad = 64 - (10 + len(body) + 1) % 64
    body += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


def forge_npz(path, members, claimed=None, compression=zipfile.ZIP_STORED):
    """Writes ``members`` (name -> raw bytes) into a zip; ``claimed`` patches declared sizes.

    ``claimed`` maps a member name to the uncompressed size its central directory entry should
    declare (the zipfile module trusts it), whatever the bytes really are.
    """
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, raw in members.items():
            zf.writestr(name, raw)
    data = bytearray(path.read_bytes())
    for name, size in (claimed or {}).items():
        entry = data.index(b"PK\x01\x02")  # central directory entries: name at +46, size at +24
        while data[entry + 46 : entry + 46 + len(name)] != name.encode():
            entry = data.index(b"PK\x01\x02", entry + 4)
        struct.pack_into("<I", data, entry + 24, size)
    path.write_bytes(bytes(data))
    return path


def one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --- .npz ---------------------------------------------------------------------------------------


def test_npz_header_claiming_80_gb_is_refused_before_allocating(tmp_path):
    # The header says (10**5, 10**5) float64 but the member holds only the header: np.load would
    # allocate 80 GB and then inflate into it.
    path = forge_npz(
        tmp_path / "huge.npz",
        {"x.npy": npy_header((10**5, 10**5)), "y.npy": npy_header((10**5,), "<i8")},
    )
    line = refused(load_npz, path)
    assert "header describes" in line and "zip entry holds" in line and "huge.npz" in line


def test_npz_consistent_but_over_the_cap_is_refused_from_its_header(tmp_path):
    # The zip entry agrees with the header (3 GB of uint8), so only the cap stops it.
    header = npy_header((3 * 10**9, 1), "|u1")
    path = forge_npz(
        tmp_path / "big.npz",
        {"x.npy": header, "y.npy": npy_header((0,), "<i8")},
        claimed={"x.npy": len(header) + 3 * 10**9},
    )
    line = refused(load_npz, path)
    assert "would decode" in line and "over the cap of 2.0 GiB" in line
    assert "SSLCORE_MAX_DATA_BYTES" in line


def test_npz_member_that_inflates_past_its_declared_size_is_cut_and_refused(tmp_path):
    # Header and zip entry both say 24 bytes of data; the deflate stream holds 20 MB of zeros.
    header = npy_header((3,))
    path = forge_npz(
        tmp_path / "bomb.npz",
        {"x.npy": header + bytes(20 << 20), "y.npy": npy_header((3,), "<i8") + bytes(24)},
        claimed={"x.npy": len(header) + 24},
        compression=zipfile.ZIP_DEFLATED,
    )
    line = refused(load_npz, path)
    assert "cannot read" in line and "bomb.npz" in line


def test_npz_labels_up_to_2_to_the_40_are_refused_not_named(tmp_path):
    np.savez(tmp_path / "sparse.npz", x=np.zeros((2, 3)), y=np.array([0, 2**40]))
    line = refused(load_npz, tmp_path / "sparse.npz")
    assert f"labels 'y' go up to {2**40}" in line and f"over the cap of {max_classes()}" in line


def test_npz_too_many_class_names_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLCORE_MAX_CLASSES", "3")
    names = np.array(["a", "b", "c", "d"])
    np.savez(tmp_path / "n.npz", x=np.zeros((2, 3)), y=np.array([0, 1]), class_names=names)
    with pytest.raises(DataError, match=r"class_names: 4 classes, over the cap of 3") as e:
        load_npz(tmp_path / "n.npz")
    one_line(e)


def test_npz_cap_is_configurable(tmp_path, monkeypatch):
    np.savez(tmp_path / "ok.npz", x=np.zeros((100, 10)), y=np.zeros(100, int))
    assert len(load_npz(tmp_path / "ok.npz")) == 100
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", "10000")
    with pytest.raises(DataError, match=r"ok\.npz: would decode .* over the cap of 9\.8 KiB"):
        load_npz(tmp_path / "ok.npz")
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", "lots")
    with pytest.raises(ValueError, match="SSLCORE_MAX_DATA_BYTES must be a positive integer"):
        max_data_bytes()


def test_text_file_named_npz_gets_no_allow_pickle_advice(tmp_path):
    (tmp_path / "notes.npz").write_text("just some text, not an archive\n" * 3)
    for load in (load_npz, load_path):
        with pytest.raises(DataError, match=r"notes\.npz: not a valid \.npz file") as e:
            load(tmp_path / "notes.npz")
        assert "allow_pickle" not in one_line(e) and "pickle" not in str(e.value)


def test_npz_with_a_huge_central_directory_is_refused_before_zipfile_parses_it(tmp_path):
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(25_000):  # ~1.2 MB of directory entries
            zf.writestr(f"m{i:05d}.txt", b"")
    with pytest.raises(DataError, match=r"central directory of \d+ bytes") as e:
        load_npz(path)
    one_line(e)


def test_npz_unread_members_are_never_inflated(tmp_path, monkeypatch):
    # A large extra array is listed but not read: the cap counts only what load_npz needs.
    np.savez(tmp_path / "extra.npz", x=np.zeros((4, 2)), y=np.zeros(4, int), big=np.zeros(10**5))
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", "10000")
    assert load_npz(tmp_path / "extra.npz").x.shape == (4, 2)


# --- CIFAR pickles ------------------------------------------------------------------------------


class Reduce:
    """Pickles as ``func(*args)``, the way a hostile file would ask for an allocation."""

    def __init__(self, func, *args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        if self.state is None:
            return (self.func, self.args)
        return (self.func, self.args, self.state)


RECONSTRUCT = np._core.multiarray._reconstruct
U1 = np.dtype("u1")


@pytest.mark.parametrize(
    "payload, match",
    [
        (Reduce(bytearray, 10**10), "bytearray of 9.3 GiB asked for"),
        (Reduce(np.ndarray, (10**5, 10**5, 8), "u1"), "array of 74.5 GiB asked for"),
        (Reduce(RECONSTRUCT, np.ndarray, (10**10,), "u1"), "array of 9.3 GiB asked for"),
        (
            Reduce(RECONSTRUCT, np.ndarray, (0,), "b", state=(1, (10**10,), U1, False, b"x")),
            "array of 9.3 GiB asked for",
        ),
    ],
    ids=["bytearray", "ndarray", "reconstruct", "setstate"],
)
def test_cifar_pickle_asking_for_gigabytes_is_refused_before_allocating(tmp_path, payload, match):
    (tmp_path / "data_batch_1").write_bytes(
        pickle.dumps({b"data": payload, b"labels": [0]}, protocol=2)
    )
    line = refused(load_cifar, tmp_path / "data_batch_1")
    assert match in line and "over the cap" in line, line


def test_cifar_object_arrays_are_refused(tmp_path):
    # numpy allocates an object array's claimed shape before it looks at the list it is given.
    state = (1, (10**10,), np.dtype("O"), False, [0])
    payload = Reduce(RECONSTRUCT, np.ndarray, (0,), "b", state=state)
    (tmp_path / "test_batch").write_bytes(
        pickle.dumps({b"data": payload, b"labels": [0]}, protocol=2)
    )
    line = refused(load_cifar, tmp_path / "test_batch")
    assert "refusing to unpickle an object" in line


def test_cifar_split_over_the_cap_is_refused_before_reading(tmp_path, monkeypatch):
    data = np.zeros((4, 3072), np.uint8)
    for k in (1, 2):
        blob = pickle.dumps({b"data": data, b"labels": [0, 1, 2, 3]}, protocol=2)
        (tmp_path / f"data_batch_{k}").write_bytes(blob)
    assert len(load_cifar(tmp_path)) == 8
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", str(20_000))  # one batch fits, two do not
    assert len(load_cifar(tmp_path / "data_batch_1")) == 4
    with pytest.raises(DataError, match=r"\(train split\): would decode .* over the cap") as e:
        load_cifar(tmp_path)
    one_line(e)


# --- image folders ------------------------------------------------------------------------------


def forge_png(path, width, height):
    """A PNG whose header claims ``width x height`` RGB, with no pixel data at all."""

    def chunk(kind, body):
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def test_image_claiming_more_pixels_than_the_cap_is_refused_from_its_header(tmp_path, monkeypatch):
    forge_png(tmp_path / "a" / "big.png", 9000, 9000)  # 81 Mpx: under PIL's own bomb check
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", str(64 << 20))
    line = refused(load_image_folder, tmp_path)
    assert "big.png (9000x9000): would decode 309.0 MiB, over the cap of 64.0 MiB" in line


def test_image_folder_total_and_file_count_are_capped(tmp_path, monkeypatch):
    for i in range(4):
        path = tmp_path / f"c{i % 2}" / f"{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    assert len(load_image_folder(tmp_path)) == 4
    monkeypatch.setenv("SSLCORE_MAX_FILES", "3")
    with pytest.raises(DataError, match=r"more than 3 image files \(set SSLCORE_MAX_FILES") as e:
        load_image_folder(tmp_path)
    one_line(e)
    monkeypatch.delenv("SSLCORE_MAX_FILES")
    monkeypatch.setenv("SSLCORE_MAX_CLASSES", "1")
    with pytest.raises(DataError, match="more than 1 class subfolders"):
        load_image_folder(tmp_path)
    monkeypatch.delenv("SSLCORE_MAX_CLASSES")
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", "700")  # each image fits, the four do not
    with pytest.raises(DataError, match=r"\(4 images\): would decode 768 B, over the cap"):
        load_image_folder(tmp_path)
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", "2000")  # the output size counts, not the input
    assert load_image_folder(tmp_path, size=12).x.shape == (4, 3, 12, 12)
    with pytest.raises(DataError, match=r"\(4 images\): would decode 2\.0 KiB"):
        load_image_folder(tmp_path, size=13)


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_one_huge_line_is_refused_before_it_is_held(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("label," + ",".join(f"f{i}" for i in range(400_000)) + "\n")
    line = refused(load_csv, path)
    assert "wide.csv: line 1 is longer than 1048576 characters" in line


def test_csv_rows_bytes_and_classes_are_capped(tmp_path, monkeypatch):
    rows = "\n".join(f"{i},{i % 7}" for i in range(100))
    path = tmp_path / "t.csv"
    path.write_text("f,label\n" + rows + "\n")
    assert load_csv(path).num_classes == 7
    monkeypatch.setenv("SSLCORE_MAX_CLASSES", "6")
    with pytest.raises(DataError, match=r"column 'label': 7 classes, over the cap of 6") as e:
        load_csv(path)
    one_line(e)
    monkeypatch.delenv("SSLCORE_MAX_CLASSES")
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", "600")  # the file fits, 100 rows of 12 B do not
    with pytest.raises(DataError, match=r"t\.csv \(at line 52\): would decode 612 B"):
        load_csv(path)
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", "100")  # the file itself is over: unread
    with pytest.raises(DataError, match=r"t\.csv: would decode \d+ B, over the cap of 100 B"):
        load_csv(path)


def test_csv_parsed_in_blocks_keeps_every_value(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "_BLOCK_BYTES", 200)  # 10 rows of 20 B per block: 500 blocks
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 3)).astype(np.float32)
    labels = rng.choice(["b", "a", "c"], size=5000)
    lines = [f"{a!r},{b!r},{lab},{c!r}" for (a, b, c), lab in zip(x.tolist(), labels, strict=True)]
    (tmp_path / "n.csv").write_text("p,q,label,r\n" + "\n".join(lines) + "\n")
    data = load_csv(tmp_path / "n.csv")
    assert np.array_equal(data.x.numpy(), x) and data.class_names == ["a", "b", "c"]
    assert [data.class_names[i] for i in data.y.tolist()] == labels.tolist()


def test_limits_are_documented_in_one_place():
    for name in ("SSLCORE_MAX_DATA_BYTES", "SSLCORE_MAX_CLASSES", "SSLCORE_MAX_FILES"):
        assert name in limits.__doc__
    assert limits.DEFAULT_MAX_DATA_BYTES == 2 * 2**30 and limits.DEFAULT_MAX_CLASSES == 10_000
