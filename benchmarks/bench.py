"""legoc benchmarks: CLI start-up, compile-time growth, generated forward passes.

Run from anywhere with the project's interpreter:

    .venv/bin/python benchmarks/bench.py            # full run (several minutes)
    .venv/bin/python benchmarks/bench.py --quick    # fewer repeats, smaller U-Net
    .venv/bin/python benchmarks/bench.py --json results.json
    .venv/bin/python benchmarks/bench.py --skip forward   # or cli, breakdown, growth, examples, scale

Every measured process runs outside the repository, so that it imports the
installed legoc (editable or regular), never the source tree.

It prints markdown tables ready for docs/performance.md, with the machine's
description. Every figure is a median over repeated runs on the machine at
hand. Measured processes run without PYTHONDONTWRITEBYTECODE, so that
Python uses bytecode caches as an installed legoc does.

1. CLI: `legoc check examples/resnet50.lego` and `legoc examples/resnet50.lego
   -o ...`, each as a whole process (`python -m legoc`), beside its floor run
   alternately in the same loop: `python -c "import lark"` for check, `python
   -c "import lark, jinja2, black"` for build.
   A breakdown runs the check's phases in one process and times each
   (legoc's imports, with the standard library modules they bring, and the
   part of them that is `@dataclass` building classes; loading the parse
   tables; parsing the prelude and the spec; analysis). legoc does not
   import Lark to check or build: it runs prebuilt tables (legoc/syntax/lalr.py).
2. Growth: synthetic specs of 100, 1,000 and 10,000 layers (one sequential
   model; deeply nested residuals), each checked and compiled in a fresh
   process that reports the time of `check_source` / `compile_source` (with
   legoc, jinja2 and black already imported, and the garbage collector
   set as the command line sets it, `cli.fewer_collections`) and its peak
   resident memory (VmHWM from /proc/self/status; ru_maxrss elsewhere).
2b. Examples and scale (issue 16), whole `legoc check` processes in CPU
   time (user + system: a shared machine disturbs it far less than wall
   time): every shipped example against `python -c "import lark"` in
   alternating pairs; a 100,000-layer sequential spec against the
   10,000-layer one in alternating pairs, with the peak memory of each; a
   million comment lines; and the bytes of diagnostics a one-line spec of
   200 and 2,000 layers makes `legoc check` write.
3. Forward: the generated ResNet-50 and U-Net against the hand-written
   modules of benchmarks/reference.py, with the same weights (outputs checked
   equal first), CPU, batch 8, eval mode, fixed torch threads, runs
   alternating in the order a b, b a, a b, ..., in several fresh processes:
   the ratio reported is the median over processes of each process's median
   ratio within back-to-back pairs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
RESNET50 = ROOT / "examples" / "resnet50.lego"
UNET = ROOT / "examples" / "unet.lego"
SIZES = (100, 1_000, 10_000)
NEST_DEPTH = 50  # residual levels per group; legoc's nesting limit is 100


# --------------------------------------------------------------------------- #
# Machine description
# --------------------------------------------------------------------------- #


def machine_info() -> dict[str, str]:
    """CPU model, core counts, OS, Python and torch versions."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    return {
        "cpu": cpu,
        "logical_cores": str(os.cpu_count()),
        "usable_cores": str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "?",
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch_version,
    }


# --------------------------------------------------------------------------- #
# 1. Whole-process CLI timings
# --------------------------------------------------------------------------- #


def process_env() -> dict[str, str]:
    """The environment for measured processes: this one's, less
    PYTHONDONTWRITEBYTECODE, so that Python keeps its bytecode caches as on
    an ordinary install (pip compiles them when it installs legoc; the
    warm-up runs write them for a source checkout)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# Measured processes run outside the repository, so that `python -m legoc`
# and `import legoc` find the installed legoc, editable or regular, with
# its bytecode caches, not the source tree.
OUTSIDE = tempfile.gettempdir()


def time_process(argv: list[str]) -> float:
    """Wall time of one whole process, in seconds; raises if it fails."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=OUTSIDE, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=process_env())
    return time.perf_counter() - start


