#!/usr/bin/env python3
"""PyTorch on the CPU doing what bench/bench.c times for sparsec: the paper's
784-1000-1000-1000-10 rectifier net, softmax + NLL plus the L1 penalty on
every hidden layer's activations (lambda/n sum |h|), plain SGD, starting from
the same safetensors checkpoint, on the same Fashion-MNIST minibatches
(consecutive examples; the weights are reset to the checkpoint before each
timed burst). Prints one line per measurement for bench.c to parse:

  torch settings threads=T omp=O blas=B wait=W
  torch train threads=T batch=B eps=X min=LO max=HI n=N
  torch infer threads=T batch=B latency_us=X eps=Y lat_min=.. lat_max=.. eps_min=.. eps_max=.. n=N
  torch maxrss_kb=K

or `torch skipped: REASON` when PyTorch is absent. Debian 12: apt-get
install python3-torch (for /usr/bin/python3).

Threads (bench/README.md, "PyTorch's settings"): each thread count runs in a
process of its own, started with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
OMP_WAIT_POLICY in its environment, so that libgomp (torch's intra-op pool)
and OpenBLAS (Debian's torch calls libblas.so.3 = OpenBLAS, pthreads build)
read them when they load, before any thread exists; torch.set_num_threads
is then called once, with the same number, and never changed. The default
wait policy is PASSIVE: with libgomp's default (spin about 300k rounds after
each parallel region) torch's idle OpenMP worker spins on one of the two
cores while OpenBLAS's worker and the next region's threads need it, and on
a loaded machine every OpenMP barrier then waits for a time slice: 2 threads
ran 10x slower than 1 (the issue's 210 / 670 / 440 examples/s).
"""
import argparse
import ctypes
import gzip
import json
import os
import resource
import statistics
import struct
import subprocess
import sys
import time

np = torch = None  # imported in the measuring process only (import_torch)


def import_torch():
    global np, torch
    try:
        import numpy
        import torch as t
    except ImportError as e:  # the bench goes on without PyTorch
        print(f"torch skipped: {e} (Debian: apt-get install python3-torch)", flush=True)
        sys.exit(0)
    np, torch = numpy, t

LAYERS = ["h1", "h2", "h3", "out"]


def set_threads(omp, blas):
    """Once per process, after the environment set them already: torch's
    intra-op threads, and those of the OpenBLAS actually loaded under it
    (found in /proc/self/maps: the library torch calls, not another copy)."""
    torch.set_num_threads(omp)
    for line in open("/proc/self/maps"):
        path = line.split()[-1]
        if "openblas" in os.path.basename(path) and ".so" in path:
            try:
                ctypes.CDLL(path).openblas_set_num_threads(blas)
                return path
            except (OSError, AttributeError):
                pass
    return "none"


def child_env(threads, omp, blas, wait):
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(omp), OPENBLAS_NUM_THREADS=str(blas), MKL_NUM_THREADS=str(omp),
               TORCH_BENCH_CHILD="1")
    if wait:
        env["OMP_WAIT_POLICY"] = wait
    else:
        env.pop("OMP_WAIT_POLICY", None)
    return env


def stats(xs):
    return statistics.median(xs), min(xs), max(xs), len(xs)


