"""Side-by-side kernel benchmarks: ours vs pure PyTorch vs kornia (see README.md)."""
