#!/usr/bin/env python3
"""Every example marked in README.md and docs/*.md is run and compared with
what the tool prints now, so that the docs cannot drift from the tool.

The marking convention (it survives Markdown rendering: an HTML comment
shows nothing). A comment right before a code block, fenced or indented:

    <!-- check: MODE
    KEY: VALUE
    ... -->

MODE says how the block is compared with the output:
  exact   the same text (after the normalisation below)
  shape   the same text once every number is replaced by N: for times,
          losses and other figures that vary from run to run
  lines   the block's lines appear in the output in this order (an excerpt)
  shape-lines  an excerpt, numbers replaced by N
  exists  the block lists commands that are not run (long runs,
          measurements): each `sparsec COMMAND` must be a command of
          sparsec, each `make TARGET` a target, each file path a file

KEYs (each optional; `run`, `before`, `vary`, `replace` may repeat):
  run: CMD        the command whose output the block shows (several: their
                  outputs one after the other); without it,
                  the block is a transcript: `$ CMD` lines are commands,
                  the lines up to the next `$ ` their output, and lines
                  `sparsec> ...` / `   ...> ...` after a command are its
                  standard input (a REPL session) and not output
  repl: ARGS      the block is a REPL transcript without its `$` line: run
                  `sparsec repl ARGS` with the block's prompt lines as input
  before: CMD     run first, its output not compared (build a program)
  status: N       the exit status of the last command
  cache: fresh    an empty object cache (the block shows a miss, then a hit)
  install: yes    install the build tree into a prefix, $P (shown as $P)
  grep: REGEX     compare only the output lines that match REGEX
  vary: REGEX     what REGEX matches (in the block and in the output) may
                  differ: a host's CPU name, a file size
  replace: A => B run the commands with A replaced by B: a shorter stand-in
                  for a run too long for the test (then compare with shape)

In a block, `...` stands for any text within a line, and a line of only
`...` for any number of lines. Commands run in a scratch folder holding a
copy of examples/ and the files of tests/docs/, with `sparsec` (and
`build/sparsec`) the build's binary; paths of the scratch folder, the
repository and the build tree are printed relative to them.

Besides, no doc may show a path of the machine it was written on (/work/,
/tmp/, /home/, /root/).
"""
import argparse
import concurrent.futures
import difflib
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MACHINE_PATH = re.compile(r'(?<![\w.$])/(?:work|tmp|home|root)/')
CHECK_OPEN = re.compile(r'^<!--\s*check:\s*([\w-]+)\s*(.*)$')
MODES = ('exact', 'shape', 'lines', 'shape-lines', 'exists')


class Check:
    def __init__(self, doc, line, mode):
        self.doc, self.line, self.mode = doc, line, mode
        self.keys = []      # (key, value) in order
        self.block = []     # the block's lines, de-indented

    def get(self, key):
        return [v for k, v in self.keys if k == key]

    def where(self):
        return f'{self.doc}:{self.line}'


