#!/usr/bin/env python3
"""The text work of scripts/get-text-data.sh (docs/text-data.md): Debian's
package descriptions, labelled by archive section, as binary bag-of-words
vectors in libsvm format. Standard library only; deterministic (no
dependence on dict order, hash seeds or the locale).

  debian_text.py records AVAIL TRANSLATION... > records.tsv
      AVAIL: `apt-cache dumpavail` (one record per package); TRANSLATION:
      the Translation-en indexes, decompressed. Writes one line per package,
      sorted by name: PACKAGE TAB SOURCE TAB SECTION TAB DESCRIPTION (the
      input the pins hash). Counts go to standard error.

  debian_text.py build RECORDS OUTDIR [--classes K] [--vocab N]
      Labels, split, vocabulary and the libsvm files; the statistics (the
      MANIFEST's body) go to standard output.
"""
import argparse
import hashlib
import re
import sys

AREAS = ('contrib/', 'non-free/', 'non-free-firmware/')
TOKEN = re.compile(rb'[a-z0-9]{2,}')


def paragraphs(path):
    """The stanzas of a deb822 file: lists of lines (continuations kept,
    with their leading space)."""
    para = []
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.strip() == '':
                if para:
                    yield para
                para = []
            else:
                para.append(line)
    if para:
        yield para


def fields(para):
    """{field: value}; a multi-line value is its first line and the
    continuation lines, joined by newlines."""
    out, key = {}, None
    for line in para:
        if line[:1] in (' ', '\t') and key is not None:
            out[key] += '\n' + line
        else:
            key, _, value = line.partition(':')
            out[key] = value.strip()
    return out


def description_text(synopsis, long_lines):
    """The synopsis and the long description's lines (each without its
    leading space; the ' .' paragraph separators dropped), joined by single
    spaces; tabs become spaces. The text that is tokenised and compared."""
    parts = [synopsis.strip()]
    for line in long_lines:
        line = line[1:] if line[:1] in (' ', '\t') else line
        if line.strip() == '.':
            continue
        parts.append(line.rstrip())
    return ' '.join(p for p in parts if p).replace('\t', ' ')


def cmd_records(args):
    long = {}  # Description-md5 -> the long description's lines
    translations = 0
    for path in args.translations:
        for para in paragraphs(path):
            f = fields(para)
            md5, desc = f.get('Description-md5'), f.get('Description-en')
            if md5 and desc is not None:
                translations += 1
                long.setdefault(md5, desc.split('\n')[1:])
    records, no_file, no_long = {}, 0, 0
    stanzas = 0
    for para in paragraphs(args.avail):
        stanzas += 1
        f = fields(para)
        name = f.get('Package')
        if not name:
            continue
        if 'Filename' not in f:  # not from an archive's Packages index
            no_file += 1
            continue
        source = f.get('Source', name).split(' ')[0] or name
        section = f.get('Section', '')
        desc = f.get('Description', '').split('\n')
        synopsis, lines = desc[0], desc[1:]
        md5 = f.get('Description-md5')
        if not lines:
            if md5 in long:
                lines = long[md5]
            else:
                no_long += 1
        rec = '\t'.join((name, source, section, description_text(synopsis, lines)))
        # one architecture: one record per name; else the first in byte order
        if name not in records or rec.encode() < records[name].encode():
            records[name] = rec
    out = sys.stdout.buffer
    for name in sorted(records, key=lambda n: n.encode()):
        out.write(records[name].encode('utf-8', 'surrogateescape') + b'\n')
    print(f'{stanzas} records in dumpavail, {translations} Translation-en entries; '
          f'{no_file} records not from an archive index dropped; {len(records)} packages, '
          f'{len(records) - no_long} with a long description, {no_long} synopsis only',
          file=sys.stderr)


def bucket(source):
    """0..9 from the md5 of the source package's name: 0-7 train, 8
    validation, 9 test."""
    return int(hashlib.md5(source.encode('utf-8', 'surrogateescape')).hexdigest()[:8], 16) % 10


def tokens(text):
    """The set of terms: ASCII letters lowercased, maximal runs of [a-z0-9]
    of 2 or more characters (any other byte separates)."""
    return set(TOKEN.findall(text.encode('utf-8', 'surrogateescape').lower()))


def pct(a, b):
    return f'{100.0 * a / b:.1f}%' if b else '-'


