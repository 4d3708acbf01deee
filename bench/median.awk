# The bench scripts' summary: median(a, key, c) is the median of
# a[key, 1..c] (the mean of the middle two when c is even), and sets the
# globals lo and hi to their smallest and largest.
function median(a, key, c,   i, j, k, s) {
  for (i = 1; i <= c; i++) s[i] = a[key, i]
  for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (s[j] < s[i]) { k = s[i]; s[i] = s[j]; s[j] = k }
  lo = s[1]; hi = s[c]
  return c % 2 ? s[(c + 1) / 2] : (s[c / 2] + s[c / 2 + 1]) / 2
}