def read_block(lines, i):
    """The code block starting at or after lines[i] (blank lines skipped):
    its lines, de-indented, or None."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines):
        return None
    if lines[i].lstrip().startswith('```'):
        fence_indent = len(lines[i]) - len(lines[i].lstrip())
        body = []
        i += 1
        while i < len(lines) and not lines[i].lstrip().startswith('```'):
            body.append(lines[i][fence_indent:])
            i += 1
        return body
    if not lines[i].startswith('    '):
        return None
    body = []
    while i < len(lines) and (lines[i].startswith('    ') or not lines[i].strip()):
        body.append(lines[i])
        i += 1
    while body and not body[-1].strip():
        body.pop()
    indent = min(len(s) - len(s.lstrip()) for s in body if s.strip())
    return [s[indent:] for s in body]


def parse_doc(path, rel):
    """The checks of one Markdown file, and the errors of their marking."""
    lines = open(path, encoding='utf-8').read().split('\n')
    checks, errors = [], []
    i = 0
    while i < len(lines):
        m = CHECK_OPEN.match(lines[i].strip())
        if not m:
            i += 1
            continue
        check = Check(rel, i + 1, m.group(1))
        if check.mode not in MODES:
            errors.append(f'{check.where()}: unknown check mode {check.mode!r} (one of {", ".join(MODES)})')
        rest = m.group(2)
        while True:  # KEY: VALUE lines up to the closing -->
            closed = rest.rstrip().endswith('-->')
            text = rest.rstrip()[:-3] if closed else rest
            if text.strip():
                key, sep, value = text.strip().partition(':')
                if not sep:
                    errors.append(f'{rel}:{i + 1}: expected KEY: VALUE in a check, not {text.strip()!r}')
                check.keys.append((key.strip(), value.strip()))
            if closed:
                break
            i += 1
            if i == len(lines):
                errors.append(f'{check.where()}: the check comment is not closed')
                return checks, errors
            rest = lines[i]
        block = read_block(lines, i + 1)
        if block is None:
            errors.append(f'{check.where()}: no code block after the check comment')
        else:
            check.block = block
            checks.append(check)
        i += 1
    return checks, errors


def machine_paths(path, rel):
    errors = []
    for n, line in enumerate(open(path, encoding='utf-8'), 1):
        if MACHINE_PATH.search(line):
            errors.append(f'{rel}:{n}: shows a path of a machine: {line.strip()}')
    return errors


# ---- running -----------------------------------------------------------

class Env:
    def __init__(self, args):
        self.sparsec = os.path.realpath(args.sparsec)
        self.repo = os.path.realpath(args.repo)
        self.build = os.path.realpath(args.build)
        self.cache = args.cache


def make_scratch(env, check):
    """A folder with examples/, tests/docs/'s files, bin/sparsec and
    build/sparsec: what the docs' commands expect around them."""
    scratch = tempfile.mkdtemp(prefix='sparsec-docs-')
    shutil.copytree(os.path.join(env.repo, 'examples'), os.path.join(scratch, 'examples'))
    fixtures = os.path.join(env.repo, 'tests', 'docs')
    for name in os.listdir(fixtures):
        src = os.path.join(fixtures, name)
        if os.path.isfile(src):
            shutil.copy(src, scratch)
    for folder in ('bin', 'build'):
        os.mkdir(os.path.join(scratch, folder))
        os.symlink(env.sparsec, os.path.join(scratch, folder, 'sparsec'))
    if any('small/' in r for r in check.get('replace')):
        small_fashion(env, scratch)
    return scratch


FASHION = '/usr/share/datasets/fashion-mnist'


def cut_idx(src, dst, count):
    """The first `count` examples of a gzip'd IDX file, uncompressed."""
    with gzip.open(src, 'rb') as f:
        magic = f.read(4)
        dims = [int.from_bytes(f.read(4), 'big') for _ in range(magic[3])]
        size = count
        for d in dims[1:]:
            size *= d
        data = f.read(size)
    with open(dst, 'wb') as out:
        out.write(magic + b''.join(d.to_bytes(4, 'big') for d in [count] + dims[1:]) + data)


def small_fashion(env, scratch):
    """small/fashion_mnist_relu.spn: the paper's net (the same code, the
    same output's shape) on 1200 + 200 Fashion-MNIST examples, a stand-in
    for examples/fashion_mnist_relu.spn whose full data would take most of
    the check's time."""
    if not os.path.isdir(FASHION):
        return
    small = os.path.join(scratch, 'small')
    os.mkdir(small)
    for part, count in (('train', 1200), ('t10k', 200)):
        for kind in ('images-idx3', 'labels-idx1'):
            cut_idx(f'{FASHION}/{part}-{kind}-ubyte.gz', f'{small}/{part}-{kind}-ubyte', count)
    spec = open(os.path.join(env.repo, 'examples', 'fashion_mnist_relu.spn')).read()
    spec = re.sub(r'"[^"]*/([^"/]*)\.gz"', r'"\1"', spec).replace('validation = 10000', 'validation = 200')
    with open(os.path.join(small, 'fashion_mnist_relu.spn'), 'w') as f:
        f.write(spec)


