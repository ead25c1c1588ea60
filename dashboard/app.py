"""sslcore dashboard: the router. Start it with `bash scripts/run.sh dashboard`.

Pages live in app_pages/ (one thin file per view); this file sets the page config, the shared
sidebar and the navigation only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

from dashboard import share, state  # noqa: E402
from sslcore import __version__  # noqa: E402
from sslcore._ext import build_info  # noqa: E402

st.set_page_config(page_title="sslcore", page_icon="🔬", layout="wide")
state.init()

PAGES = [
    st.Page(
        "app_pages/paradigms.py",
        title="Paradigms",
        icon=":material/school:",
        url_path="paradigms",
        default=True,
    ),
    st.Page("app_pages/data_explorer.py", title="Data", icon=":material/dataset:", url_path="data"),
    st.Page("app_pages/views.py", title="Views", icon=":material/filter:", url_path="views"),
    st.Page(
        "app_pages/pseudolabels.py",
        title="Pseudolabels",
        icon=":material/label:",
        url_path="pseudolabels",
    ),
    st.Page(
        "app_pages/train.py", title="Train", icon=":material/model_training:", url_path="train"
    ),
    st.Page(
        "app_pages/gradient_descent.py",
        title="Gradient descent",
        icon=":material/trending_down:",
        url_path="gradient-descent",
    ),
    st.Page(
        "app_pages/embeddings.py",
        title="Embeddings",
        icon=":material/scatter_plot:",
        url_path="embeddings",
    ),
    st.Page("app_pages/theory.py", title="Theory", icon=":material/insights:", url_path="theory"),
    st.Page(
        "app_pages/loss_kernel.py",
        title="Loss kernel",
        icon=":material/functions:",
        url_path="loss-kernel",
    ),
]
navigation = st.navigation(PAGES)
notices = share.restore(navigation.url_path or "paradigms")  # a shared link: its settings first

with st.sidebar:
    info = build_info()
    kernel = "C++ kernels" if info["available"] else "pure-PyTorch fallback"
    st.caption(
        f"sslcore {__version__} · {kernel}"
        + (f" · OpenMP {info['openmp_threads']} threads" if info["openmp"] else "")
    )

navigation.run()
share.publish(navigation.url_path or "paradigms", notices)  # the URL now reopens this view
