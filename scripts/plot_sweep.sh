#!/bin/sh
# Draws the sparsity sweep (the analogue of Figure 3 of Glorot, Bordes &
# Bengio 2011) as SVG: test error against mean hidden sparsity, one point
# per L1 coefficient, labelled with it. The error axis is logarithmic when
# the errors span more than a factor of 3 (a collapsed run at 50% would
# otherwise squash the interesting ones into the bottom of the plot).
#   scripts/plot_sweep.sh SWEEP.tsv "TITLE" > plot.svg
# SWEEP.tsv: one line per run, tab-separated: l1, mean sparsity (%), test error (%).
set -eu

[ $# -eq 2 ] || { echo "usage: $0 SWEEP.tsv TITLE" >&2; exit 2; }
[ -s "$1" ] || { echo "plot_sweep: $1: no sweep results to draw" >&2; exit 1; }

awk -F '\t' -v title="$2" '
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); return s }
# A "nice" tick step for a range: 1, 2 or 5 times a power of ten, about 5 ticks.
function step(range,   raw, p) {
  raw = range / 5; p = 1
  while (p * 10 <= raw) p *= 10
  while (p > raw) p /= 10
  if (raw / p >= 5) return 5 * p
  if (raw / p >= 2) return 2 * p
  return p
}
function floor_to(x, s) { return s * int(x / s - (x < 0 && x / s != int(x / s))) }
function px(x) { return L + (x - x0) / (x1 - x0) * (W - L - R) }
function ty(y) { return logy ? log(y) : y }
function py(y) { return H - B - (ty(y) - ty(y0)) / (ty(y1) - ty(y0)) * (H - T - B) }
# Log-axis ticks: 1, 1.5, 2, 3, 5, 7 times powers of ten; nice_at(i) is the i-th.
function nice_at(i,   m) { split("1 1.5 2 3 5 7", m, " "); return m[i % 6 + 1] * 10 ^ int(i / 6 - (i < 0 && i % 6 != 0)) }
function nice_index(v,   i) { i = 6 * int(log(v) / log(10) - (v < 1)); while (nice_at(i + 1) <= v) i++; while (nice_at(i) > v) i--; return i }
NF >= 3 && $1 != "" {
  n++; l1[n] = $1; xs[n] = $2 + 0; ys[n] = $3 + 0
  if (n == 1 || xs[n] < xmin) xmin = xs[n]; if (n == 1 || xs[n] > xmax) xmax = xs[n]
  if (n == 1 || ys[n] < ymin) ymin = ys[n]; if (n == 1 || ys[n] > ymax) ymax = ys[n]
}
END {
  if (n == 0) { print "plot_sweep: no points" > "/dev/stderr"; exit 1 }
  W = 640; H = 420; L = 70; R = 30; T = 50; B = 60
  # axes: a little room around the points, ticks at round values
  sx = step(xmax - xmin > 1 ? xmax - xmin : 10); sy = step(ymax - ymin > 1 ? ymax - ymin : 5)
  x0 = floor_to(xmin - sx / 2, sx); x1 = floor_to(xmax + 1.5 * sx, sx)
  if (x0 < 0) x0 = 0; if (x1 > 100) x1 = 100
  logy = ymin > 0 && ymax / ymin > 3
  if (logy) {
    lo = nice_index(ymin * 0.95); hi = nice_index(ymax * 1.05) + 1
    y0 = nice_at(lo); y1 = nice_at(hi)
  } else {
    y0 = floor_to(ymin - sy / 2, sy); y1 = floor_to(ymax + sy, sy)
    if (y0 < 0) y0 = 0
  }
  printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H
  printf "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H
  printf "<text x=\"%d\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", W / 2, esc(title)
  for (v = x0; v <= x1 + sx / 1000; v += sx) {
    printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", px(v), T, px(v), H - B
    printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px(v), H - B + 18, v
  }
  ny = 0
  if (logy) for (i = lo; i <= hi; i++) yt[++ny] = nice_at(i)
  else for (v = y0; v <= y1 + sy / 1000; v += sy) yt[++ny] = v
  for (i = 1; i <= ny; i++) {
    printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, py(yt[i]), W - R, py(yt[i])
    printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 8, py(yt[i]) + 4, yt[i]
  }
  printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>\n", L, T, W - L - R, H - T - B
  printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">mean hidden sparsity: activations exactly 0 (%%)</text>\n", (L + W - R) / 2, H - 18
  printf "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 18 %d)\">test error (%%%s)</text>\n", (T + H - B) / 2, (T + H - B) / 2, logy ? ", log scale" : ""
  # points joined in L1 order, each labelled with its coefficient:
  path = ""
  for (i = 1; i <= n; i++) path = path sprintf("%s%.1f,%.1f", i == 1 ? "" : " ", px(xs[i]), py(ys[i]))
  printf "<polyline points=\"%s\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>\n", path
  for (i = 1; i <= n; i++) {
    printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>\n", px(xs[i]), py(ys[i])
    # labels alternate above and below the line, so that close points stay readable
    printf "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">L1 %s</text>\n", px(xs[i]) + 6, py(ys[i]) + (i % 2 ? -8 : 16), esc(l1[i])
  }
  print "</svg>"
}' "$1"