def cpu_process(argv: list[str], ok: tuple[int, ...] = (0,)) -> dict:
    """One whole process, run outside the repository: its CPU time (user +
    system, from the kernel's accounting, which a busy shared machine
    disturbs far less than wall time), wall time, exit status, the bytes it
    wrote to standard output, and the last line of its standard error."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, cwd=OUTSIDE, stdout=out, stderr=err, env=process_env())
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
        written = out.seek(0, os.SEEK_END)
    if process.returncode not in ok:
        raise RuntimeError(f"{argv} exited {process.returncode}: {lines[-5:]}")
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall, "status": process.returncode,
            "stdout_bytes": written, "last_stderr": lines[-1] if lines else ""}


def bench_cli(repeats: int) -> list[dict]:
    """Median wall times of the legoc CLI and its import floor, alternated."""
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "resnet50.py")
        cases = [
            ("legoc check examples/resnet50.lego", [py, "-m", "legoc", "check", str(RESNET50)],
             'python -c "import lark"', [py, "-c", "import lark"]),
            ("legoc examples/resnet50.lego -o OUT", [py, "-m", "legoc", str(RESNET50), "-o", out],
             'python -c "import lark, jinja2, black"', [py, "-c", "import lark, jinja2, black"]),
        ]
        rows = []
        for name, argv, floor_name, floor_argv in cases:
            for _ in range(2):  # warm the file cache and write bytecode caches
                time_process(argv), time_process(floor_argv)
            times, floors = [], []
            for _ in range(repeats):
                times.append(time_process(argv))
                floors.append(time_process(floor_argv))
            t, f = statistics.median(times), statistics.median(floors)
            rows.append({"command": name, "median_s": t, "floor": floor_name, "floor_median_s": f,
                         "ratio": t / f, "repeats": repeats})
    return rows


BREAKDOWN_WORKER = r"""
import time
start = time.perf_counter()
import dataclasses, sys
classes = [0.0]
process_class = dataclasses._process_class
def timed(*args, **kwargs):  # measurement only: how long @dataclass takes
    t = time.perf_counter()
    try:
        return process_class(*args, **kwargs)
    finally:
        classes[0] += time.perf_counter() - t
dataclasses._process_class = timed
marks = [("python start-up, to the first line", start)]
def mark(name):
    marks.append((name, time.perf_counter()))
import legoc.tools.check, legoc.cli
mark("import legoc (check path, with the standard library it uses)")
legoc_classes = classes[0]
assert "lark" not in sys.modules
from legoc.syntax.automaton import lalr_parser
from legoc.syntax.parser import parse_recovering
from legoc.compiler import analyze_program, prelude
lalr_parser()
mark("load the parse tables")
prelude()
mark("parse the prelude")
text = open(sys.argv[1]).read()
program, found, broken = parse_recovering(text, "spec.lego")
mark("parse the spec")
analyze_program(program, broken)
mark("analyse (prelude blocks used, the spec, lint rules)")
rows = [(name, t - prev) for (_, prev), (name, t) in zip(marks, marks[1:])]
import json
print(json.dumps({"phases": rows, "legoc_dataclasses_s": legoc_classes}))
"""


def bench_breakdown(repeats: int) -> dict:
    """Where the time of `legoc check examples/resnet50.lego` goes, phase by
    phase in one fresh process (medians over `repeats` processes), and the
    start-up of a bare interpreter, for scale."""
    runs = []
    for i in range(repeats + 1):
        done = subprocess.run([sys.executable, "-c", BREAKDOWN_WORKER, str(RESNET50)],
                              cwd=OUTSIDE, check=True, capture_output=True, text=True, env=process_env())
        if i:  # the first run writes bytecode caches
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    names = [name for name, _ in runs[0]["phases"]]
    phases = [(name, statistics.median(r["phases"][i][1] for r in runs)) for i, name in enumerate(names)]
    bare = statistics.median(time_process([sys.executable, "-c", "pass"]) for _ in range(repeats))
    return {"phases": phases, "legoc_dataclasses_s": statistics.median(r["legoc_dataclasses_s"] for r in runs),
            "bare_python_s": bare, "repeats": repeats}


# --------------------------------------------------------------------------- #
# 2. Compile-time growth
# --------------------------------------------------------------------------- #


def sequential_spec(layers: int) -> str:
    """One model of `layers` layer calls: conv / relu alternately."""
    lines = ["model Sequential():", "    input [8, 32, 32]"]
    for i in range(layers):
        lines.append("    conv 8 kernel_size=3" if i % 2 == 0 else "    relu")
    return "\n".join(lines) + "\n"


def nested_spec(layers: int, depth: int = NEST_DEPTH) -> str:
    """Residuals nested `depth` deep, groups repeated until `layers` layer calls.

    A level is `conv 8 kernel_size=3; bn; res add < inner >`: two layer calls
    (conv, bn) inside a residual, so a group of depth d holds 2 * d layers.
    """
    lines = ["model Nested():", "    input [8, 32, 32]"]
    count = 0
    while count < layers:
        d = max(1, min(depth, (layers - count) // 2))
        body = "conv 8 kernel_size=3; bn"
        for _ in range(d - 1):
            body = f"conv 8 kernel_size=3; bn; res add < {body} >"
        lines.append(f"    res add < {body} >")
        count += 2 * d
    return "\n".join(lines) + "\n"


SPECS = {"sequential": sequential_spec, "nested residuals": nested_spec}

WORKER = r"""
import json, resource, sys, time
from legoc.cli import fewer_collections
from legoc.compiler import check_source, compile_source
import black, jinja2  # imported by the first build; module imports are not compile time
text = open(sys.argv[2]).read()
fn = check_source if sys.argv[1] == "check" else compile_source
with fewer_collections():  # as the command line runs it
    start = time.perf_counter()
    fn(text, "synthetic.lego")
    elapsed = time.perf_counter() - start