def run_one(env, scratch, cmd, stdin, check):
    """`CMD 2>&1` in the scratch folder: (status, output)."""
    e = dict(os.environ)
    cache = os.path.join(scratch, 'cache') if check.get('cache') == ['fresh'] else env.cache
    e.update(PATH=os.path.join(scratch, 'bin') + ':' + e.get('PATH', ''),
             HOME=scratch, NO_COLOR='1', XDG_CACHE_HOME=cache, P=os.path.join(scratch, 'prefix'),
             OPENBLAS_NUM_THREADS='1', LC_ALL='C.UTF-8')
    out_path = os.path.join(scratch, '.out')
    with open(out_path, 'wb') as out:
        p = subprocess.run(['bash', '-c', cmd], cwd=scratch, env=e, stdout=out,
                           stderr=subprocess.STDOUT, input=stdin.encode(), timeout=120)
    with open(out_path, encoding='utf-8', errors='replace') as f:
        return p.returncode, f.read()


PROMPT = re.compile(r'^(sparsec> |\s*\.\.\.> ?)')


def split_transcript(block):
    """[(command, stdin, expected lines)] of a `$ CMD` transcript."""
    steps = []
    for line in block:
        if line.startswith('$ '):
            steps.append([line[2:], '', []])
        elif not steps:
            raise ValueError(f'a transcript must start with a `$ ` line, not {line!r}')
        elif PROMPT.match(line):
            steps[-1][1] += PROMPT.sub('', line) + '\n'
        else:
            steps[-1][2].append(line)
    return steps


def repl_steps(args, block):
    stdin = ''.join(PROMPT.sub('', s) + '\n' for s in block if PROMPT.match(s))
    return [['sparsec repl ' + args, stdin, [s for s in block if not PROMPT.match(s)]]]


def steps_of(check):
    if check.get('run'):  # their outputs together are the block
        return [[' ; '.join(f'{{ {c} ; }}' for c in check.get('run')), '', list(check.block)]]
    if check.get('repl'):
        return repl_steps(check.get('repl')[0], check.block)
    return split_transcript(check.block)


def relative(env, scratch, text):
    """The output's paths made relative: the scratch folder's and the
    repository's, and the binary named `sparsec`."""
    text = text.replace(env.sparsec, 'sparsec')
    text = text.replace(os.path.join(scratch, 'prefix'), '$P')
    # any build tree (build-asan too) shows as the docs' build/; a sanitized
    # build's link lines carry its sanitizers, which the docs do not show
    text = text.replace(env.build + '/', 'build/')
    text = re.sub(r' -fsanitize=[a-z,]+', '', text)
    for root in (scratch, os.path.realpath(scratch), env.repo):
        text = text.replace(root + '/', '').replace(root, '.')
    return text


# ---- comparing -----------------------------------------------------------

NUMBER = re.compile(r' *[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?')


def normalise(check, text_lines, is_output):
    out = []
    vary = [re.compile(v) for v in check.get('vary')]
    grep = [re.compile(g) for g in check.get('grep')]
    for line in text_lines:
        line = line.rstrip()
        if is_output and grep and not any(g.search(line) for g in grep):
            continue
        for v in vary:
            line = v.sub('<*>', line)
        if check.mode.startswith('shape'):
            line = NUMBER.sub(' N', line)
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def line_pattern(line):
    parts = re.split(r'\.\.\.|…', line)
    return '.*?'.join(re.escape(p) for p in parts)


def matches(want, got, excerpt):
    """Does `got` (lines) fit `want` (lines, with `...` elisions)?"""
    pattern = []
    for w in want:
        pattern.append(r'(?:[^\n]*\n)*?' if w.strip() in ('...', '…') else line_pattern(w) + r'\n')
    if excerpt:
        pattern = [r'(?:[^\n]*\n)*?' + p for p in pattern]
        pattern.append(r'(?:[^\n]*\n)*?')
    return re.fullmatch(''.join(pattern), ''.join(g + '\n' for g in got), re.S) is not None


def compare(check, want, got):
    w, g = normalise(check, want, False), normalise(check, got, True)
    if matches(w, g, check.mode.endswith('lines')):
        return None
    diff = difflib.unified_diff(w, g, 'the doc', 'the tool now', lineterm='', n=2)
    return '\n'.join(diff)


def install(env, scratch):
    subprocess.run(['cmake', '--install', env.build, '--prefix', os.path.join(scratch, 'prefix')],
                   check=True, capture_output=True)


