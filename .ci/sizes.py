#!/usr/bin/env python3
"""Architecture guard: no function in src/ over 120 lines, no source file over 800 lines (test code,
i.e. inline #[cfg(test)] items and files named tests.rs, not counted). Functions are found by `fn`
lines and brace depth (good enough for rustfmt-formatted code). Exit 1 with the offenders listed."""
import os, re, sys

FN_MAX, FILE_MAX = 120, 800


def item_end(lines, i):
    """The index of the last line of the item starting at line i: where its braces close, or the
    line ending in `;` for an item without a body."""
    depth, opened, j = 0, False, i
    while j < len(lines):
        depth += lines[j].count('{') - lines[j].count('}')
        opened = opened or '{' in lines[j]
        if (opened and depth <= 0) or (not opened and lines[j].rstrip().endswith(';')):
            return j
        j += 1
    return j


def code_lines(lines):
    """Lines outside inline `#[cfg(test)]` items."""
    count, i = 0, 0
    while i < len(lines):
        if lines[i].strip() == '#[cfg(test)]':
            i = item_end(lines, i + 1) + 1
            continue
        count += 1
        i += 1
    return count


bad = []
for root, _, files in os.walk('src'):
    for f in sorted(files):
        if not f.endswith('.rs'):
            continue
        p = os.path.join(root, f)
        lines = open(p, encoding='utf-8').read().split('\n')
        if f != 'tests.rs' and code_lines(lines) > FILE_MAX:
            bad.append(f'{p}: file over {FILE_MAX} lines')
        for i, line in enumerate(lines):
            if re.match(r'\s*(pub(\([a-z]+\))? )?(const )?(unsafe )?fn ', line):
                n = item_end(lines, i) - i + 1
                if n > FN_MAX:
                    bad.append(f'{p}:{i + 1}: function of {n} lines: {line.strip()[:60]}')
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