try:  # VmHWM: this process's own peak; ru_maxrss would carry the parent's over fork + exec
    status = open("/proc/self/status").read()
    rss = int(status.split("VmHWM:")[1].split()[0])  # KiB
except (OSError, IndexError):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    if sys.platform == "darwin":
        rss //= 1024
print(json.dumps({"seconds": elapsed, "maxrss_kib": rss}))
"""


def compile_in_process(mode: str, spec_path: str) -> dict:
    """Check or compile a spec in a fresh interpreter; its time and peak RSS."""
    done = subprocess.run([sys.executable, "-c", WORKER, mode, spec_path],
                          cwd=OUTSIDE, check=True, capture_output=True, text=True, env=process_env())
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_growth(repeats: int, sizes: tuple[int, ...] = SIZES) -> list[dict]:
    """Check and build time (median) and peak RSS (max) per synthetic spec."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, make in SPECS.items():
            for n in sizes:
                path = Path(tmp) / f"{kind.split()[0]}_{n}.lego"
                path.write_text(make(n))
                row = {"spec": kind, "layers": n}
                for mode in ("check", "build"):
                    runs = [compile_in_process(mode, str(path)) for _ in range(repeats)]
                    row[f"{mode}_s"] = statistics.median(r["seconds"] for r in runs)
                    row[f"{mode}_maxrss_mib"] = max(r["maxrss_kib"] for r in runs) / 1024
                rows.append(row)
                print(f"  growth: {kind} {n}: check {row['check_s']:.3f} s, build {row['build_s']:.3f} s",
                      file=sys.stderr)
    return rows


# --------------------------------------------------------------------------- #
# 2b. Every example's check, and the check at scale (whole processes, CPU time)
# --------------------------------------------------------------------------- #

EXAMPLES = ROOT / "examples"
SCALE_SIZES = (10_000, 100_000)  # 100,000 layer calls is the default `max-layers`
COMMENT_LINES = 1_000_000
OUTPUT_SIZES = (200, 2_000)

# `legoc check FILE` as the command line runs it (`cli.main`, the same as
# `python -m legoc check FILE`), then the process's own peak resident memory
# on standard error: the kernel's ru_maxrss of a child would also count the
# parent's memory, which the child's address space starts as (fork + exec).
CHECK_WORKER = r"""
import sys
from legoc.cli import main
status = main(["check", *sys.argv[1:]])
sys.stdout.flush()
try:
    status_text = open("/proc/self/status").read()
    peak = int(status_text.split("VmHWM:")[1].split()[0])  # KiB
except (OSError, IndexError):
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
print(f"peak-kib {peak}", file=sys.stderr)
sys.exit(status)
"""


def run_check(path: Path, ok: tuple[int, ...] = (0,)) -> dict:
    """`legoc check PATH` in a fresh process: CPU and wall time, peak
    resident memory (MiB), exit status and bytes of output."""
    result = cpu_process([sys.executable, "-c", CHECK_WORKER, str(path)], ok)
    result["peak_mib"] = int(result.pop("last_stderr").split()[-1]) / 1024
    return result


