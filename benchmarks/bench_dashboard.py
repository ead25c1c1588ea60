"""First-render time of every dashboard page through AppTest, cold and after the first load.

python -m benchmarks.bench_dashboard [--json PATH] [--runs STORE] [--repeat 3]

For each page: a fresh AppTest session opens the app and switches to the page; "cold" is that
first render (caches empty in this process for that page's work), "warm" the median of
`--repeat` renders in new sessions after it (what a second visitor sees: st.cache_data and
st.cache_resource are shared by all sessions). Pages that show runs read `--runs` (default: a
temporary store with one small finished run, made first). The target is warm <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import dump, metadata

ENTRY = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGES = (
    "paradigms",
    "data_explorer",
    "views",
    "pseudolabels",
    "train",
    "gradient_descent",
    "embeddings",
    "theory",
    "loss_kernel",
)


def _small_run(root: str) -> None:
    from sslcore.config import PretrainConfig
    from sslcore.runs import RunStore
    from sslcore.train.pretrain import pretrain

    config = PretrainConfig(
        task="rotation", data_options={"n": 2000}, steps=20, eval_every=10, checkpoint_every=10
    )
    pretrain(config, store=RunStore(root), progress=False)


def render(page: str) -> float:
    """Seconds to open the app in a new session and render `page`."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ENTRY), default_timeout=600)
    began = time.perf_counter()
    at.run()
    if page != "paradigms":  # the first page
        at.switch_page(f"app_pages/{page}.py").run()
    seconds = time.perf_counter() - began
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--runs", help="run store the run pages read (default: a small new one)")
    parser.add_argument("--repeat", type=int, default=3, help="warm renders per page")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat: expected >= 1, got {args.repeat}")
    root = args.runs or tempfile.mkdtemp(prefix="bench_dashboard_")
    if not args.runs:
        print(f"making a small run in {root} …", flush=True)
        _small_run(root)
    os.environ["SSLCORE_RUNS"] = root
    records = []
    print(f"{'page':>18} {'cold s':>8} {'warm s':>8}")
    for page in PAGES:
        cold = render(page)
        warm = statistics.median(render(page) for _ in range(args.repeat))
        records.append({"page": page, "cold_seconds": cold, "warm_seconds": warm})
        flag = "" if warm <= 2.0 else "  (over 2 s)"
        print(f"{page:>18} {cold:>8.2f} {warm:>8.2f}{flag}", flush=True)
    dump(args.json, {"benchmark": "dashboard", "meta": metadata("cpu"), "records": records})
    return 0


if __name__ == "__main__":
    sys.exit(main())
