#!/bin/sh
# Makes data/debian-text/ (ignored by git; docs/text-data.md): the English
# descriptions of Debian's packages, labelled by archive section (the 10
# largest), as binary bag-of-words vectors over 5000 terms in libsvm format:
#   train.svm valid.svm test.svm   `LABEL INDEX:1 ...`, indices 1..5000 ascending
#   train_valid.svm                train.svm then valid.svm: a spec's training set
#                                  whose last rows (`validation = 3433`) are held out
#   train.names valid.names ...    the package of each row, in the same order
#   classes.txt                    line 1 = label 0, line 2 = label 1, ...
#   vocab.txt                      line i = feature index i
#   records.tsv                    the input: one line per package, sorted by
#                                  name: PACKAGE TAB SOURCE TAB SECTION TAB DESCRIPTION
#   MANIFEST                       counts, density, where the records came from, sha256s
# The records come from apt's package lists: `apt-cache dumpavail` (one record
# per package) and the Translation-en indexes (the long descriptions); if
# either is missing the script runs `apt-get update -o Acquire::Languages=en`
# (as root or through sudo). The text work is scripts/debian_text.py (Debian's
# /usr/bin/python3, standard library only).
#
# Pins: scripts/debian-text.sha256 holds the sha256 of records.tsv (the input)
# and of every output, as made when the pins were committed. The archive
# changes under the script (a Debian point release rewrites the package
# lists): if records.tsv differs from the pin, the script stops (status 3)
# unless given --accept-new-archive, which makes the data anyway and says in
# the MANIFEST that it is not the pinned data. If records.tsv matches but an
# output does not, the script has a bug: it stops (status 1).
# Idempotent (data that match the pins are kept) and atomic (everything is
# made in a temporary folder under data/ and renamed into place).
#
#   scripts/get-text-data.sh [--accept-new-archive | --write-pins]
#   --write-pins: also rewrite scripts/debian-text.sha256 from this run (to
#   re-pin on purpose; every result on the old data is then out of date)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA="$ROOT/data"
OUT="$DATA/debian-text"
PINS="$ROOT/scripts/debian-text.sha256"
CLASSES=10
VOCAB=5000
FILES="records.tsv train.svm valid.svm train_valid.svm test.svm train.names valid.names test.names classes.txt vocab.txt"

say() { echo "get-data: $*"; }
die() { echo "get-data: error: $*" >&2; exit 1; }

ACCEPT=0
WRITE_PINS=0
for arg; do
  case $arg in
    --accept-new-archive) ACCEPT=1 ;;
    --write-pins) ACCEPT=1; WRITE_PINS=1 ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "get-data: unknown option '$arg' (--accept-new-archive, --write-pins)" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

# The pinned hash of FILE, from scripts/debian-text.sha256
pin() {
  [ -r "$PINS" ] || return 0
  awk -v f="$1" '!/^#/ && $2 == f { print $1 }' "$PINS"
}

# 0 if every file of data/debian-text matches its pin (and the MANIFEST
# does not say otherwise: data made with --accept-new-archive are remade)
matches_pins() {
  [ -r "$PINS" ] && [ -f "$OUT/MANIFEST" ] || return 1
  ! grep -q '^NOT THE PINNED DATA' "$OUT/MANIFEST" || return 1
  (cd "$OUT" && grep -v '^#' "$PINS" | sha256sum --quiet --strict -c - >/dev/null 2>&1)
}

if [ $WRITE_PINS -eq 0 ] && matches_pins; then
  say "data/debian-text: present, matches the pins ($(sed -n 's/^ *total *[0-9]* *//p' "$OUT/MANIFEST" |
    awk '{ printf "%s train, %s validation, %s test", $1, $2, $3 }'))"
  exit 0
fi

start=$(date +%s)
# Debian's python3 (scripts/install-deps.sh installs it), not another one
# earlier on the PATH: the pins were made with it.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || {
  say "$PYTHON is missing: installing Debian's python3"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3
}
HELPER=/usr/lib/apt/apt-helper
[ -x "$HELPER" ] || die "$HELPER is missing (it comes with apt)"

