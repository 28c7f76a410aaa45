"""Count host syncs and Warp launches, each with the line of code that caused it.

A *host sync* is an op that needs a device value on the host (the CPU waits for the GPU) or that
copies pageable host memory to the device. On CUDA, ``torch.cuda.set_sync_debug_mode("warn")``
reports some of them; these counters see them on **any** device, so a CPU-only test can pin the
budget of the CUDA step. What :class:`SyncCounter` counts (``SyncEvent.kind``):

============  ===================================================================================
``item``      ``aten._local_scalar_dense``: ``.item()``, ``float(t)``, ``int(t)``, ``bool(t)``,
              ``if t:``, indexing with a 0-dim integer tensor (``x[:, t0]``)
``is_nonzero`` ``aten.is_nonzero``
``nonzero``   ``aten.nonzero`` (``t.nonzero()``, ``torch.where(mask)``): data-dependent size
``mask_index`` ``aten.index.Tensor`` with a bool/uint8 index (``x[mask]``)
``mask_put``  ``aten.index_put_`` with a bool/uint8 index (``x[mask] = v``)
``masked_select`` ``aten.masked_select``
``data_size`` other data-dependent output sizes: ``repeat_interleave`` with tensor repeats and no
              ``output_size``, ``unique``, ``equal``
``d2h``       ``t.cpu()``, ``t.tolist()``, ``t.numpy()``, ``np.asarray(t)`` of a tensor on the
              device; ``t.to("cpu")`` of a CUDA tensor (on a CPU-only run ``t.to(cpu)`` cannot be
              told from the no-op ``t.to(env.device)``, so it is not counted there)
``h2d``       a new host tensor sent to the device: ``torch.tensor(data, device=d)``,
              ``torch.as_tensor/asarray(non-tensor, device=d)``, and ``.to(d)`` / ``.cuda()`` of a
              tensor created on the host (``torch.tensor``/``as_tensor``/``asarray`` without a
              device) inside the counted block
============  ===================================================================================

Which tensors are "on the device": CUDA (any non-CPU) tensors always; CPU tensors when
``cpu_is_device`` is True — the default when CUDA is unavailable, so on a CPU-only machine every
tensor stands in for the device tensor it would be on a GPU, and the counts are what the same
code would do there. Tensors created on the host without a ``device=`` argument in the counted
block are host tensors in both cases (reading them is free). Limits, by construction: a
``.to(d)`` of a CPU tensor made *before* the block, or by ``torch.from_numpy`` (which no torch
mode sees), cannot be told apart from a no-op on a CPU-only run; ops that run below the Python
dispatcher (inside a C++ kernel, or Warp kernels) are not seen.

:class:`LaunchCounter` wraps ``warp.launch``, ``warp.launch_tiled`` and ``warp.capture_launch``:
eager kernel launches vs CUDA-graph replays (mjlab 1.6 captures ``step``, ``forward``, ``reset``
and ``sense`` as graphs on CUDA when Warp's memory pool is on; on CPU every kernel is eager).

Use from tests and benchmarks::

    with SyncCounter() as syncs, LaunchCounter() as launches:
        env.step(actions)
    syncs.total, syncs.by_site(), launches.eager, launches.graphs
"""

from __future__ import annotations

import sys
import weakref
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

_TORCH_DIR = str(Path(torch.__file__).resolve().parent)
_THIS = str(Path(__file__).resolve())
_REPO = Path(__file__).resolve().parents[2]
OUR_DIRS = tuple(str(_REPO / d) for d in ("smp_gym", "envs", "examples", "benchmarks", "tests"))
"""Files under these folders are "our code" (an editable install of the repository)."""
LIBRARIES = ("mjlab", "mujoco_warp", "warp", "skrl", "stable_baselines3", "rsl_rl", "gymnasium")

_aten = torch.ops.aten
_SCALAR = {_aten._local_scalar_dense.default: "item", _aten.is_nonzero.default: "is_nonzero"}
_NONZERO = {_aten.nonzero.default, _aten.nonzero_static.default, _aten.argwhere.default}
_SIZE_OPS = {
    _aten._unique2.default,
    _aten.unique_dim.default,
    _aten.unique_consecutive.default,
    _aten.equal.default,
}


