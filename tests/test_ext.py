import os

import pytest
import torch

from sslcore import _ext


def test_extension_present_when_required():
    """With SSLCORE_REQUIRE_EXT=1 (the suite's setting) a missing build must fail the run."""
    if os.environ.get("SSLCORE_REQUIRE_EXT") != "1":
        pytest.skip("SSLCORE_REQUIRE_EXT is not 1")
    assert _ext.extension_available(), _ext.extension_error()


@pytest.mark.skipif(not _ext.extension_available(), reason="extension not built")
def test_build_info_reports_openmp_and_torch():
    info = _ext.build_info()
    assert info["available"] is True and info["error"] is None
    assert info["openmp"] is True and info["openmp_threads"] >= 1
    assert info["torch_version"] == torch.__version__
    assert info["cuda"] == (torch.version.cuda is not None and info["cuda"])
    assert hasattr(torch.ops.sslcore, "images_to_float")


def test_fallback_raises_when_required(monkeypatch):
    monkeypatch.setenv("SSLCORE_REQUIRE_EXT", "1")
    monkeypatch.setattr(_ext, "extension_error", lambda: "ImportError: simulated")
    _ext.warn_fallback.cache_clear()
    with pytest.raises(RuntimeError, match="SSLCORE_REQUIRE_EXT=1"):
        _ext.warn_fallback()


def test_fallback_warns_once_otherwise(monkeypatch):
    monkeypatch.setenv("SSLCORE_REQUIRE_EXT", "0")
    _ext.warn_fallback.cache_clear()
    with pytest.warns(_ext.ExtensionFallbackWarning, match="pure-PyTorch"):
        _ext.warn_fallback()
    _ext.warn_fallback.cache_clear()