def cmd_build(args):
    recs = []
    with open(args.records, encoding='utf-8', errors='surrogateescape') as f:
        for line in f:
            name, source, section, text = line.rstrip('\n').split('\t')
            for area in AREAS:
                if section.startswith(area):
                    section = section[len(area):]
            recs.append((name, source, section, text))
    size = {}
    for r in recs:
        size[r[2]] = size.get(r[2], 0) + 1
    order = sorted(size, key=lambda s: (-size[s], s.encode()))
    classes = order[:args.classes]
    label = {s: i for i, s in enumerate(classes)}
    kept = [r for r in recs if r[2] in label]

    split_names = ('train', 'valid', 'test')
    parts = {s: [] for s in split_names}
    for r in kept:
        b = bucket(r[1])
        parts['train' if b < 8 else 'valid' if b == 8 else 'test'].append(r)
    sources = {s: len({r[1] for r in parts[s]}) for s in split_names}
    before = {s: len(parts[s]) for s in split_names}

    # An exact description text of an earlier split is dropped from a later
    # one (train, then validation, then test).
    seen, dropped = set(), {}
    for s in split_names:
        keep = [r for r in parts[s] if r[3] not in seen] if s != 'train' else parts[s]
        dropped[s] = len(parts[s]) - len(keep)
        parts[s] = keep
        seen.update(r[3] for r in keep)

    df = {}
    for r in parts['train']:
        for t in tokens(r[3]):
            df[t] = df.get(t, 0) + 1
    vocab = sorted(df, key=lambda t: (-df[t], t))[:args.vocab]
    index = {t: i + 1 for i, t in enumerate(vocab)}

    with open(f'{args.outdir}/classes.txt', 'w') as f:
        f.write(''.join(c + '\n' for c in classes))
    with open(f'{args.outdir}/vocab.txt', 'wb') as f:
        f.write(b''.join(t + b'\n' for t in vocab))

    stats = {}
    train_rows = set()
    for s in split_names:
        rows = sorted(parts[s], key=lambda r: (hashlib.md5(r[0].encode()).hexdigest(), r[0]))
        nnz = empty = same_as_train = 0
        per_class = [0] * len(classes)
        named = [0] * len(classes)  # rows whose text has the section's name as a term
        with open(f'{args.outdir}/{s}.svm', 'w') as svm, open(f'{args.outdir}/{s}.names', 'w') as nm:
            for r in rows:
                idx = tuple(sorted(index[t] for t in tokens(r[3]) if t in index))
                y = label[r[2]]
                svm.write(str(y) + ''.join(f' {i}:1' for i in idx) + '\n')
                nm.write(r[0] + '\n')
                nnz += len(idx)
                empty += not idx
                per_class[y] += 1
                named[y] += classes[y].encode() in tokens(r[3])
                if s == 'train':
                    train_rows.add((y, idx))
                elif (y, idx) in train_rows:
                    same_as_train += 1
        stats[s] = (len(rows), nnz, empty, per_class, same_as_train, named)

    n_all = sum(v[0] for v in stats.values())
    nnz_all = sum(v[1] for v in stats.values())
    p = print
    p(f'records: {len(recs)} packages in {len(size)} sections; the {len(classes)} largest '
      f'sections are the classes: {len(kept)} packages ({pct(len(kept), len(recs))})')
    p('')
    p('label: line label+1 of classes.txt; packages: all of the section; train, valid,')
    p('test: rows; named: train rows whose text has the section\'s name as a term')
    p('')
    p('label  section       packages  train  valid   test  named')
    for i, c in enumerate(classes):
        p(f'{i:5d}  {c:12s} {size[c]:9d} {stats["train"][3][i]:6d} '
          f'{stats["valid"][3][i]:6d} {stats["test"][3][i]:6d}  '
          f'{pct(stats["train"][5][i], stats["train"][3][i]):>5s}')
    p(f'{"":5s}  {"total":12s} {len(kept):9d} {stats["train"][0]:6d} '
      f'{stats["valid"][0]:6d} {stats["test"][0]:6d}')
    p('')
    p('split by source package (md5 of the name, 8/1/1 of 10 buckets):')
    for s in split_names:
        p(f'  {s:5s}  {sources[s]:5d} source packages, {before[s]:5d} packages'
          + (f', {dropped[s]} dropped (description text also in an earlier split)'
             if s != 'train' else '') + f', {stats[s][0]} rows')
    p('')
    p(f'vocabulary: the {len(vocab)} terms of highest document frequency in train '
      f'(of {len(df)} distinct terms; lowest kept df {df[vocab[-1]] if vocab else 0})')
    p('rows, mean nonzeros per row, density (mean nonzeros / vocabulary), rows without a term:')
    for s in split_names:
        n, nnz, empty = stats[s][:3]
        p(f'  {s:5s}  {n:5d} rows  {nnz / n:6.2f} nonzeros  {100.0 * nnz / n / len(vocab):.2f}%  '
          f'{empty} empty')
    p(f'  all    {n_all:5d} rows  {nnz_all / n_all:6.2f} nonzeros  '
      f'{100.0 * nnz_all / n_all / len(vocab):.2f}%')
    p(f'rows whose label and feature set equal a training row\'s: valid {stats["valid"][4]}, '
      f'test {stats["test"][4]}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('records')
    r.add_argument('avail')
    r.add_argument('translations', nargs='*')
    b = sub.add_parser('build')
    b.add_argument('records')
    b.add_argument('outdir')
    b.add_argument('--classes', type=int, default=10)
    b.add_argument('--vocab', type=int, default=5000)
    args = ap.parse_args()
    {'records': cmd_records, 'build': cmd_build}[args.cmd](args)


if __name__ == '__main__':
    main()
