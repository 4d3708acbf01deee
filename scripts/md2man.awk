# md2man.awk: the Markdown of docs/ as a manual page, so that a man page made
# from a document (sparsec-spec(5) from docs/language.md) never differs from
# it. Knows what docs/ uses: headings, paragraphs, ``` blocks, indented
# blocks, tables, bullets, `code`, **bold**, [links](...).
#   awk -v name=SPARSEC-SPEC -v section=5 -v title="..." -f md2man.awk FILE.md
function escape(s) {
  gsub(/\\/, "\\e", s)
  gsub(/-/, "\\-", s)
  return s
}
# Inline markup: `code` and **bold** in bold; links keep their text.
function inline(s,    out, m) {
  s = escape(s)
  while (match(s, /\[[^]]*\]\([^)]*\)/)) {
    m = substr(s, RSTART, RLENGTH)
    sub(/\]\(.*/, "", m)
    s = substr(s, 1, RSTART - 1) substr(m, 2) substr(s, RSTART + RLENGTH)
  }
  while (match(s, /`[^`]*`/))
    s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 1, RLENGTH - 2) "\\fR" substr(s, RSTART + RLENGTH)
  while (match(s, /\*\*[^*]*\*\*/))
    s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 2, RLENGTH - 4) "\\fR" substr(s, RSTART + RLENGTH)
  return line_start(s)
}
# A line starting with . or ' would be a request.
function line_start(s) {
  return s ~ /^[.']/ ? "\\&" s : s
}
function literal(s) {
  return line_start(escape(s))
}
# A table row: cells joined by tabs, for tbl.
function row(s,    n, cells, i, out) {
  gsub(/\\\|/, "\001", s)
  sub(/^ *\| */, "", s); sub(/ *\| *$/, "", s)
  n = split(s, cells, / *\| */)
  out = ""
  for (i = 1; i <= n; i++) {
    gsub("\001", "|", cells[i])
    out = out (i > 1 ? "\t" : "") "T{\n" inline(cells[i]) "\nT}"
  }
  return out
}
function end_table() {
  if (in_table) print ".TE"
  in_table = 0
}
BEGIN {
  print ".\\\" Generated from docs/language.md by scripts/md2man.awk: edit that file."
  printf ".TH %s %s 2026 sparsec \"File Formats\"\n", name, section
  print ".SH NAME"
  print escape(tolower(name)) " \\- " title
  print ".SH DESCRIPTION"
}
/^```/ { if (in_code) { print ".fi"; print ".RE"; in_code = 0 } else { end_table(); print ".PP"; print ".RS 4"; print ".nf"; in_code = 1 }; next }
in_code { print literal($0); next }
/^# / { next }
/^## / { end_table(); sub(/^## /, ""); gsub(/`/, ""); print ".SH " toupper(escape($0)); next }
/^\|/ {
  if ($0 ~ /^\| *-/) next
  if (!in_table) { print ".TS"; print "allbox tab(\t);"; cols = gsub(/\|/, "|") - 1; fmt = ""; for (i = 0; i < cols; i++) fmt = fmt (i ? " " : "") (i < cols - 1 ? "l" : "lx"); print fmt "."; in_table = 1 }
  print row($0); next
}
{ end_table() }
/^ *$/ { print ".PP"; next }
/^    / { sub(/^    /, ""); print ".RS 4"; print ".nf"; print literal($0); print ".fi"; print ".RE"; next }
/^- / { sub(/^- /, ""); print ".IP \\(bu 2"; print inline($0); next }
{ sub(/^ +/, ""); print inline($0) }
END { end_table() }