def bench_examples(pairs: int) -> list[dict]:
    """`legoc check` of every shipped example against `python -c "import
    lark"`, in CPU time, run in alternate pairs; the median of the pairs'
    ratios (each pair back to back, so that a busy spell of the machine
    weighs on both sides alike)."""
    floor = [sys.executable, "-c", "import lark"]
    rows = []
    for spec in sorted(EXAMPLES.glob("*.lego")):
        argv = [sys.executable, "-m", "legoc", "check", str(spec)]
        cpu_process(argv), cpu_process(floor)  # warm the file cache and write bytecode caches
        ratios, times, floors = [], [], []
        for i in range(pairs):
            first, second = (argv, floor) if i % 2 == 0 else (floor, argv)
            a, b = cpu_process(first)["cpu_s"], cpu_process(second)["cpu_s"]
            t, f = (a, b) if i % 2 == 0 else (b, a)
            times.append(t), floors.append(f), ratios.append(t / f)
        rows.append({"example": spec.name, "cpu_s": statistics.median(times), "floor_cpu_s": statistics.median(floors),
                     "ratio": statistics.median(ratios), "pairs": pairs})
        print(f"  examples: {spec.name}: {rows[-1]['ratio']:.2f}x", file=sys.stderr)
    return rows


def one_line_spec(layers: int) -> str:
    """`relu; relu; ...` on one line: every relu after the first is a
    warning (two activations in a row, LG502) pointing into that line."""
    return "model OneLine():\n    input [8, 32, 32]\n    " + "; ".join(["relu"] * layers) + "\n"


def bench_scale(pairs: int) -> dict:
    """The check at scale, whole `legoc check` processes:

    - a sequential spec of 10,000 and of 100,000 layers (`sequential_spec`),
      run in alternate pairs: CPU time, the median of the pairs' ratios, and
      the largest peak memory;
    - a million comment lines (`#`, a 2 MB file: the default
      `max-file-bytes` is 4 MB) above a small model: CPU time;
    - the diagnostics written for a one-line spec of 200 and 2,000 layers
      (`one_line_spec`): bytes of output, which should grow as the spec does.
    """
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        small, large = (Path(tmp) / f"sequential_{n}.lego" for n in SCALE_SIZES)
        small.write_text(sequential_spec(SCALE_SIZES[0]))
        large.write_text(sequential_spec(SCALE_SIZES[1]))
        run_check(small)
        runs = {n: [] for n in SCALE_SIZES}
        ratios = []
        for i in range(pairs):
            order = (small, large) if i % 2 == 0 else (large, small)
            done = {path: run_check(path) for path in order}
            runs[SCALE_SIZES[0]].append(done[small]), runs[SCALE_SIZES[1]].append(done[large])
            ratios.append(done[large]["cpu_s"] / done[small]["cpu_s"])
            print(f"  scale: {SCALE_SIZES[1]:,} / {SCALE_SIZES[0]:,} layers: {ratios[-1]:.2f}x "
                  f"({done[large]['cpu_s']:.2f} s / {done[small]['cpu_s']:.2f} s CPU)", file=sys.stderr)
        out["sequential"] = [
            {"layers": n, "cpu_s": statistics.median(r["cpu_s"] for r in rs), "wall_s": statistics.median(r["wall_s"] for r in rs),
             "peak_mib": max(r["peak_mib"] for r in rs), "runs": len(rs)}
            for n, rs in runs.items()
        ]
        out["sequential_ratio"] = statistics.median(ratios)
        out["sequential_ratios"] = ratios

        comments = Path(tmp) / "comments.lego"
        comments.write_text("#\n" * COMMENT_LINES + "model M():\n    input [3, 8, 8]\n    relu\n")
        done = run_check(comments)
        out["comments"] = {"lines": COMMENT_LINES, "bytes": comments.stat().st_size, "cpu_s": done["cpu_s"],
                           "wall_s": done["wall_s"], "peak_mib": done["peak_mib"]}
        print(f"  scale: {COMMENT_LINES:,} comment lines: {done['cpu_s']:.2f} s CPU", file=sys.stderr)

        output = []
        for n in OUTPUT_SIZES:
            path = Path(tmp) / f"one_line_{n}.lego"
            path.write_text(one_line_spec(n))
            done = run_check(path)
            output.append({"layers": n, "spec_bytes": path.stat().st_size, "output_bytes": done["stdout_bytes"]})
        out["output"] = output
        out["output_ratio"] = output[1]["output_bytes"] / max(1, output[0]["output_bytes"])
        print(f"  scale: diagnostics output {OUTPUT_SIZES[1]:,} / {OUTPUT_SIZES[0]:,} layers on one line: "
              f"{out['output_ratio']:.1f}x", file=sys.stderr)
    return out


