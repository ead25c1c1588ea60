"""uint8 -> normalised float32: the fused op vs pure PyTorch vs kornia, side by side.

python benchmarks/bench_images_to_float.py [--device cpu|cuda] [--json out.json]
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.common import dump, median_seconds, metadata
from sslcore import ops

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
SHAPES = [(512, 3, 32, 32), (256, 3, 96, 96), (64, 3, 224, 224)]


def contenders(x: torch.Tensor) -> dict:
    mean = torch.tensor(MEAN, device=x.device)
    std = torch.tensor(STD, device=x.device)
    scale = (1.0 / (255.0 * std)).view(1, -1, 1, 1)
    shift = (-mean / std).view(1, -1, 1, 1)
    buffer = torch.empty(x.shape, device=x.device)
    out = {
        "sslcore": lambda: ops.images_to_float(x, MEAN, STD),
        "sslcore (out=)": lambda: ops.images_to_float(x, MEAN, STD, out=buffer),
        "pytorch": lambda: ops.reference_images_to_float(x, MEAN, STD),
        # The tightest pure-PyTorch form: one cast, then scale and shift in place.
        "pytorch in-place": lambda: x.float().mul_(scale).add_(shift),
    }
    try:
        import kornia

        out["kornia"] = lambda: kornia.enhance.normalize(x.float().div_(255.0), mean, std)
    except ImportError:
        pass
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--json", help="write results here")
    parser.add_argument("--min-run-time", type=float, default=0.5)
    args = parser.parse_args()

    rows = []
    print(f"{'batch':>20} {'contender':>16} {'img/s':>12} {'GB/s':>7} {'vs pytorch':>10}")
    for shape in SHAPES:
        x = torch.randint(0, 256, shape, dtype=torch.uint8, device=args.device)
        times = {name: median_seconds(fn, args.min_run_time) for name, fn in contenders(x).items()}
        traffic = x.numel() * (1 + 4)  # bytes read + written by an ideal single pass
        for name, t in times.items():
            ratio = times["pytorch"] / t
            rows.append(
                {
                    "shape": shape,
                    "contender": name,
                    "seconds": t,
                    "images_per_s": shape[0] / t,
                    "gb_per_s": traffic / t / 1e9,
                    "speedup_vs_pytorch": ratio,
                }
            )
            print(
                f"{'x'.join(map(str, shape)):>20} {name:>16} {shape[0] / t:>12,.0f} "
                f"{traffic / t / 1e9:>7.2f} {ratio:>9.2f}x"
            )
    dump(args.json, {"benchmark": "images_to_float", "meta": metadata(args.device), "rows": rows})


if __name__ == "__main__":
    main()
