#!/usr/bin/env python3
"""The library's folders form layers; every #include between folders must point down them (docs/design.md).

Bottom to top: core, distributed, data, model, loss, calib, viz, html, train, eval, represent, distill, study. A file
may include its own folder and any folder below it; an include of a folder above, or of a folder this list does not
know, fails with the file, the line and the arrow that runs back up.

The LibTorch version seam: a test of LibTorch's version (TORCH_VERSION_MAJOR/MINOR, SMOOTHLAB_TORCH_AT_LEAST) may
appear only in core/torch_compat.h and core/torch_compat_c10d.h, in every C++ file of the project (src, app, python,
tests, bench).
"""
import pathlib
import re
import sys

LAYERS = ["core", "distributed", "data", "model", "loss", "calib", "viz", "html", "train", "eval", "represent",
          "distill", "study"]
RANK = {name: i for i, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"smoothlab/([a-z_]+)/[^"]+"')
VERSION_TEST = re.compile(r"TORCH_VERSION_(MAJOR|MINOR|PATCH)|SMOOTHLAB_TORCH_AT_LEAST")
SEAM = {"core/torch_compat.h", "core/torch_compat_c10d.h"}
CXX = {".h", ".hpp", ".cpp", ".cc", ".inc", ".cu", ".cuh"}


def version_tests_outside_the_seam(root: pathlib.Path) -> list:
    src = root / "src" / "smoothlab"
    problems = []
    for folder in ("src", "app", "python", "tests", "bench"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in CXX or (path.is_relative_to(src) and str(path.relative_to(src)) in SEAM):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if VERSION_TEST.search(line):
                    problems.append(f"{path}:{number}: tests LibTorch's version outside the seam ({', '.join(sorted(SEAM))})")
    return problems


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
    problems += version_tests_outside_the_seam(root)
    for p in problems:
        print(p)
    print(f"{checked} includes checked, {len(problems)} problem(s)")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2]))