@dataclass(frozen=True)
class SyncEvent:
    kind: str
    """One of the kinds in the module docstring."""
    op: str
    """The aten op or torch function that synced."""
    site: str
    """``path:line (function)`` of the innermost frame outside torch and this module."""
    origin: str
    """Who owns ``site``: ``ours`` (this repository), a library in ``LIBRARIES``, or ``other``."""
    caller: str | None
    """The innermost frame in our code (== ``site`` when ``origin`` is ``ours``)."""


def _short(filename: str) -> str:
    for root in (str(_REPO), *sys.path):
        if root and filename.startswith(root + "/"):
            return filename[len(root) + 1 :]
    return filename


def _origin(filename: str) -> str:
    if filename.startswith(OUR_DIRS):
        return "ours"
    for lib in LIBRARIES:
        if f"/{lib}/" in filename:
            return lib
    return "other"


def _where() -> tuple[str, str, str | None]:
    """(site, origin, caller) of the current Python stack."""
    frame = sys._getframe(2)
    site = origin = caller = None
    while frame is not None:
        fn = frame.f_code.co_filename
        if not fn.startswith(_TORCH_DIR) and fn != _THIS and not fn.startswith("<"):
            here = f"{_short(fn)}:{frame.f_lineno} ({frame.f_code.co_name})"
            if site is None:
                site, origin = here, _origin(fn)
            if fn.startswith(OUR_DIRS):
                caller = here
                break
        frame = frame.f_back
    return site or "?", origin or "other", caller


def _is_mask(t) -> bool:
    return isinstance(t, torch.Tensor) and t.dtype in (torch.bool, torch.uint8)


class _Dispatch(TorchDispatchMode):
    def __init__(self, counter: SyncCounter) -> None:
        super().__init__()
        self.counter = counter

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        kind = None
        if func in _SCALAR:
            kind = _SCALAR[func]
        elif func in _NONZERO:
            kind = "nonzero"
        elif func is _aten.index.Tensor and any(_is_mask(i) for i in args[1]):
            kind = "mask_index"
        elif func in (_aten.index_put_.default, _aten.index_put.default) and any(
            _is_mask(i) for i in args[1]
        ):
            kind = "mask_put"
        elif func is _aten.masked_select.default:
            kind = "masked_select"
        elif func in _SIZE_OPS or (
            func is _aten.repeat_interleave.Tensor and kwargs.get("output_size") is None
        ):
            kind = "data_size"
        if kind is not None and self.counter._on_device(args[0] if args else None):
            self.counter._record(kind, str(func))
        return func(*args, **kwargs)


_CREATE = {torch.tensor, torch.as_tensor, torch.asarray}
_D2H = {torch.Tensor.tolist, torch.Tensor.numpy, torch.Tensor.__array__}


def _device_arg(args, kwargs):
    """The device a ``Tensor.to(...)`` call targets (None: unchanged)."""
    for a in (*args[1:], kwargs.get("device")):
        if isinstance(a, (str, torch.device)):
            return torch.device(a)
        if isinstance(a, torch.Tensor):
            return a.device
    return None


class _Function(TorchFunctionMode):
    def __init__(self, counter: SyncCounter) -> None:
        super().__init__()
        self.counter = counter

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        c = self.counter
        out = func(*args, **kwargs)
        src = args[0] if args else None
        if func in _CREATE:
            if kwargs.get("device") is None:
                if isinstance(out, torch.Tensor) and not isinstance(src, torch.Tensor):
                    c._host.add(out)
            elif not isinstance(src, torch.Tensor) and c._on_device(out):
                c._record("h2d", func.__name__)
            elif isinstance(src, torch.Tensor) and src in c._host and c._on_device(out):
                c._record("h2d", func.__name__)
        elif func in (torch.Tensor.to, torch.Tensor.cuda):
            target = (
                torch.device("cuda") if func is torch.Tensor.cuda else _device_arg(args, kwargs)
            )
            if target is not None and isinstance(src, torch.Tensor):
                if src in c._host and (target.type != "cpu" or c.cpu_is_device):
                    c._record("h2d", f"Tensor.{func.__name__}")
                elif target.type == "cpu" and src.device.type != "cpu":
                    c._record("d2h", f"Tensor.{func.__name__}")
                    c._fetched.add(out)
        elif func is torch.Tensor.cpu and c._on_device(src):
            c._record("d2h", "Tensor.cpu")
            c._fetched.add(out)
        elif func in _D2H and c._on_device(src) and src not in c._fetched:
            c._record("d2h", f"Tensor.{func.__name__}")
        return out