# The index files apt holds: Packages (one per suite and component) and
# their English descriptions. Docker's Debian images set
# Acquire::Languages "none", so the translations are not there by default.
# shellcheck disable=SC2016 # $(FILENAME) is apt's, not the shell's
packages_lists() { apt-get indextargets --format '$(FILENAME)' 'Identifier: Packages'; }
# shellcheck disable=SC2016
translation_lists() {
  apt-get -o Acquire::Languages=en indextargets --format '$(FILENAME)' \
    'Identifier: Translations' 'Language: en'
}
np=$(packages_lists | wc -l)
nt=$(translation_lists | wc -l)
if [ "$np" -eq 0 ] || [ "$nt" -lt "$np" ]; then
  say "apt has $np package lists and $nt English description lists (Translation-en): running"
  say "  apt-get update -o Acquire::Languages=en"
  say "  (it refreshes every package list in /var/lib/apt/lists and adds Translation-en, about 7 MB)"
  as_root apt-get update -qq -o Acquire::Languages=en
  np=$(packages_lists | wc -l)
  nt=$(translation_lists | wc -l)
  [ "$np" -gt 0 ] || die "apt has no package lists after apt-get update (see /etc/apt/sources.list.d/)"
  [ "$nt" -gt 0 ] || die "apt has no Translation-en lists after apt-get update -o Acquire::Languages=en"
  [ "$nt" -ge "$np" ] || say "warning: $np package lists but only $nt Translation-en lists"
fi

