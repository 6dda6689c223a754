"""Resource limits: how big a spec legoc accepts, so that no input, however
large or hostile, makes it crash, hang or run out of memory.

Each limit gives an error with its own code (LG601-LG606) at the place that
crosses it, and can be raised or lowered under `[tool.legoc.limits]` in
pyproject.toml:

    [tool.legoc.limits]
    max-file-bytes = 4000000
    max-nesting = 100

docs/reliability.md lists them with their defaults and reasons.

Shape inference, code generation and the model commands recurse over the
nesting of a spec and over its block calls, and the two multiply: a block
at call depth 50 whose body nests 100 deep sits under 50 x 100 levels. So
legoc's recursive stages run under `deep`, with Python's recursion limit
raised to `RECURSION_LIMIT` (in a thread with a `STACK_BYTES` stack, so the
C stack holds it too), and `capped` keeps a configured `max-nesting` and
`max-call-depth` inside what that holds.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import asdict, dataclass, fields, replace

INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Limits:
    """The limits a compilation runs under.

    Attributes:
        max_file_bytes: the size of one spec file, in bytes of UTF-8 (LG601).
        max_nesting: how deeply brackets, residuals, parallels, repeats and
            arithmetic operators may nest inside one another (LG602).
        max_call_depth: how deeply block calls may nest: a block calling a
            block calling a block... (LG603).
        max_layers: layer calls in one file, counted in the text, before
            blocks and repeats multiply them (LG604).
        max_repeat: the count of one `repeat` (LG605).
        max_size: any one size: a channel or feature count, a spatial size, a
            number in the spec (LG606). A tensor's element count and a
            model's parameter count must fit in a signed 64-bit integer
            (torch's `numel`) whatever this is.
    """

    max_file_bytes: int = 4_000_000
    max_nesting: int = 100
    max_call_depth: int = 50
    max_layers: int = 100_000
    max_repeat: int = 10_000
    max_size: int = 2**31 - 1

    @staticmethod
    def setting(name: str) -> str:
        """The pyproject.toml key of a field: `max_file_bytes` -> `max-file-bytes`."""
        return name.replace("_", "-")


DEFAULT = Limits()

SETTINGS = {Limits.setting(f.name): f.name for f in fields(Limits)}
"""pyproject.toml key -> field name."""


# ------------------------------------------------------------- what legoc holds

RECURSION_LIMIT = 100_000
"""The recursion limit legoc's recursive stages run under (`deep`)."""

STACK_BYTES = 512 * 2**20
"""The stack of the thread they run in: address space, touched only as used."""

FRAMES_PER_LEVEL = 4
"""Python frames one level of nesting takes in the deepest stage: measured
3.05 for a residual, a parallel or `min(...)` in shape inference (a group
or unary minus takes 1 to 2), rounded up."""

FRAMES_PER_CALL = 6
"""Python frames one block call takes in the deepest stage (measured 5.0)."""

FRAMES_BASE = 1_000
"""Frames for whatever calls legoc (its command line, a test runner)."""

CAPS = {"max_size": INT64_MAX}
"""Fixed caps: torch's sizes are signed 64-bit integers. (`max-nesting` and
`max-call-depth` are capped together, by `frames_needed`; the other limits
bound time and memory, which grow linearly with them.)"""


def frames_needed(max_nesting: int, max_call_depth: int) -> int:
    """The Python frames a spec right at these limits can take: the model's
    body and each of `max_call_depth` nested block calls, each nesting
    `max_nesting` deep."""
    return FRAMES_BASE + (max_call_depth + 1) * (FRAMES_PER_CALL + FRAMES_PER_LEVEL * max_nesting)


def _largest(fits) -> int:
    """The largest n >= 1 with fits(n) (fits is monotone and fits(1))."""
    lo, hi = 1, 2
    while fits(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def capped(limits: Limits) -> tuple[Limits, list[str]]:
    """`limits` lowered to what legoc can hold, and a sentence for each limit
    that was lowered (naming its setting, the value asked for and the cap).

    `max-call-depth` is capped first, at what fits with the default nesting
    (or the configured one, if lower); then `max-nesting` at what fits with
    that call depth, so that a spec at both limits at once stays within
    `RECURSION_LIMIT` frames. `max-size` is capped at 2**63 - 1.
    """
    notes: list[str] = []
    values = asdict(limits)
    for name, cap in CAPS.items():
        if values[name] > cap:
            notes.append(f"{Limits.setting(name)} = {values[name]} is more than legoc can hold (at most {cap:,}, torch's largest size); using {cap}")
            values[name] = cap
    nesting = min(values["max_nesting"], DEFAULT.max_nesting)
    call_cap = _largest(lambda c: frames_needed(nesting, c) <= RECURSION_LIMIT)
    if values["max_call_depth"] > call_cap:
        notes.append(
            f"max-call-depth = {values['max_call_depth']} is more than legoc can hold (at most {call_cap} with max-nesting = {nesting}: "
            f"block calls and the nesting inside them recurse in legoc's analysis); using {call_cap}"
        )
        values["max_call_depth"] = call_cap
    nest_cap = _largest(lambda n: frames_needed(n, values["max_call_depth"]) <= RECURSION_LIMIT)
    if values["max_nesting"] > nest_cap:
        notes.append(
            f"max-nesting = {values['max_nesting']} is more than legoc can hold (at most {nest_cap} with max-call-depth = {values['max_call_depth']}: "
            f"nesting inside block calls recurses in legoc's analysis); using {nest_cap}"
        )
        values["max_nesting"] = nest_cap
    return (limits if not notes else replace(limits, **values)), notes


_local = threading.local()
_lock = threading.Lock()
_running = [0, 0]  # deep stages running in any thread, and the recursion limit before the first


def deep(function):
    """Decorate one of legoc's recursive stages: run it with Python's
    recursion limit raised to `RECURSION_LIMIT`, in a thread with a
    `STACK_BYTES` stack (a nested call runs directly in that thread).
    Its result or exception passes through unchanged; the recursion limit
    is restored when the last such stage ends."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if getattr(_local, "deep", False):
            return function(*args, **kwargs)
        outcome: list = []

        def work() -> None:
            _local.deep = True
            try:
                outcome.append((True, function(*args, **kwargs)))
            except BaseException as exc:  # handed to the caller's thread
                outcome.append((False, exc))

        with _lock:
            if _running[0] == 0:
                _running[1] = sys.getrecursionlimit()
                sys.setrecursionlimit(max(_running[1], RECURSION_LIMIT))
            _running[0] += 1
        try:
            with _lock:  # stack_size is process-wide: set it only around this start
                size = threading.stack_size(STACK_BYTES)
                try:
                    worker = threading.Thread(target=work, name="legoc", daemon=True)
                    worker.start()
                except RuntimeError:  # no thread of that size here (a limit on address space)
                    worker = None
                finally:
                    threading.stack_size(size)
            if worker is None:
                work()  # in this thread, under the raised limit: Python 3.11+ frames live off the C stack
                _local.deep = False
            else:
                worker.join()
        finally:
            with _lock:
                _running[0] -= 1
                if _running[0] == 0:
                    sys.setrecursionlimit(_running[1])
        ok, value = outcome[0]
        if ok:
            return value
        raise value

    return wrapper