def run_check(env, check):
    """None when the check passes, else what differs."""
    if check.mode == 'exists':
        return check_exists(env, check)
    scratch = make_scratch(env, check)
    try:
        steps = steps_of(check)
        problems = []
        status = None
        if check.get('install'):
            install(env, scratch)
        for cmd in check.get('before'):
            status, out = run_one(env, scratch, cmd, '', check)
            if status != 0:
                problems.append(f'$ {cmd} (before) failed with status {status}:\n{out}')
        exports = ''  # a transcript's `export` lines hold for the commands after them
        for cmd, stdin, want in steps:
            if cmd.startswith('export '):
                exports += cmd + '\n'
            cmd = exports + cmd if not cmd.startswith('export ') else cmd
            for r in check.get('replace'):
                a, _, b = r.partition('=>')
                cmd, stdin = cmd.replace(a.strip(), b.strip()), stdin.replace(a.strip(), b.strip())
            status, out = run_one(env, scratch, cmd, stdin, check)
            got = relative(env, scratch, out).split('\n')
            if want or not check.get('run'):
                diff = compare(check, want, got)
                if diff:
                    problems.append(f'$ {cmd.split(chr(10))[-1]}\n{diff}')
        want_status = check.get('status')
        if want_status and str(status) != want_status[0]:
            problems.append(f'exit status {status}, the doc says {want_status[0]}')
        return '\n'.join(problems) or None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_exists(env, check):
    problems = []
    for line in check.block:
        words = line.split()
        for i, word in enumerate(words):
            if word in ('sparsec', 'build/sparsec') and i + 1 < len(words):
                sub = words[i + 1]
                if not sub.startswith('-') and sub != 'help':
                    if subprocess.run([env.sparsec, 'help', sub], capture_output=True).returncode != 0:
                        problems.append(f'{line}: sparsec has no command {sub!r}')
            if word == 'make' and i + 1 < len(words):
                makefile = open(os.path.join(env.repo, 'Makefile')).read()
                if not re.search(rf'^{re.escape(words[i + 1])}:', makefile, re.M):
                    problems.append(f'{line}: the Makefile has no target {words[i + 1]!r}')
            if '/' in word and re.search(r'\.(spn|sh|md|c|py)$', word) and not word.startswith('-'):
                if not os.path.exists(os.path.join(env.repo, word)):
                    problems.append(f'{line}: no file {word}')
    return '\n'.join(problems) or None


def timed(env, check):
    start = time.monotonic()
    problem = run_check(env, check)
    return problem, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sparsec', required=True)
    ap.add_argument('--repo', required=True)
    ap.add_argument('--build', required=True)
    ap.add_argument('--cache', default=None, help='XDG_CACHE_HOME for the commands')
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--times', action='store_true', help='how long each check took')
    ap.add_argument('--only', help='check only this doc (its path in the repository)')
    args = ap.parse_args()
    if args.cache is None:
        args.cache = os.path.join(os.path.realpath(args.build), 'tests', 'jit-cache')
    env = Env(args)
    docs = ['README.md'] + sorted('docs/' + f for f in os.listdir(os.path.join(env.repo, 'docs'))
                                  if f.endswith('.md'))
    if args.only:
        docs = [d for d in docs if d == args.only]
    checks, errors = [], []
    for rel in docs:
        path = os.path.join(env.repo, rel)
        found, errs = parse_doc(path, rel)
        checks += found
        errors += errs + machine_paths(path, rel)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda c: (c, timed(env, c)), checks))
    if args.times:
        for check, (_, took) in sorted(results, key=lambda r: -r[1][1]):
            print(f'{took:5.1f} s  {check.where()}')
    results = [(c, p) for c, (p, _) in results]
    for check, problem in results:
        if problem:
            errors.append(f'{check.where()}: the example ({check.mode}) no longer matches:\n{problem}')
    for e in errors:
        print(e, file=sys.stderr)
    print(f'{len(checks)} examples checked in {len(docs)} docs, {len(checks) - sum(1 for _, p in results if p)} '
          f'match, in {time.monotonic() - start:.1f} s; {len(errors)} problems')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
