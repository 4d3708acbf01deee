#!/bin/sh
# The cluster estimate of bench/MPI.md: time per step of the paper's
# 784-1000-1000-1000-10 net with one rank per node, the gradient exchange
# blocking (one allreduce after the backward pass) or overlapped (three
# buckets started as the backward pass finishes them), on stated networks.
# An analytic model, not a measurement: see bench/MPI.md for its inputs.
#
#   bench/mpi_estimate.sh      prints the Markdown table
set -eu
awk 'BEGIN {
  # compute per step at per-rank batch b (one process on this machine, quiet)
  tc[10] = 3.0; tc[100] = 18.0          # ms
  tlocal = 3.0                          # ms: pack, unpack, the unfused update
  # buckets in the order the backward pass finishes them: bytes, and the
  # fraction of the step s multiply-adds done when the bucket is ready
  # (forward 2.794 M, backward 4.804 M per example; out + h3 ready after
  # 4.814 M, h2 after 6.814 M, h1 at the end)
  nb = 3
  bytes[1] = 4044040; ready[1] = 4.814 / 7.598
  bytes[2] = 4004000; ready[2] = 6.814 / 7.598
  bytes[3] = 3140004; ready[3] = 1
  # networks: payload bandwidth (bytes/ms) and latency (ms) per message
  net[1] = "10 GbE";      beta[1] = 1.1e6; alpha[1] = 0.030
  net[2] = "25 GbE";      beta[2] = 2.8e6; alpha[2] = 0.020
  net[3] = "100 Gb/s IB"; beta[3] = 11e6;  alpha[3] = 0.002
  split("8 64", nodes, " "); split("10 100", batch, " ")
  print "| network | nodes | batch per node | allreduce ms (all 11.2 MB) | step ms, blocking | step ms, overlapped | allreduce ms not hidden, overlapped | examples/s, overlapped | vs 1 node, blocking -> overlapped |"
  print "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for (k = 1; k <= 3; k++) for (i = 1; i <= 2; i++) for (j = 1; j <= 2; j++) {
    N = nodes[i]; b = batch[j]; t = tc[b]
    total = 0; for (q = 1; q <= nb; q++) total += bytes[q]
    ring = 2 * (N - 1) * alpha[k] + 2 * (N - 1) / N * total / beta[k]
    blocking = t + tlocal + ring
    end = 0
    for (q = 1; q <= nb; q++) {           # buckets travel one after another
      start = ready[q] * t; if (end > start) start = end
      end = start + 2 * (N - 1) * alpha[k] + 2 * (N - 1) / N * bytes[q] / beta[k]
    }
    overlapped = (end > t ? end : t) + tlocal
    single = b / t * 1000                 # one fused process, same batch
    printf "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %d | %.1fx -> %.1fx |\n", net[k], N, b,
      ring, blocking, overlapped, overlapped - tlocal - t, N * b / overlapped * 1000,
      N * b / blocking * 1000 / single, N * b / overlapped * 1000 / single
  }
}'