mkdir -p "$DATA"
work=$(mktemp -d "$DATA/.debian-text.XXXXXX")
# On any exit: the temporary folder goes; an old data/debian-text renamed
# away but not yet replaced comes back.
cleanup() {
  if [ -d "$work/old" ] && [ ! -e "$OUT" ]; then mv "$work/old" "$OUT"; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$work/out" "$work/no-preferences"

# One record per package: apt's candidate version, from the package lists
# alone: the installed packages (dpkg's status file) and apt preferences
# are left out, so the candidate is the highest version in the lists.
say "reading the package records (apt-cache dumpavail) and $nt Translation-en lists"
apt-cache -o Dir::State::status=/dev/null -o Dir::Etc::Preferences=/dev/null \
  -o Dir::Etc::PreferencesParts="$work/no-preferences" dumpavail >"$work/avail"
translation_lists | while read -r f; do
  "$HELPER" cat-file "$f"
  echo
done >"$work/translations"
"$PYTHON" "$ROOT/scripts/debian_text.py" records "$work/avail" "$work/translations" \
  >"$work/out/records.tsv" 2>"$work/records.log" || { cat "$work/records.log" >&2; exit 1; }
# how many records the lists hold before dumpavail keeps one per package
# (a package of bookworm-updates or bookworm-security is in bookworm too)
listed=$(packages_lists | while read -r f; do "$HELPER" cat-file "$f"; done | grep -c '^Package:' || true)
{ printf '%s records in the %s package lists; ' "$listed" "$np"; cat "$work/records.log"; } >"$work/read.log"
say "$(cat "$work/read.log")"
rm -f "$work/avail" "$work/translations"

input=$(sha256sum "$work/out/records.tsv" | cut -d' ' -f1)
pinned=$(pin records.tsv)
releases=$(apt-cache policy | sed -n 's/^ *release \(v=[^,]*\),o=\([^,]*\),a=[^,]*,n=\([^,]*\),.*/\2 \3 \1/p' | sort)
CHANGED=0
if [ -z "$pinned" ] && [ $WRITE_PINS -eq 0 ]; then
  die "scripts/debian-text.sha256 has no pin for records.tsv (--write-pins makes the pins)"
fi
if [ "$input" != "$pinned" ]; then
  CHANGED=1
  {
    echo "get-data: ****************************************************************"
    echo "get-data: the package records differ from the pinned ones"
    echo "get-data:   records.tsv now:    $input"
    echo "get-data:   records.tsv pinned: ${pinned:-(none: no $PINS)}"
    echo "get-data: the archive changed (a point release or a security update), or apt"
    echo "get-data: reads other sources than when the pins were made. Package lists now:"
    echo "$releases" | sed 's/^/get-data:   /'
  } >&2
  if [ $ACCEPT -eq 0 ]; then
    echo "get-data: stopping; --accept-new-archive makes the data anyway (results on it are" >&2
    echo "get-data: not comparable with those on the pinned data)" >&2
    echo "get-data: ****************************************************************" >&2
    exit 3
  fi
  if [ $WRITE_PINS -eq 1 ]; then
    echo "get-data: --write-pins: making the data and pinning them anew" >&2
  else
    echo "get-data: --accept-new-archive: making the data anyway; they are NOT the pinned" >&2
    echo "get-data: data, and results on them are not comparable with the committed ones" >&2
  fi
  echo "get-data: ****************************************************************" >&2
fi

say "labels, split, vocabulary ($CLASSES classes, $VOCAB terms)"
"$PYTHON" "$ROOT/scripts/debian_text.py" build "$work/out/records.tsv" "$work/out" \
  --classes $CLASSES --vocab $VOCAB >"$work/stats"
cat "$work/out/train.svm" "$work/out/valid.svm" >"$work/out/train_valid.svm"
# shellcheck disable=SC2086
(cd "$work/out" && sha256sum $FILES) >"$work/sums"

if [ $CHANGED -eq 0 ] && [ $WRITE_PINS -eq 0 ]; then
  # the files whose hash differs from the pin (sha256sum -c: "FILE: FAILED")
  bad=$(grep -v '^#' "$PINS" | (cd "$work/out" && sha256sum --strict -c - 2>/dev/null) |
    grep -v ': OK$' || true)
  if [ -n "$bad" ]; then
    echo "$bad" | sed 's/^/get-data:   /' >&2
    die "the input matches the pins but these outputs do not: a bug in scripts/get-text-data.sh or scripts/debian_text.py (or a python3 that differs)"
  fi
fi

{
  echo "data/debian-text: Debian package descriptions labelled by section (docs/text-data.md)"
  echo "made by scripts/get-text-data.sh on $(date -u '+%Y-%m-%d %H:%M UTC')"
  if [ $CHANGED -eq 1 ] && [ $WRITE_PINS -eq 1 ]; then
    echo "re-pinned (--write-pins): scripts/debian-text.sha256 was rewritten from this run"
  elif [ $CHANGED -eq 1 ]; then
    echo
    echo "NOT THE PINNED DATA (--accept-new-archive): the package records differ from"
    echo "the pinned ones, and results on these data are not comparable with results"
    echo "on the pinned data."
    echo "  records.tsv now:    $input"
    echo "  records.tsv pinned: ${pinned:-none} (scripts/debian-text.sha256)"
  fi
  echo
  echo "package lists read (origin, suite, version):"
  echo "$releases" | sed 's/^/  /'
  fold -s -w 78 "$work/read.log" | sed 's/ *$//'
  echo
  cat "$work/stats"
  echo
  echo "sha256 (records.tsv is the input: the sorted, filtered records):"
  sed 's/^/  /' "$work/sums"
} >"$work/out/MANIFEST"

if [ $WRITE_PINS -eq 1 ]; then
  {
    echo "# sha256 of data/debian-text/ as made by scripts/get-text-data.sh (docs/text-data.md);"
    echo "# records.tsv is the input (the package records read from apt)."
    cat "$work/sums"
  } >"$work/pins"
  mv "$work/pins" "$PINS"
  say "wrote $(basename "$PINS") (scripts/)"
fi

# Into place by renames: data/debian-text never holds a mix of old and new
# files, nor a file half-written.
if [ -e "$OUT" ]; then
  mv "$OUT" "$work/old"
fi
mv "$work/out" "$OUT"
rm -rf "$work"
trap - EXIT
sed -n '/^label  section/,/^ *total/p' "$OUT/MANIFEST" | sed 's/^/get-data: /'
say "$(grep '^  all ' "$OUT/MANIFEST" | awk '{ printf "mean %s nonzeros of %d terms per row, density %s", $4, '$VOCAB', $6 }')"
say "data/debian-text: made in $(($(date +%s) - start)) s"
