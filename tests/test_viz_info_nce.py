"""The Loss kernel page's data and figures: small-batch logits, timing records, JSON parsing."""

import json
import math

import numpy as np
import pytest
import torch

from sslcore import info_nce_records, ops, viz_info_nce

# ---- the small batch ---------------------------------------------------------------------------


def test_aligned_pairs_are_unit_rows_replayed_by_seed():
    z_a, z_b = viz_info_nce.aligned_pairs(5, 7, 0.3, seed=3)
    assert z_a.shape == z_b.shape == (5, 7) and z_a.dtype == torch.float32
    torch.testing.assert_close(z_a.norm(dim=1), torch.ones(5))
    torch.testing.assert_close(z_b.norm(dim=1), torch.ones(5))
    again = viz_info_nce.aligned_pairs(5, 7, 0.3, seed=3)
    assert torch.equal(again[0], z_a) and torch.equal(again[1], z_b)
    assert not torch.equal(viz_info_nce.aligned_pairs(5, 7, 0.3, seed=4)[0], z_a)


def test_alignment_moves_the_positives_together():
    cosines = []
    for alignment in (0.0, 0.3, 0.7, 1.0):
        z_a, z_b = viz_info_nce.aligned_pairs(64, 32, alignment, seed=0)
        cosines.append(float((z_a * z_b).sum(1).mean()))
    assert abs(cosines[0]) < 0.1  # independent random directions in 32-D
    assert cosines == sorted(cosines) and cosines[-1] == 1.0
    z_a, z_b = viz_info_nce.aligned_pairs(4, 3, 1.0)
    assert torch.equal(z_a, z_b)  # identical views, exactly


@pytest.mark.parametrize(("n", "d", "alignment"), [(0, 3, 0.5), (2, 0, 0.5), (2, 3, 1.5)])
def test_aligned_pairs_rejects_bad_arguments(n, d, alignment):
    with pytest.raises(ValueError, match=r"n, d|alignment"):
        viz_info_nce.aligned_pairs(n, d, alignment)


@pytest.mark.parametrize(("form", "n"), [("ntxent", 1), ("ntxent", 5), ("clip", 1), ("clip", 4)])
def test_equal_embeddings_loss_is_the_loss_of_equal_embeddings(form, n):
    z = torch.ones(n, 3, dtype=torch.float64) / math.sqrt(3)
    loss = float(ops.info_nce(z, z.clone(), 0.5, form=form))
    assert viz_info_nce.equal_embeddings_loss(n, form) == pytest.approx(loss, abs=1e-12)
    expected = math.log(2 * n - 1) if form == "ntxent" else math.log(n)
    assert viz_info_nce.equal_embeddings_loss(n, form) == expected
    with pytest.raises(ValueError, match="form"):
        viz_info_nce.equal_embeddings_loss(n, "simclr")


