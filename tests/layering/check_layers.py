#!/usr/bin/env python3
"""The library's folders form layers; every #include between folders must point down them (docs/design.md).

Bottom to top: core, dist, data, model, loss, calib, viz, report, train, eval, represent, distill, study. A file may include
its own folder and any folder below it; an include of a folder above, or of a folder this list does not know, fails
with the file, the line and the arrow that runs back up.
"""
import pathlib
import re
import sys

LAYERS = ["core", "dist", "data", "model", "loss", "calib", "viz", "report", "train", "eval", "represent", "distill", "study"]
RANK = {name: i for i, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"smoothlab/([a-z_]+)/[^"]+"')


def main(root: pathlib.Path) -> int:
    src = root / "src" / "smoothlab"
    problems = []
    folders = sorted(p.name for p in src.iterdir() if p.is_dir())
    for folder in folders:
        if folder not in RANK:
            problems.append(f"{src / folder}: folder not in the layer list of {__file__}")
    checked = 0
    for path in sorted(src.rglob("*")):
        if path.suffix not in {".h", ".cpp", ".inc", ".cu", ".cuh"}:
            continue
        own = path.relative_to(src).parts[0]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            checked += 1
            target = m.group(1)
            if target not in RANK:
                problems.append(f"{path}:{number}: includes unknown folder '{target}'")
            elif own in RANK and RANK[target] > RANK[own]:
                problems.append(f"{path}:{number}: {own} → {target} runs back up (layers: {' < '.join(LAYERS)})")
    for p in problems:
        print(p)
    print(f"{checked} includes checked, {len(problems)} problem(s)")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2]))
