#!/usr/bin/env python3
"""Lists import cycles between the modules of each crate (a module: a top-level `mod` of the crate
and its submodules, e.g. `jobs` holds `jobs.rs` and `jobs/*.rs`). Exit 1 when there is one.
References counted: `use crate::X`, `crate::X::…` paths, and `super::` from a submodule file to its
parent's siblings. Test modules (`#[cfg(test)]` blocks) are left out."""
import pathlib, re, sys

def strip_tests(text):
    i = text.find("#[cfg(test)]")
    return text if i < 0 else text[:i]

def graph(src: pathlib.Path, depth: int):
    edges = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[0] in ("main", "lib"):
            continue
        me = "::".join(parts[:depth])
        text = strip_tests(f.read_text())
        # `super::x` names a sibling of this file's module; rewrite it as a crate path.
        parent = parts[:-1]
        text = re.sub(r"\bsuper::", ("crate::" + "".join(p + "::" for p in parent)) if parent else "crate::", text)
        for m in re.finditer(r"crate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", text):
            path = m.group(1).split("::")
            target = "::".join(path[:depth])
            # a path into a module that does not exist at that depth (an item) counts for its parent
            if not (src / (target.replace("::", "/") + ".rs")).exists() and not (src / target.replace("::", "/")).is_dir():
                target = "::".join(path[: max(1, depth - 1)])
            if target and target != me and not me.startswith(target + "::") and not target.startswith(me + "::"):
                edges.setdefault(me, set()).add(target)
    return edges

def cycles(edges):
    found = []
    for a, outs in edges.items():
        for b in outs:
            if a < b and a in edges.get(b, set()):
                found.append((a, b))
    return found

bad = 0
for crate in ["core", "mcp", "tui"]:
    src = pathlib.Path(__file__).resolve().parent.parent / crate / "src"
    for depth in (1, 2):
        for a, b in cycles(graph(src, depth)):
            print(f"{crate}: {a} <-> {b}")
            bad += 1
print(f"{bad} module cycles")
sys.exit(1 if bad else 0)