def naive_row_losses(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """ℓ_r = log Σ_c exp(s_rc) − s_r,target over the non-NaN cells of each row, in a loop."""
    out = []
    for r, row in enumerate(logits):
        cells = [v for v in row if not math.isnan(v)]
        out.append(math.log(sum(math.exp(v) for v in cells)) - row[targets[r]])
    return np.array(out)


def test_similarity_view_ntxent_is_the_matrix_the_loss_is_computed_from():
    n, tau = 4, 0.2
    z_a, z_b = viz_info_nce.aligned_pairs(n, 6, 0.4, seed=1)
    view = viz_info_nce.similarity_view(z_a, z_b, tau, "ntxent")
    assert view.logits.shape == (2 * n, 2 * n)
    assert np.isnan(np.diag(view.logits)).all()
    assert view.positives.tolist() == [4, 5, 6, 7, 0, 1, 2, 3]
    assert view.row_labels == view.col_labels == ["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3"]
    z = torch.cat([z_a, z_b]).double()
    for i, j in [(0, 1), (0, 4), (6, 2), (7, 3)]:
        assert view.logits[i, j] == pytest.approx(float(z[i] @ z[j]) / tau, rel=1e-12)
    assert np.allclose(view.logits, view.logits.T, equal_nan=True)  # symmetric
    out = ops.info_nce(z_a.double(), z_b.double(), tau, details=True)
    np.testing.assert_allclose(
        naive_row_losses(view.logits, view.positives), out.row_losses.numpy(), rtol=1e-10
    )
    assert view.top1.mean() == pytest.approx(float(out.accuracy))


def test_similarity_view_clip_rows_then_columns():
    n, tau = 3, 0.5
    z_a, z_b = viz_info_nce.aligned_pairs(n, 4, 0.2, seed=2)
    view = viz_info_nce.similarity_view(z_a, z_b, tau, "clip")
    assert view.logits.shape == (n, n) and not np.isnan(view.logits).any()
    assert view.positives.tolist() == [0, 1, 2]
    assert (view.row_labels, view.col_labels) == (["a0", "a1", "a2"], ["b0", "b1", "b2"])
    out = ops.info_nce(z_a.double(), z_b.double(), tau, form="clip", details=True)
    stacked = np.concatenate([view.logits, view.logits.T])  # a→b rows, then b→a
    np.testing.assert_allclose(
        naive_row_losses(stacked, np.tile(np.arange(n), 2)), out.row_losses.numpy(), rtol=1e-10
    )
    assert view.top1.shape == (2 * n,)
    assert view.top1.mean() == pytest.approx(float(out.accuracy))


def test_similarity_view_rejects_bad_arguments():
    z = torch.ones(2, 3)
    with pytest.raises(ValueError, match="z_a, z_b"):
        viz_info_nce.similarity_view(z, torch.ones(3, 3), 0.1)
    with pytest.raises(ValueError, match="temperature"):
        viz_info_nce.similarity_view(z, z, 0.0)
    with pytest.raises(ValueError, match="form"):
        viz_info_nce.similarity_view(z, z, 0.1, "triplet")


# ---- figures -----------------------------------------------------------------------------------


def test_similarity_figure_heatmap_with_positives_marked():
    logits = np.array([[np.nan, 1.0, 3.0], [1.0, np.nan, -2.0], [3.0, -2.0, np.nan]])
    fig = viz_info_nce.similarity_figure(logits, [2, 2, 0], ["x", "y", "z"], ["x", "y", "z"])
    heat, marks = fig.data
    assert (heat.type, marks.type) == ("heatmap", "scatter")
    np.testing.assert_array_equal(np.asarray(heat.z), logits)  # NaN cells stay blank
    assert (heat.zmin, heat.zmax) == (-3.0, 3.0)  # symmetric around 0
    assert list(marks.x) == ["z", "z", "x"] and list(marks.y) == ["x", "y", "z"]
    default = viz_info_nce.similarity_figure(np.zeros((2, 3)), [0, 2])
    assert list(default.data[0].x) == ["0", "1", "2"] and list(default.data[1].x) == ["0", "2"]
    assert list(default.layout.xaxis.range) == [-0.5, 2.5]  # the cells, no padding
    assert list(default.layout.yaxis.range) == [1.5, -0.5]  # row 0 at the top


@pytest.mark.parametrize(
    ("logits", "positives", "needle"),
    [
        (np.zeros(3), [0], "logits"),
        (np.zeros((2, 2)), [0], "positives"),
        (np.zeros((2, 2)), [0, 2], "positives"),
        (np.zeros((2, 2)), [0, -1], "positives"),
    ],
)
def test_similarity_figure_rejects_bad_input(logits, positives, needle):
    with pytest.raises(ValueError, match=needle):
        viz_info_nce.similarity_figure(logits, positives)


def test_row_losses_figure_bars_colours_and_reference():
    fig = viz_info_nce.row_losses_figure(
        torch.tensor([0.5, 2.0, 1.0]), [True, False, True], ["a0", "a1", "b0"], reference=1.5
    )
    (bars,) = fig.data
    assert bars.type == "bar" and list(bars.y) == [0.5, 2.0, 1.0]
    assert list(bars.x) == ["a0", "a1", "b0"]
    hit, miss = viz_info_nce.HIT, viz_info_nce.MISS
    assert list(bars.marker.color) == [hit, miss, hit]
    assert [s.y0 for s in fig.layout.shapes] == [1.5]
    assert "1.500" in fig.layout.annotations[0].text
    plain = viz_info_nce.row_losses_figure([1.0, 2.0])
    assert plain.data[0].marker.color == hit and not plain.layout.shapes
    with pytest.raises(ValueError, match="top1"):
        viz_info_nce.row_losses_figure([1.0, 2.0], [True])
    with pytest.raises(ValueError, match="labels"):
        viz_info_nce.row_losses_figure([1.0, 2.0], labels=["a"])


def record(n, contender, ms, peak, error=None, d=128, threads=2):
    return {
        "N": n,
        "D": d,
        "contender": contender,
        "threads": threads,
        "ms": ms,
        "peak_mb": peak,
        "rss_mb": None if error else 300.0,
        "gflop": 1.0,
        "gflops": None if error else 10.0,
        "error": error,
    }


RECORDS = [
    record(256, "sslcore", 2.0, 1.0),
    record(256, "torch", 4.0, 5.0),
    record(1024, "sslcore", 20.0, 4.0),
    record(1024, "torch", 60.0, 80.0),
    record(4096, "sslcore", 300.0, 16.0),
    record(4096, "torch", None, None, error="out of memory: the dense logits need ~1.2 GB"),
]


def test_timing_figure_one_line_per_contender_errors_left_out():
    fig = viz_info_nce.timing_figure(RECORDS, "ms", title="t")
    assert [t.name for t in fig.data] == ["sslcore", "torch"]
    assert list(fig.data[0].x) == [256, 1024, 4096] and list(fig.data[0].y) == [2.0, 20.0, 300.0]
    assert list(fig.data[1].x) == [256, 1024]  # torch failed at 4096: no point
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "log"
    assert list(fig.layout.xaxis.tickvals) == [256, 1024, 4096]
    ticks = list(fig.layout.yaxis.tickvals)  # 1-2-5 around 2..300 ms, written out in full
    assert ticks == [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
    assert list(fig.layout.yaxis.ticktext) == ["1", "2", "5", "10", "20", "50", "100", "200", "500"]
    wide = viz_info_nce.timing_figure([record(8, "sslcore", 0.01, 1.0), record(9, "x", 5e4, 1.0)])
    assert list(wide.layout.yaxis.tickvals) == [0.01, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5]
    peak = viz_info_nce.timing_figure(RECORDS, "peak_mb")
    assert list(peak.data[1].y) == [5.0, 80.0] and "MB" in peak.layout.yaxis.title.text
    zero = viz_info_nce.timing_figure([record(8, "sslcore", 1.0, 0.0)], "peak_mb")
    assert not zero.data  # a log axis cannot show 0
    with pytest.raises(ValueError, match="metric"):
        viz_info_nce.timing_figure(RECORDS, "gflops")


def test_timing_figure_names_d_and_threads_where_they_vary():
    records = [record(256, "sslcore", 1.0, 1.0, d=64), record(256, "sslcore", 2.0, 1.0, d=128)]
    records.append(record(512, "sslcore", 3.0, 1.0, d=128, threads=1))
    names = [t.name for t in viz_info_nce.timing_figure(records).data]
    assert names == [
        "sslcore · D=64 · 2 threads",
        "sslcore · D=128 · 2 threads",
        "sslcore · D=128 · 1 thread",
    ]


def test_timing_rows_and_ratios():
    rows = info_nce_records.timing_rows(RECORDS)
    assert [r["ms / step"] for r in rows] == [2.0, 4.0, 20.0, 60.0, 300.0, None]
    assert rows[-1]["error"].startswith("out of memory") and rows[-1]["peak MB"] is None
    ratios = info_nce_records.contender_ratios(RECORDS)
    assert [(r["N"], r["contender"], r["speed"], r["memory"]) for r in ratios] == [
        (256, "torch", 2.0, 5.0),
        (1024, "torch", 3.0, 20.0),
        (4096, "torch", None, None),
    ]
    assert ratios[-1]["error"].startswith("out of memory")
    zero = info_nce_records.contender_ratios(
        [record(8, "sslcore", 1.0, 0.0), record(8, "torch", 2.0, 3.0)]
    )
    assert (zero[0]["speed"], zero[0]["memory"]) == (2.0, None)  # no division by 0


# ---- the benchmark's JSON ----------------------------------------------------------------------


def dump(doc) -> bytes:
    return json.dumps(doc).encode()


def test_parse_benchmark_json_reads_records_with_and_without_errors():
    data = dump(
        {"benchmark": "info_nce", "meta": {"commit": "abc"}, "records": RECORDS, "ratios": []}
    )
    parsed = info_nce_records.parse_benchmark_json(data)
    assert parsed == RECORDS
    minimal = {"N": 8, "D": 4, "contender": "sslcore", "ms": 1, "peak_mb": None, "error": None}
    (only,) = info_nce_records.parse_benchmark_json(dump({"records": [minimal]}))
    assert only["threads"] is None and only["gflops"] is None  # optional numbers default to None
    nan_error = dump({"records": [record(8, "torch", None, None, error="timeout")]}).replace(
        b"null", b"NaN", 1
    )
    assert info_nce_records.parse_benchmark_json(nan_error)[0]["error"] == "timeout"


def with_record(**changes):
    r = record(256, "sslcore", 2.0, 1.0)
    for key, value in changes.items():
        if value is KeyError:
            del r[key]
        else:
            r[key] = value
    return dump({"meta": {}, "records": [RECORDS[0], r]})


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"\xff\xfe{", "not UTF-8"),
        (b'{"records": [', "not valid JSON"),
        (b"", "not valid JSON"),
        (dump([RECORDS[0]]), "JSON object"),
        (dump({"meta": {}}), "missing 'records'"),
        (dump({"benchmark": "augment", "records": RECORDS}), "'augment' benchmark's JSON"),
        (dump({"meta": [], "records": RECORDS}), "'meta' should be an object"),
        (dump({"records": {"N": 1}}), "'records' should be an array"),
        (dump({"records": []}), "'records' is empty"),
        (dump({"records": [1, 2]}), r"records\[0\]: expected an object"),
        (with_record(ms=KeyError, peak_mb=KeyError), r"records\[1\]: missing key\(s\) 'ms', 'p"),
        (with_record(N="256"), r"records\[1\]: 'N' should be an integer"),
        (with_record(N=True), r"'N' should be an integer"),
        (with_record(D=0), r"'D' should be an integer >= 1"),
        (with_record(contender=3), r"'contender' should be a name"),
        (with_record(ms="fast"), r"'ms' should be a number or null"),
        (with_record(gflops=[1]), r"'gflops' should be a number or null"),
        (with_record(error=42), r"'error' should be null or a string, got number"),
        (with_record(ms=None), r"'ms' should be a time >= 0 when 'error' is null"),
        (with_record(ms=-1.0), r"'ms' should be a time >= 0"),
        (with_record(peak_mb=-3), r"'peak_mb' should be >= 0 or null"),
    ],
)
def test_parse_benchmark_json_says_what_is_wrong(data, needle):
    with pytest.raises(ValueError, match=needle):
        info_nce_records.parse_benchmark_json(data)