class _IdSet:
    """A set of live tensors by identity (``in`` on a WeakSet would compare tensors by value)."""

    def __init__(self) -> None:
        self._refs: dict[int, weakref.ref] = {}

    def add(self, t) -> None:
        if isinstance(t, torch.Tensor):
            key = id(t)
            self._refs[key] = weakref.ref(t, lambda _, key=key: self._refs.pop(key, None))

    def __contains__(self, t) -> bool:
        ref = self._refs.get(id(t))
        return ref is not None and ref() is t


class SyncCounter:
    """Context manager recording every host sync inside it as a :class:`SyncEvent`.

    ``cpu_is_device``: count syncs on CPU tensors as if they were on the GPU (None: when CUDA
    is unavailable). Nested use is fine; counters do not see each other's events."""

    def __init__(self, cpu_is_device: bool | None = None) -> None:
        self.cpu_is_device = (
            (not torch.cuda.is_available()) if cpu_is_device is None else cpu_is_device
        )
        self.events: list[SyncEvent] = []
        self._host = _IdSet()
        self._fetched = _IdSet()
        self._modes: tuple = ()

    def _on_device(self, t) -> bool:
        if not isinstance(t, torch.Tensor) or t in self._host:
            return False
        return t.device.type != "cpu" or self.cpu_is_device

    def _record(self, kind: str, op: str) -> None:
        self.events.append(SyncEvent(kind, op, *_where()))

    def __enter__(self) -> SyncCounter:
        self._modes = (_Function(self), _Dispatch(self))
        for m in self._modes:
            m.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for m in reversed(self._modes):
            m.__exit__(*exc)
        self._modes = ()

    def reset(self) -> None:
        """Forget the events so far (e.g. after warm-up steps)."""
        self.events.clear()

    @property
    def total(self) -> int:
        return len(self.events)

    def count(self, origin: str | None = None, kind: str | None = None) -> int:
        return sum(
            (origin is None or e.origin == origin) and (kind is None or e.kind == kind)
            for e in self.events
        )

    def by_site(self) -> Counter:
        """``{"site [kind]": n}``: where the syncs come from, most frequent first."""
        return Counter(f"{e.site} [{e.kind}]" for e in self.events)

    def by_caller(self) -> Counter:
        """``{"our line [kind]": n}``: the line of our code that led to each sync (syncs inside
        mjlab's step are charged to the line in our code that called it)."""
        return Counter(f"{e.caller or e.site} [{e.kind}]" for e in self.events)

    def summary(self, per: int = 1) -> dict:
        """JSON-ready: total, by origin and by site, divided by ``per`` (e.g. steps)."""
        return {
            "total": self.total / per,
            "by_origin": {k: v / per for k, v in Counter(e.origin for e in self.events).items()},
            "by_site": {k: v / per for k, v in self.by_site().most_common()},
        }


class LaunchCounter:
    """Context manager counting Warp kernel launches (``eager``) and CUDA-graph replays
    (``graphs``) by the file:line that launched them (``by_site``)."""

    NAMES = ("launch", "launch_tiled", "capture_launch")

    def __init__(self) -> None:
        self.eager = 0
        self.graphs = 0
        self.sites: Counter = Counter()
        self._saved: dict = {}

    def __enter__(self) -> LaunchCounter:
        import warp

        for name in self.NAMES:
            self._saved[name] = original = getattr(warp, name)
            setattr(warp, name, self._wrap(name, original))
        return self

    def _wrap(self, name: str, original):
        def counted(*args, **kwargs):
            if name == "capture_launch":
                self.graphs += 1
            else:
                self.eager += 1
            frame = sys._getframe(1)
            self.sites[f"{_short(frame.f_code.co_filename)}:{frame.f_lineno} [{name}]"] += 1
            return original(*args, **kwargs)

        return counted

    def __exit__(self, *exc) -> None:
        import warp

        for name, original in self._saved.items():
            setattr(warp, name, original)
        self._saved = {}

    def reset(self) -> None:
        self.eager = self.graphs = 0
        self.sites.clear()