# --------------------------------------------------------------------------- #
# 3. Forward passes against the hand-written references
# --------------------------------------------------------------------------- #


def load_generated(spec: Path, tmp: str):
    """Compile `spec` with legoc (the installed one: see OUTSIDE) and import
    the generated file as a module."""
    from legoc.compiler import compile_source

    code = compile_source(spec.read_text(), spec.name).code
    path = Path(tmp) / f"generated_{spec.stem}.py"
    path.write_text(code)
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def load_reference():
    """Import benchmarks/reference.py."""
    sys.path.insert(0, str(BENCH))
    import reference

    return reference


def time_alternating(a, b, x, warmup: int, repeats: int) -> tuple[float, float, float]:
    """Median forward times of models a and b, run alternately, in the
    order a b, b a, a b, ... so that neither always runs right after the
    other (the allocator and caches favour one order), and the median of
    the ratios a / b within each pair (run back to back, so that a slower
    spell of a shared machine weighs on both sides of a ratio alike)."""
    import torch

    with torch.inference_mode():
        for _ in range(warmup):
            a(x), b(x)
        ta, tb = [], []
        for i in range(repeats):
            pairs = ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta))
            for model, times in pairs:
                start = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - start)
    return statistics.median(ta), statistics.median(tb), statistics.median(p / q for p, q in zip(ta, tb))


def check_equal(generated, reference, x) -> str:
    """Assert the two models agree on x; 'bitwise' or 'allclose'."""
    import torch

    with torch.inference_mode():
        a, b = generated(x), reference(x)
    if torch.equal(a, b):
        return "bitwise"
    torch.testing.assert_close(a, b)
    return "allclose"


FORWARD_CASES = {  # name: (spec, generated class, reference class, state_dict renaming, input size, pairs a process)
    "ResNet-50": (RESNET50, "ResNet50", "ResNet50", None, 224, 6),
    "U-Net": (UNET, "UNet", "UNet", "unet_state_dict_from_generated", 256, 3),  # 5 s a pass
}


def forward_in_process(name: str, threads: int, pairs: int, warmup: int, size: int, batch: int) -> dict:
    """One process's comparison of a generated model with its reference:
    outputs checked equal first, then `pairs` alternated pairs of passes
    (`time_alternating`). Runs in a fresh process of its own
    (`bench.py --forward-worker`): see `bench_forward`."""
    import torch

    spec, cls, ref_name, rename, *_ = FORWARD_CASES[name]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    reference = load_reference()
    with tempfile.TemporaryDirectory() as tmp:
        generated = getattr(load_generated(spec, tmp), cls)()
    # Random batch-norm statistics, so eval mode does not reduce bn to identity.
    for module in generated.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    ref = getattr(reference, ref_name)()
    state = generated.state_dict()
    ref.load_state_dict(getattr(reference, rename)(state) if rename else state, strict=True)
    generated.eval(), ref.eval()
    x = torch.randn(batch, 3, size, size)
    agreement = check_equal(generated, ref, x)
    tg, tr, ratio = time_alternating(generated, ref, x, warmup, pairs)
    return {"generated_s": tg, "reference_s": tr, "ratio": ratio, "outputs": agreement}


