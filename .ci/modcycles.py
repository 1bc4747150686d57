#!/usr/bin/env python3
"""Per top-level module of src/ (lib only), the crate::X modules it uses outside #[cfg(test)] items
and comments; then the cycles of that graph."""
import os, re, sys
args = [a for a in sys.argv[1:] if not a.startswith('-')]
root = args[0] if args else 'src'
def strip_comments(s):
    s = re.sub(r'/\*.*?\*/', '', s, flags=re.S)
    return re.sub(r'//[^\n]*', '', s)   # also ///, //! doc comments
def strip_cfg_test(s, path, test_files):
    out = []; i = 0
    while True:
        j = s.find('#[cfg(test)]', i)
        if j < 0: out.append(s[i:]); break
        out.append(s[i:j]); k = j + len('#[cfg(test)]')
        m = re.match(r'\s*(pub(\([^)]*\))?\s+)?mod\s+(\w+)\s*;', s[k:])
        if m:  # out-of-line test module: ignore its file
            d = os.path.dirname(path); stem = os.path.basename(path)[:-3]
            base = d if stem in ('mod', 'lib') else os.path.join(d, stem)
            test_files.add(os.path.join(base, m.group(3) + '.rs'))
            test_files.add(os.path.join(base, m.group(3), 'mod.rs'))
            i = k + m.end(); continue
        b = s.find('{', k); semi = s.find(';', k)
        if semi >= 0 and (b < 0 or semi < b): i = semi + 1; continue
        depth = 0; p = b
        while True:
            if s[p] == '{': depth += 1
            elif s[p] == '}':
                depth -= 1
                if depth == 0: break
            p += 1
        i = p + 1
    return ''.join(out)
files = []
for d, _, fs in os.walk(root):
    files += [os.path.join(d, f) for f in fs if f.endswith('.rs')]
test_files = set()
texts = {}
for f in sorted(files):  # parents before children: mod.rs declares tests.rs
    texts[f] = strip_cfg_test(strip_comments(open(f).read()), f, test_files)
for f in sorted(files):
    texts[f] = strip_cfg_test(strip_comments(open(f).read()), f, test_files)
deps = {}
for f, t in texts.items():
    if f in test_files or f.endswith('main.rs') or f.endswith('cli.rs') and os.path.dirname(f) == root:
        continue
    rel = os.path.relpath(f, root)
    top = rel.split(os.sep)[0].removesuffix('.rs')
    if top == 'lib': continue
    used = set(re.findall(r'\bcrate::(\w+)', t))
    for grp in re.findall(r'\bcrate::\{([^}]*)\}', t):
        used |= {g.strip().split('::')[0] for g in grp.split(',') if g.strip()}
    deps.setdefault(top, set()).update(used - {top})
if '-v' in sys.argv:
    for m in sorted(deps):
        print(f'{m:10} -> {", ".join(sorted(deps[m]))}')
# cycles: strongly connected components with more than one module
idx = {}; low = {}; stack = []; on = set(); sccs = []; n = [0]
def visit(v):
    idx[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in deps.get(v, ()):
        if w not in deps: continue
        if w not in idx: visit(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        c = []
        while True:
            w = stack.pop(); on.discard(w); c.append(w)
            if w == v: break
        if len(c) > 1: sccs.append(sorted(c))
for v in sorted(deps):
    if v not in idx: visit(v)
print('cycles:', sccs if sccs else 'none')
sys.exit(1 if sccs else 0)
