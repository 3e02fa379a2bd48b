#!/usr/bin/env python3
"""Syntax check for PowerShell scripts without PowerShell: tree-sitter's grammar parses each
file given, and every ERROR or MISSING node is reported as FILE:LINE:COLUMN.

A syntax check only, not a lint. The grammar flags two things PowerShell accepts: one-line
`switch ($x) { 'a' { ... } }` blocks (write them over several lines) and lists of bare words
as arguments, `-Path a, b` (quote them: `-Path 'a', 'b'`).
Exit status: 0 clean, 1 syntax errors, 2 usage or missing modules.
"""
import sys

try:
    import tree_sitter
    import tree_sitter_powershell
except ImportError:
    sys.stderr.write(
        "check-powershell: needs the tree-sitter modules: "
        "pip install tree-sitter tree-sitter-powershell\n"
    )
    sys.exit(2)


def problems(node):
    """(line, column, what) for each ERROR or MISSING node under node, 1-based."""
    found = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            line, column = n.start_point
            what = f"missing {n.type}" if n.is_missing else "syntax error"
            found.append((line + 1, column + 1, what))
        # Only subtrees that contain an error are worth walking.
        stack.extend(c for c in n.children if c.has_error or c.is_missing)
    return sorted(found)


def main(paths):
    if not paths:
        sys.stderr.write("usage: check-powershell.py FILE.ps1...\n")
        return 2
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    failed = False
    for path in paths:
        try:
            with open(path, "rb") as f:
                tree = parser.parse(f.read())
        except OSError as e:
            sys.stderr.write(f"check-powershell: {e}\n")
            return 2
        for line, column, what in problems(tree.root_node):
            print(f"{path}:{line}:{column}: {what}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