def bench_forward(threads: int, processes: int, pairs: int | None, warmup: int, unet_size: int, batch: int = 8) -> list[dict]:
    """Generated vs reference ResNet-50 and U-Net forward passes, each
    compared in `processes` fresh processes; the medians over processes.

    Within one process the ratio barely moves from one set of pairs to the
    next, but it moves by several per cent from one process to another
    (where each model's tensors land in memory), so one process's figure,
    however many passes it times, is one draw of that."""
    rows = []
    for name, (*_, default_size, default_pairs) in FORWARD_CASES.items():
        size = unet_size if name == "U-Net" else default_size
        n_pairs = pairs or default_pairs
        runs = []
        for _ in range(processes):
            argv = [sys.executable, str(Path(__file__).resolve()), "--forward-worker", name, "--threads", str(threads),
                    "--forward-pairs", str(n_pairs), "--forward-warmup", str(warmup), "--unet-size", str(size)]
            done = subprocess.run(argv, cwd=OUTSIDE, check=True, capture_output=True, text=True, env=process_env())
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        row = {"model": name, "input": f"[{batch}, 3, {size}, {size}]", "threads": threads,
               "generated_s": statistics.median(r["generated_s"] for r in runs),
               "reference_s": statistics.median(r["reference_s"] for r in runs),
               "ratio": statistics.median(r["ratio"] for r in runs),
               "process_ratios": [r["ratio"] for r in runs],
               "outputs": "bitwise" if all(r["outputs"] == "bitwise" for r in runs) else "allclose",
               "processes": processes, "pairs": n_pairs}
        rows.append(row)
        shown = ", ".join(f"{r:.3f}" for r in row["process_ratios"])
        print(f"  forward: {name}: ratio {row['ratio']:.3f} (processes: {shown})", file=sys.stderr)
    return rows


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #


def targets(results: dict) -> list[tuple[str, str, bool]]:
    """Issue #9's targets against the measured figures: (target, measured, met)."""
    rows = []
    for r in results.get("cli", []):
        rows.append((f"`{r['command']}` at most 1.5x `{r['floor']}`", f"{r['ratio']:.2f}x", r["ratio"] <= 1.5))
    for r in results.get("growth", []):
        if r["layers"] == 10_000:
            rows.append((f"{r['spec']}, 10,000 layers: build under 2 s", f"{r['build_s']:.2f} s", r["build_s"] < 2))
    for kind, ratio in results.get("growth_ratios", {}).items():
        rows.append((f"{kind}: build time 10,000 / 1,000 layers at most 11", f"{ratio:.1f}", ratio <= 11))
    for r in results.get("examples", []):
        rows.append((f"`legoc check examples/{r['example']}` at most 1.5x `python -c \"import lark\"` (CPU time)",
                     f"{r['ratio']:.2f}x", r["ratio"] <= 1.5))
    scale = results.get("scale")
    if scale:
        small, large = scale["sequential"]
        rows.append((f"sequential, `legoc check`: {large['layers']:,} layers at most 12x the time of {small['layers']:,} (CPU time)",
                     f"{scale['sequential_ratio']:.1f}x", scale["sequential_ratio"] <= 12))
        rows.append((f"sequential, `legoc check` of {large['layers']:,} layers: peak memory under 300 MiB",
                     f"{large['peak_mib']:.0f} MiB", large["peak_mib"] < 300))
        c = scale["comments"]
        rows.append((f"`legoc check` of {c['lines']:,} comment lines under 5 s (CPU time)", f"{c['cpu_s']:.2f} s", c["cpu_s"] < 5))
        a, b = scale["output"]
        growth = b["spec_bytes"] / a["spec_bytes"]
        rows.append((f"diagnostics output, one line of {a['layers']:,} then {b['layers']:,} layers: grows as the spec "
                     f"({growth:.1f}x), at most 1.2 times that", f"{scale['output_ratio']:.1f}x", scale["output_ratio"] <= 1.2 * growth))
    for r in results.get("forward", []):
        rows.append((f"{r['model']} forward within 3% of the hand-written one, outputs equal",
                     f"{r['ratio']:.3f}, {r['outputs']}", abs(r["ratio"] - 1) <= 0.03))
    return rows


