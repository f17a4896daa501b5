#!/usr/bin/env python3
"""Checks Kestrel's layering: which layer may include which, and that folder READMEs are complete.

A layer is a folder under src/kestrel/ (its sub-folders, e.g. sources/ebpf or runtime/lua, belong
to it), plus `include` (the public C headers in include/kestrel/) and the tools `bench` and `fuzz`
at the top. LAYERS below is the one copy of the allowed dependency table; docs/architecture.md
shows it between two markers, as `--markdown` prints it, and this check fails when that copy
differs (`--write-doc` rewrites it).

Checks, each error printed as `path:line: message`, exit status 1 if there is any:
  1. every `#include "kestrel/..."` in src/, include/, bench/ and fuzz/ goes from a layer to itself
     or to a layer it may include; an unknown layer (a folder missing from the table) is an error;
  2. the third-party headers of RESTRICTED are included only where they may be (libbpf and the
     eBPF skeletons only in sources/ebpf; wabt and LuaJIT only in runtime);
  3. the table itself: every layer it names exists in it, it has no cycle, and it is closed (a
     layer may include everything its allowed layers may include: including what you already
     depend on adds no dependency);
  4. every README.md under src/kestrel/ names every header (*.h) of its folder and of its
     sub-folders that have no README of their own (as `name.h`, or `name.{h,cc}`), and every
     folder with headers has a README;
  5. docs/architecture.md holds the current table.

Usage (from anywhere; python3 standard library only):
  scripts/check-layering.py               # all checks on this repository
  scripts/check-layering.py --markdown    # print the table as docs/architecture.md shows it
  scripts/check-layering.py --write-doc   # rewrite the table in docs/architecture.md
  scripts/check-layering.py --self-test   # plants violations in a temporary copy, expects failures
  scripts/check-layering.py --root DIR    # check another tree
Run by scripts/test.sh before any build.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The allowed dependency table, lowest layer first: (layer, folder, may include besides itself,
# what it holds). Derived from the include graph of the code (no upward include, no cycle), plus
# `pipeline`, which may include everything below it and is included only by cli (and the tools).
LAYERS = [
    ("base", "src/kestrel/base", [],
     "Status helpers, arena, time, fingerprints, string maps"),
    ("include", "include/kestrel", [],
     "the public C ABI: Host API v1 (`kestrel/host_api_v1.h`)"),
    ("schema", "src/kestrel/schema", ["base"],
     "the ECS field catalogue, `FieldId`, `Schema`"),
    ("event", "src/kestrel/event", ["base", "schema"],
     "`Event`, values, the JSON codec"),
    ("eql", "src/kestrel/eql", ["base", "schema", "event"],
     "EQL lexer, parser, sema, typed IR, IR evaluator, functions"),
    ("engine", "src/kestrel/engine", ["base", "schema", "event", "eql"],
     "`QueryEngine`, `StateStore`, rule index, `Detector`, `Alert`"),
    ("log", "src/kestrel/log", ["base", "schema", "event"],
     "the binary event log: writer, reader, recovery"),
    ("sources", "src/kestrel/sources", ["base", "schema", "event", "log"],
     "`Source`; ndjson/, replay/, ebpf/ (the only libbpf code)"),
    ("rules", "src/kestrel/rules", ["base", "schema", "event", "eql", "engine"],
     "rule file formats, `RuleSet` building, rule test files"),
    ("runtime", "src/kestrel/runtime", ["base", "include", "schema", "event", "eql", "engine"],
     "Host API, Lua and Wasm predicate runtimes, function modules"),
    ("bus", "src/kestrel/bus", ["base", "schema", "event", "eql", "engine"],
     "SPSC rings, `ParallelDetector`: workers, routing, ordered merge"),
    ("metrics", "src/kestrel/metrics", ["base"],
     "metric snapshots, Prometheus rendering, the metrics server"),
    ("actions", "src/kestrel/actions",
     ["base", "schema", "event", "eql", "engine", "log", "sources", "rules"],
     "alert sinks and delivery, flight recorder, blocking guards"),
    ("pipeline", "src/kestrel/pipeline",
     ["base", "include", "schema", "event", "eql", "engine", "log", "sources", "rules", "runtime",
      "bus", "metrics", "actions"],
     "`Pipeline`, `RuleManager`, `AlertBuilder`: one run, source to sinks"),
    ("ui", "src/kestrel/ui",
     ["base", "include", "schema", "event", "eql", "engine", "log", "sources", "rules", "runtime",
      "bus", "metrics", "actions", "pipeline"],
     "`kestrel ui`: the investigation index, its HTTP server and embedded page"),
    ("cli", "src/kestrel/cli",
     ["base", "include", "schema", "event", "eql", "engine", "log", "sources", "rules", "runtime",
      "bus", "metrics", "actions", "pipeline", "ui"],
     "the `kestrel` binary: flags to a pipeline configuration, subcommands"),
]
# Tools at the top: benchmarks and fuzzers may include any layer.
TOOLS = {"bench": "bench", "fuzz": "fuzz"}
# Test helpers (src/kestrel/testing/: loading ../shared): a layer of their own over these, which
# only tests (`*_test.cc`, in any layer) may include, beside what their own layer may.
TESTING = ("testing", "src/kestrel/testing", ["base", "schema", "event"],
           "test helpers: the data of ../shared, with loud skips (tests only)")

# Third-party headers only some folders may include (STYLE.md rule 1): (regex on the included
# name, folders that may include it (prefixes of the path under src/kestrel/), what it is).
RESTRICTED = [
    (r"bpf/.*|.*\.skel\.h", ["sources/ebpf"], "libbpf and the eBPF skeletons"),
    (r"wabt/.*", ["runtime"], "wabt"),
    (r"(lua|luajit|lualib|lauxlib)\.h", ["runtime"], "LuaJIT"),
]

SOURCE_EXTENSIONS = (".h", ".hpp", ".c", ".cc", ".cpp", ".inc")
SCANNED_DIRS = ("src", "include", "bench", "fuzz")
DOC = "docs/architecture.md"
DOC_BEGIN = "<!-- layering table: generated by scripts/check-layering.py --markdown; do not edit -->"
DOC_END = "<!-- end of layering table -->"
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


def table_errors():
    """Self-consistency of LAYERS: known names, no cycle, closed under inclusion."""
    errors = []
    allowed = {name: set(deps) for name, _, deps, _ in LAYERS}
    for name, deps in allowed.items():
        for dep in sorted(deps - allowed.keys()):
            errors.append(f"scripts/check-layering.py: layer {name} names unknown layer {dep}")
    state = {}

    def visit(name, path):
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            errors.append("scripts/check-layering.py: cycle in the table: " +
                          " -> ".join(path + [name]))
            return
        state[name] = "open"
        for dep in sorted(allowed.get(name, ())):
            visit(dep, path + [name])
        state[name] = "done"

    for name in allowed:
        visit(name, [])
    for name, deps in allowed.items():
        for dep in sorted(deps & allowed.keys()):
            for missing in sorted(allowed[dep] - deps - {name}):
                errors.append(f"scripts/check-layering.py: layer {name} may include {dep}, which "
                              f"may include {missing}: add {missing} to {name}'s list")
    return errors


def layer_of_path(rel):
    """The layer of a repository path (src/kestrel/x/..., include/kestrel/..., bench/..., fuzz/...),
    or (None, folder name) for a folder under src/kestrel/ the table does not know."""
    parts = rel.split("/")
    if parts[0] in TOOLS:
        return TOOLS[parts[0]], None
    best = None
    for name, folder, _, _ in LAYERS + [TESTING]:
        if rel.startswith(folder + "/") and (best is None or len(folder) > len(best[1])):
            best = (name, folder)
    if best:
        return best[0], None
    if len(parts) > 3 and parts[:2] == ["src", "kestrel"]:
        return None, parts[2]
    return None, None


def layer_of_include(root, header):
    """The layer of an included `kestrel/...` header, or (None, its folder) when unknown."""
    rest = header[len("kestrel/"):]
    if "/" not in rest:  # kestrel/host_api_v1.h: a public header in include/kestrel/
        return layer_of_path("include/kestrel/" + rest)
    return layer_of_path("src/kestrel/" + rest)


def source_files(root):
    for top in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for f in sorted(filenames):
                if f.endswith(SOURCE_EXTENSIONS):
                    yield os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")


def include_errors(root):
    allowed = {name: set(deps) | {name} for name, _, deps, _ in LAYERS + [TESTING]}
    errors = []
    unknown_folders = set()
    for rel in source_files(root):
        layer, unknown = layer_of_path(rel)
        if unknown:
            unknown_folders.add(unknown)
            continue
        if layer is None:
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                header = m.group(2)
                where = f"{rel}:{lineno}"
                if header.startswith("kestrel/"):
                    target, unknown_target = layer_of_include(root, header)
                    if target is None:
                        errors.append(f"{where}: {header} is in no layer of the table "
                                      f"(src/kestrel/{unknown_target or '?'}): add it to "
                                      f"LAYERS in scripts/check-layering.py")
                    elif (layer not in TOOLS.values() and target not in allowed[layer] and
                          not (target == TESTING[0] and rel.endswith("_test.cc"))):
                        errors.append(f"{where}: layer {layer} may not include layer {target} "
                                      f"({header})")
                    continue
                sub = rel[len("src/kestrel/"):] if rel.startswith("src/kestrel/") else None
                for pattern, folders, what in RESTRICTED:
                    if not re.fullmatch(pattern, header) or layer in TOOLS.values():
                        continue
                    if sub is None or not any(sub.startswith(p + "/") for p in folders):
                        spelled = f"<{header}>" if m.group(1) == "<" else f'"{header}"'
                        errors.append(f"{where}: layer {layer} may not include {what} "
                                      f"({spelled}; only {', '.join(folders)} may)")
    for folder in sorted(unknown_folders):
        errors.append(f"src/kestrel/{folder}: folder is no layer of the table: add it to LAYERS in "
                      f"scripts/check-layering.py")
    return errors


def names_header(text, filename):
    stem = re.escape(filename[:-2])
    return re.search(r"(?<![\w.-])" + stem + r"\.(h\b|\{[^}]*\bh\b[^}]*\})", text) is not None


def readme_errors(root):
    """Each README.md under src/kestrel/ names the headers of its folder and of its sub-folders
    without a README; each folder with headers is covered by a README."""
    errors = []
    base = os.path.join(root, "src", "kestrel")
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        if dirpath == base or "README.md" not in filenames:
            continue
        with open(os.path.join(dirpath, "README.md"), encoding="utf-8") as f:
            text = f.read()
        for sub, subdirs, files in os.walk(dirpath):
            subdirs.sort()
            if sub != dirpath and os.path.exists(os.path.join(sub, "README.md")):
                subdirs[:] = []
                continue
            for h in sorted(files):
                if h.endswith(".h") and not names_header(text, h):
                    rel_h = os.path.relpath(os.path.join(sub, h), root).replace(os.sep, "/")
                    errors.append(f"{rel_dir}/README.md:1: does not name the header {h} ({rel_h})")
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        if dirpath == base or not any(f.endswith(".h") for f in filenames):
            continue
        d = dirpath
        while d != base and not os.path.exists(os.path.join(d, "README.md")):
            d = os.path.dirname(d)
        if d == base:
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            errors.append(f"{rel_dir}: has headers but no README.md (in it or a parent folder "
                          f"under src/kestrel/)")
    return errors


def markdown():
    lines = [DOC_BEGIN,
             "| layer | folder | may include (besides itself) | holds |",
             "|---|---|---|---|"]
    for name, folder, deps, holds in LAYERS:
        lines.append(f"| `{name}` | `{folder}/` | {', '.join(deps) if deps else '—'} | {holds} |")
    lines.append(f"| tools: `{'`, `'.join(TOOLS)}` | `{'/`, `'.join(TOOLS)}/` | every layer | "
                 "benchmarks and fuzzers |")
    name, folder, deps, holds = TESTING
    lines.append(f"| `{name}` | `{folder}/` | {', '.join(deps)} | {holds}; included only by "
                 "`*_test.cc` files |")
    lines.append("")
    lines.append("Third-party headers only some folders may include (paths under `src/kestrel/`; "
                 "the tools")
    lines.append("may include them too):")
    lines.append("")
    for pattern, folders, what in RESTRICTED:
        lines.append(f"- {what} (`{pattern}`): {', '.join(f'`{p}/`' for p in folders)}")
    lines.append(DOC_END)
    return "\n".join(lines) + "\n"


def doc_block(text):
    begin = text.find(DOC_BEGIN)
    end = text.find(DOC_END, begin + 1) if begin >= 0 else -1
    if begin < 0 or end < 0:
        return None, begin, end
    return text[begin:end + len(DOC_END)] + "\n", begin, end + len(DOC_END) + 1


def doc_errors(root):
    path = os.path.join(root, DOC)
    if not os.path.exists(path):
        return [f"{DOC}:1: missing (it shows the layering table)"]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    block, begin, _ = doc_block(text)
    if block is None:
        return [f"{DOC}:1: no layering table between the markers {DOC_BEGIN!r} and {DOC_END!r}"]
    if block != markdown():
        line = text.count("\n", 0, begin) + 1
        return [f"{DOC}:{line}: the layering table differs from scripts/check-layering.py's: run "
                f"scripts/check-layering.py --write-doc"]
    return []


def write_doc(root):
    path = os.path.join(root, DOC)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    block, begin, end = doc_block(text)
    if block is None:
        sys.exit(f"{DOC}: no markers {DOC_BEGIN!r} ... {DOC_END!r} to put the table between")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[:begin] + markdown() + text[end:])


def check(root):
    errors = table_errors() + include_errors(root) + readme_errors(root) + doc_errors(root)
    for e in errors:
        print(e)
    if errors:
        print(f"layering check: {len(errors)} error(s)", file=sys.stderr)
        return 1
    print("layering check: ok (includes, third-party headers, folder READMEs, docs/architecture.md)")
    return 0


def self_test(repo):
    """Plants one violation at a time in a temporary copy of the checked files and expects the
    check to fail with the right message; the unmodified copy must pass."""
    script = os.path.abspath(__file__)

    def copy_tree(dst):
        for top in SCANNED_DIRS:
            for dirpath, _, filenames in os.walk(os.path.join(repo, top)):
                for f in filenames:
                    if f.endswith(SOURCE_EXTENSIONS) or f == "README.md":
                        src = os.path.join(dirpath, f)
                        out = os.path.join(dst, os.path.relpath(src, repo))
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        shutil.copyfile(src, out)
        os.makedirs(os.path.join(dst, "docs"), exist_ok=True)
        if os.path.exists(os.path.join(repo, DOC)):
            shutil.copyfile(os.path.join(repo, DOC), os.path.join(dst, DOC))

    def plant_include(path, line):
        def do(tree):
            p = os.path.join(tree, path)
            with open(p, encoding="utf-8") as f:
                text = f.read()
            with open(p, "w", encoding="utf-8") as f:
                f.write(text.replace("#pragma once\n", "#pragma once\n" + line + "\n", 1))
        return do

    def add_file(path, text):
        def do(tree):
            with open(os.path.join(tree, path), "w", encoding="utf-8") as f:
                f.write(text)
        return do

    def edit_doc(tree):
        p = os.path.join(tree, DOC)
        with open(p, encoding="utf-8") as f:
            text = f.read()
        with open(p, "w", encoding="utf-8") as f:
            f.write(text.replace("| `engine` | `src/kestrel/engine/` | base,",
                                 "| `engine` | `src/kestrel/engine/` | cli, base,", 1))

    cases = [
        ("the tree as it is", None, None),
        ("upward include: engine includes cli",
         plant_include("src/kestrel/engine/detector.h", '#include "kestrel/cli/doctor_command.h"'),
         re.compile(r"^src/kestrel/engine/detector\.h:\d+: layer engine may not include layer cli "
                    r"\(kestrel/cli/doctor_command\.h\)$", re.M)),
        ("sideways include: sources includes engine",
         plant_include("src/kestrel/sources/source.h", '#include "kestrel/engine/alert.h"'),
         "layer sources may not include layer engine (kestrel/engine/alert.h)"),
        ("only cli includes pipeline: bus includes it",
         plant_include("src/kestrel/bus/spsc_ring.h", '#include "kestrel/pipeline/pipeline.h"'),
         "layer bus may not include layer pipeline (kestrel/pipeline/pipeline.h)"),
        ("a folder missing from the table",
         plant_include("src/kestrel/engine/detector.h", '#include "kestrel/nowhere/x.h"'),
         "kestrel/nowhere/x.h is in no layer of the table"),
        ("libbpf outside sources/ebpf: cli includes it",
         plant_include("src/kestrel/cli/doctor_command.h", "#include <bpf/libbpf.h>"),
         "layer cli may not include libbpf and the eBPF skeletons (<bpf/libbpf.h>;"),
        ("a header its folder README does not name",
         add_file("src/kestrel/bus/planted_queue.h", "#pragma once\n"),
         "src/kestrel/bus/README.md:1: does not name the header planted_queue.h"),
        ("docs/architecture.md's table edited by hand", edit_doc,
         "docs/architecture.md:"),
    ]
    cases.append(("a table with a cycle: base may include cli", "table",
                  "cycle in the table: "))
    failures = 0
    for title, plant, expected in cases:
        with tempfile.TemporaryDirectory(prefix="kestrel-layering-") as tree:
            copy_tree(tree)
            checker = script
            if plant == "table":  # a copy of this script whose table has an upward edge
                checker = os.path.join(tree, "check-layering.py")
                with open(script, encoding="utf-8") as f:
                    text = f.read()
                with open(checker, "w", encoding="utf-8") as f:
                    f.write(text.replace('("base", "src/kestrel/base", [],',
                                         '("base", "src/kestrel/base", ["cli"],', 1))
            elif plant:
                plant(tree)
            r = subprocess.run([sys.executable, checker, "--root", tree], capture_output=True,
                               text=True)
        out = r.stdout.strip()
        if expected is None:
            ok = r.returncode == 0
        elif isinstance(expected, str):
            ok = r.returncode == 1 and expected in out
        else:
            ok = r.returncode == 1 and expected.search(out) is not None
        print(f"{'ok  ' if ok else 'FAIL'} {title}: exit {r.returncode}")
        lines = out.splitlines()
        for line in lines[:3]:
            print(f"       {line}")
        if len(lines) > 3:
            print(f"       ... and {len(lines) - 3} more")
        failures += not ok
    print(f"layering self-test: {len(cases) - failures} of {len(cases)} cases behave as expected")
    return 1 if failures else 0


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=repo, help="the tree to check (default: this repository)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--markdown", action="store_true", help="print the table for the docs")
    mode.add_argument("--write-doc", action="store_true", help=f"rewrite the table in {DOC}")
    mode.add_argument("--self-test", action="store_true", help="plant violations, expect failures")
    args = ap.parse_args()
    if args.markdown:
        sys.stdout.write(markdown())
        return 0
    if args.write_doc:
        write_doc(args.root)
        return 0
    if args.self_test:
        return self_test(args.root)
    return check(args.root)


if __name__ == "__main__":
    sys.exit(main())