def own_peak_kb():
    """VmHWM: this process's own peak (ru_maxrss may include a forked parent's)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def load_checkpoint(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        data = np.frombuffer(raw[8 + n + start:8 + n + end], dtype=np.float32)
        out[name] = torch.from_numpy(data.reshape(info["shape"]).copy())
    return out


def load_idx(images, labels, scale=1 / 255):
    img = gzip.open(images).read()
    count, rows, cols = struct.unpack(">III", img[4:16])
    x = np.frombuffer(img[16:], dtype=np.uint8).reshape(count, rows * cols).astype(np.float32) * scale
    y = np.frombuffer(gzip.open(labels).read()[8:], dtype=np.uint8).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


class Net:
    """x @ W + b per layer, W [in x out] as sparsec stores it."""

    def __init__(self, ckpt, l1):
        self.ckpt = ckpt
        self.l1 = l1
        self.params = [ckpt[f"{l}.{p}"].clone().requires_grad_(True) for l in LAYERS for p in "wb"]
        self.opt = torch.optim.SGD(self.params, lr=0.01)

    def reset(self):
        with torch.no_grad():
            for t, (l, p) in zip(self.params, [(l, p) for l in LAYERS for p in "wb"]):
                t.copy_(self.ckpt[f"{l}.{p}"])

    def forward(self, x):
        hidden = []
        h = x
        for k in range(3):
            h = torch.relu(h @ self.params[2 * k] + self.params[2 * k + 1])
            hidden.append(h)
        return h @ self.params[6] + self.params[7], hidden

    def train_step(self, x, y):
        logits, hidden = self.forward(x)
        n = x.shape[0]
        loss = torch.nn.functional.cross_entropy(logits, y)
        for h in hidden:
            loss = loss + self.l1 / n * h.abs().sum()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def infer(self, x):
        with torch.inference_mode():
            logits, _ = self.forward(x)
            return torch.softmax(logits, dim=1)


def batches(x, y, batch, count, start=0):
    n = x.shape[0]
    for s in range(count):
        i = (start + s * batch) % (n - batch)
        yield x[i:i + batch], y[i:i + batch]


def measure(a, threads):
    """One thread count, in this process (started by main with the environment)."""
    import_torch()
    torch.set_num_interop_threads(1)
    omp = a.omp_threads or threads
    blas = a.blas_threads or threads
    lib = set_threads(omp, blas)
    print(f"torch settings threads={threads} omp={omp} blas={blas} "
          f"wait={os.environ.get('OMP_WAIT_POLICY', 'default')} torch={torch.__version__} blaslib={lib}", flush=True)
    net = Net(load_checkpoint(a.checkpoint), a.l1)
    if a.memory:  # what bench/memory.c does: synthetic input, batch 128
        x = torch.rand(1280, 784) * (torch.rand(1280, 784) < 0.5)
        y = torch.randint(0, 10, (1280,))
        for xb, yb in batches(x, y, 128, 10):
            net.train_step(xb, yb)
        for xb, yb in batches(x, y, 128, 10):
            net.infer(xb)
        print(f"torch maxrss_kb={own_peak_kb()}", flush=True)
        return
    train_x, train_y = load_idx(f"{a.data}/train-images-idx3-ubyte.gz", f"{a.data}/train-labels-idx1-ubyte.gz")
    test_x, test_y = load_idx(f"{a.data}/t10k-images-idx3-ubyte.gz", f"{a.data}/t10k-labels-idx1-ubyte.gz")
    for batch in [int(b) for b in a.batches.split(",")]:
        if batch > 1:  # batch 1 is inference only
            rates = []
            for rep in range(a.reps):
                net.reset()
                steps = max(1, a.burst // batch)
                for xb, yb in batches(train_x, train_y, batch, 2, rep * 7919):
                    net.train_step(xb, yb)  # warm up
                t0 = time.perf_counter()
                for xb, yb in batches(train_x, train_y, batch, steps, rep * 7919 + 2 * batch):
                    net.train_step(xb, yb)
                rates.append(steps * batch / (time.perf_counter() - t0))
            med, lo, hi, n = stats(rates)
            print(f"torch train threads={threads} batch={batch} eps={med:.1f} min={lo:.1f} max={hi:.1f} n={n}",
                  flush=True)
        net.reset()
        lats, rates = [], []
        for rep in range(a.reps):
            calls = max(20, a.burst // batch)
            times = []
            for xb, _ in batches(test_x, test_y, batch, calls, rep * 104729):
                t0 = time.perf_counter()
                net.infer(xb)
                times.append(time.perf_counter() - t0)
            lats.append(statistics.median(times))
            rates.append(calls * batch / sum(times))
        lat, lat_lo, lat_hi, n = stats(lats)
        eps, eps_lo, eps_hi, _ = stats(rates)
        print(f"torch infer threads={threads} batch={batch} latency_us={lat * 1e6:.1f} eps={eps:.1f} "
              f"lat_min={lat_lo * 1e6:.1f} lat_max={lat_hi * 1e6:.1f} eps_min={eps_lo:.1f} eps_max={eps_hi:.1f} "
              f"n={n}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--batches", default="1,10,32,128")
    ap.add_argument("--threads", default="1,2", help="thread counts, each in a process of its own")
    ap.add_argument("--omp-threads", type=int, default=0, help="torch/OpenMP threads (default: --threads)")
    ap.add_argument("--blas-threads", type=int, default=0, help="OpenBLAS threads (default: --threads)")
    ap.add_argument("--wait-policy", default="PASSIVE",
                    help="OMP_WAIT_POLICY for libgomp (PASSIVE, ACTIVE; '' for libgomp's default)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--burst", type=int, default=1280, help="examples per timed burst")
    ap.add_argument("--l1", type=float, default=0.001)
    ap.add_argument("--memory", action="store_true", help="only peak memory at batch 128, 1 thread")
    a = ap.parse_args()
    counts = [1] if a.memory else [int(t) for t in a.threads.split(",")]
    if os.environ.get("TORCH_BENCH_CHILD") == "1" and len(counts) == 1:
        measure(a, counts[0])
        return
    for t in counts:  # a fresh process per thread count, its threads set before torch loads
        args = [a for a in sys.argv[1:]]
        if "--threads" in args:
            i = args.index("--threads")
            del args[i:i + 2]
        env = child_env(t, a.omp_threads or t, a.blas_threads or t, a.wait_policy)
        rc = subprocess.run([sys.executable, os.path.abspath(__file__)] + args + ["--threads", str(t)],
                            env=env).returncode
        if rc != 0:
            sys.exit(rc)


if __name__ == "__main__":
    main()