def _table(headings: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table's lines; a heading ending in `:` is a right-aligned
    (numeric) column."""
    align = ["---:" if h.endswith(":") else "---" for h in headings]
    lines = ["| " + " | ".join(h.removesuffix(":") for h in headings) + " |", "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(results: dict) -> str:
    """The results as markdown, for docs/performance.md."""
    info = results["machine"]
    out = [
        "## Machine",
        "",
        f"- CPU: {info['cpu']} ({info['logical_cores']} logical cores, {info['usable_cores']} usable)",
        f"- OS: {info['os']}",
        f"- Python {info['python']}, torch {info['torch']}",
        f"- Command: `{results['command']}`",
        "",
        "## Targets",
        "",
        *_table(["Target", "Measured:", "Met"], [[name, value, "yes" if met else "**no**"] for name, value, met in targets(results)]),
        "",
    ]
    if "cli" in results:
        out += ["## Command line (whole process, median)", ""]
        out += _table(["Command", "Median:", "Floor", "Floor median:", "Ratio:"], [
            [f"`{r['command']}`", f"{r['median_s'] * 1000:.0f} ms", f"`{r['floor']}`", f"{r['floor_median_s'] * 1000:.0f} ms",
             f"{r['ratio']:.2f}x"] for r in results["cli"]])
        out += ["", f"Median of {results['cli'][0]['repeats']} runs each, alternated with the floor.", ""]
    if "breakdown" in results:
        b = results["breakdown"]
        out += ["## Where `legoc check examples/resnet50.lego` spends its time (one process, median)", ""]
        out += _table(["Phase", "Time:"], [[name, f"{t * 1000:.1f} ms"] for name, t in b["phases"]])
        out += ["", f"Of the legoc imports, {b['legoc_dataclasses_s'] * 1000:.1f} ms is `@dataclass` building the "
                f"classes. A bare `python -c pass` takes {b['bare_python_s'] * 1000:.0f} ms (whole process). "
                f"Median of {b['repeats']} processes.", ""]
    if "growth" in results:
        out += ["## Compile-time growth (in-process time, median; peak RSS of the process)", ""]
        out += _table(["Spec", "Layers:", "Check:", "Build:", "Peak RSS (check):", "Peak RSS (build):"], [
            [r["spec"], f"{r['layers']:,}", f"{r['check_s']:.3f} s", f"{r['build_s']:.3f} s",
             f"{r['check_maxrss_mib']:.0f} MiB", f"{r['build_maxrss_mib']:.0f} MiB"] for r in results["growth"]])
        out.append("")
        for kind, ratio in results.get("growth_ratios", {}).items():
            out.append(f"- {kind}: build time 10,000 / 1,000 layers = {ratio:.1f}x (linear: 10x)")
        out.append("")
    if "examples" in results:
        out += ["## `legoc check` of every example (whole process, CPU time, median of paired runs)", ""]
        out += _table(["Example", "Check:", "`import lark`:", "Ratio:"], [
            [f"`{r['example']}`", f"{r['cpu_s'] * 1000:.0f} ms", f"{r['floor_cpu_s'] * 1000:.0f} ms", f"{r['ratio']:.2f}x"]
            for r in results["examples"]])
        out += ["", f"CPU time (user + system) of each whole process, {results['examples'][0]['pairs']} pairs each, "
                "the check and `python -c \"import lark\"` back to back in alternating order; the ratio is the median "
                "of the pairs' ratios, the times the medians of each side.", ""]
    if "scale" in results:
        sc = results["scale"]
        out += ["## `legoc check` at scale (whole process)", ""]
        out += _table(["Spec", "Layers:", "CPU time:", "Wall time:", "Peak memory:"], [
            ["sequential", f"{r['layers']:,}", f"{r['cpu_s']:.2f} s", f"{r['wall_s']:.2f} s", f"{r['peak_mib']:.0f} MiB"]
            for r in sc["sequential"]] + [
            [f"{sc['comments']['lines']:,} comment lines ({sc['comments']['bytes'] / 1e6:.1f} MB)", "1",
             f"{sc['comments']['cpu_s']:.2f} s", f"{sc['comments']['wall_s']:.2f} s", f"{sc['comments']['peak_mib']:.0f} MiB"]])
        shown = ", ".join(f"{r:.2f}" for r in sc["sequential_ratios"])
        out += ["", f"- sequential: CPU time {sc['sequential'][1]['layers']:,} / {sc['sequential'][0]['layers']:,} layers = "
                f"{sc['sequential_ratio']:.1f}x (linear: 10x; a whole process, so start-up weighs on the small one), "
                f"median of {len(sc['sequential_ratios'])} alternating pairs ({shown}); times are medians, memory the largest "
                "peak (VmHWM) of the process"]
        a, b = sc["output"]
        out += [f"- diagnostics: one line of {a['layers']:,} layers ({a['spec_bytes']:,} bytes) writes {a['output_bytes']:,} bytes, "
                f"{b['layers']:,} layers ({b['spec_bytes']:,} bytes) write {b['output_bytes']:,}: {sc['output_ratio']:.1f}x "
                f"for a spec {b['spec_bytes'] / a['spec_bytes']:.1f}x as large", ""]
    if "forward" in results:
        out += ["## Forward pass (CPU, eval, inference_mode, median)", ""]
        out += _table(["Model", "Input", "Threads:", "Generated:", "Hand-written:", "Ratio:", "Outputs"], [
            [r["model"], r["input"], str(r["threads"]), f"{r['generated_s'] * 1000:.0f} ms", f"{r['reference_s'] * 1000:.0f} ms",
             f"{r['ratio']:.3f}", f"{r['outputs']} equal"] for r in results["forward"]])
        f = results["forward"][0]
        pairs = ", ".join(f"{r['model']} {r['pairs']}" for r in results["forward"])
        out += ["", f"{f['processes']} fresh process{'es' if f['processes'] != 1 else ''}, each timing alternated pairs of passes ({pairs}) after warm-up; "
                    "times are the medians over processes of each process's median, the ratio the median over processes "
                    "of each process's median ratio within back-to-back pairs. Ratios by process: "
                    + "; ".join(f"{r['model']} " + ", ".join(f"{x:.3f}" for x in r["process_ratios"]) for r in results["forward"])
                    + ".", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a smaller U-Net input")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    parser.add_argument("--skip", action="append", default=[], choices=("cli", "breakdown", "growth", "examples", "scale", "forward"),
                        help="leave out a section (repeatable)")
    parser.add_argument("--cli-repeats", type=int, help="whole-process runs per CLI command (default 15; quick 5)")
    parser.add_argument("--growth-repeats", type=int, help="processes per synthetic spec (default 5; quick 1)")
    parser.add_argument("--example-pairs", type=int, help="paired runs of each example's check and its floor (default 9; quick 3)")
    parser.add_argument("--scale-pairs", type=int, help="paired runs of the 10,000- and 100,000-layer checks (default 5; quick 1)")
    parser.add_argument("--forward-processes", type=int, help="fresh processes per forward comparison (default 5; quick 1)")
    parser.add_argument("--forward-pairs", type=int, help="timed pairs of forward passes per process (default: ResNet-50 6, U-Net 3)")
    parser.add_argument("--forward-warmup", type=int, help="warm-up passes of each model per process, after the one that checks outputs (default 1)")
    parser.add_argument("--forward-worker", metavar="MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1),
                        help="torch.set_num_threads for the forward passes (default min(4, cores))")
    parser.add_argument("--unet-size", type=int, help="U-Net input height and width (default 256; quick 128)")
    args = parser.parse_args(argv)

    q = args.quick
    cli_repeats = args.cli_repeats or (5 if q else 15)
    growth_repeats = args.growth_repeats or (1 if q else 5)
    example_pairs = args.example_pairs or (3 if q else 9)
    scale_pairs = args.scale_pairs or (1 if q else 5)
    forward_processes = args.forward_processes or (1 if q else 5)
    forward_pairs = args.forward_pairs or (2 if q else None)
    forward_warmup = args.forward_warmup or 1
    unet_size = args.unet_size or (128 if q else 256)
    if args.forward_worker:
        result = forward_in_process(args.forward_worker, args.threads, forward_pairs or FORWARD_CASES[args.forward_worker][5], forward_warmup,
                                    unet_size if args.forward_worker == "U-Net" else 224, batch=8)
        print(json.dumps(result))
        return 0

    results: dict = {"machine": machine_info(),
                     "command": " ".join(["bench.py", *(argv if argv is not None else sys.argv[1:])])}
    if "cli" not in args.skip:
        print("CLI ...", file=sys.stderr)
        results["cli"] = bench_cli(cli_repeats)
    if "breakdown" not in args.skip:
        print("breakdown ...", file=sys.stderr)
        results["breakdown"] = bench_breakdown(cli_repeats)
    if "growth" not in args.skip:
        print("growth ...", file=sys.stderr)
        results["growth"] = bench_growth(growth_repeats)
        by = {(r["spec"], r["layers"]): r for r in results["growth"]}
        results["growth_ratios"] = {kind: by[(kind, 10_000)]["build_s"] / by[(kind, 1_000)]["build_s"]
                                    for kind in SPECS if (kind, 10_000) in by and (kind, 1_000) in by}
    if "examples" not in args.skip:
        print("examples ...", file=sys.stderr)
        results["examples"] = bench_examples(example_pairs)
    if "scale" not in args.skip:
        print("scale ...", file=sys.stderr)
        results["scale"] = bench_scale(scale_pairs)
    if "forward" not in args.skip:
        print("forward ...", file=sys.stderr)
        results["forward"] = bench_forward(args.threads, forward_processes, forward_pairs, forward_warmup, unet_size)

    print(markdown(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
