"""Measured step times, one file per device, and the rule that projects them to shapes never measured: the one
place the cost model (gradguess.cost, `gradguess cost`) and the cluster requests (gradguess.jobsize) take their
seconds from. Torch-free: the Snakefile reads it while it is parsed. `gradguess cost --calibrate` measures the
machine at hand and writes a file (calibration/measure.py).

A file (JSON):

    {"format": "gradguess-calibration-v1", "device": "h200", "device_name": "NVIDIA H200", "gpu": true,
     "overhead": {"seconds": 0.0015, "source": "..."},           # launch and Python floor of one step
     "entries": [{"model": "mlp", "options": {"depth": 6, "width": 1024}, "dataset": "cifar10",
                  "method": "wt:per_layer", "batch": 512, "replicates": 1, "seconds": 0.0028,
                  "date": "2026-11-28", "torch": "2.11.0+cu130", "device_name": "NVIDIA H200", "how": "..."}],
     "ratios": {"localmixer": {"wt+local": {"ratio": 3.19, "source": "..."}}},        # optional, assumed
     "kind_factors": {"localmixer": {"factor": 2.0, "floor": 0.01, "source": "..."}},  # optional, assumed
     "batching": {"speedup": 8, "source": "..."}}                                    # optional, assumed

An entry is keyed by model and shape, the data's shape (`dataset`: its images and classes), method family,
batch and replicates (several replicates trained as one batched model). A method family is the method's name,
`:per_layer` for that JVP mode, `+local` with local losses (`family`); `monitor` is one guess-quality
measurement (monitor.py), `figure1_estimate` one estimate of one batch in Figure 1's measurement (its cosine and
16 float64 loss evaluations). What is not measured is projected, and says so (`Estimate.basis`, `.source`):
  1. backprop's step at the shape: from the nearest measured backprop entry (by FLOPs, calibration/shapes.py),
     the same model kind first: floor + (measured - its floor) x FLOPs / its FLOPs, the floor the kind's
     (`kind_factors.<kind>.floor`: its launches) or the device's `overhead`; times `kind_factors` (arithmetic
     time per FLOP relative to an MLP's) when the kinds differ;
  2. times the family's ratio to backprop: measured at the nearest shape of the kind that has both, else
     `ratios` (assumed), else DEFAULT_RATIO (assumed);
  3. R replicates batched: R x one replicate's step / speedup, the speedup measured for backprop at this shape
     and batch where an entry with replicates > 1 exists, else `batching.speedup` (assumed), at most R and at most
     what one launch floor for R replicates' arithmetic gives.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from gradguess.calibration import shapes
from gradguess.catalog import DATASETS, NUM_CLASSES, SHAPES
from gradguess.models import facts

FORMAT = "gradguess-calibration-v1"
HERE = Path(__file__).resolve().parent
DEVICES = {"h200": HERE / "h200.json", "gpu": HERE / "h200.json", "cpu": HERE / "cpu-2core.json"}
SPECIAL = ("monitor", "figure1_estimate")
DEFAULT_RATIO = 2.0
BASES = ("measured", "extrapolated", "assumed")  # from best to worst: an estimate is as good as its worst part


class CalibrationError(ValueError):
    """A calibration file is missing, malformed or cannot answer; the message names the file and the key."""


def family(method: str, options=None) -> str:
    """A method's step-cost family. Other options (downstream's layers, W^T's power, a cosine) are taken not to
    change the step's cost."""
    o = options or {}
    return method + (":per_layer" if o.get("mode") == "per_layer" else "") + ("+local" if o.get("local_losses")
                                                                              else "")


def arch_text(model: str, options) -> str:
    from gradguess.spec import Part, arch_name

    return arch_name(Part(model, dict(options)))


@dataclass(frozen=True)
class Entry:
    model: str
    options: tuple          # the model's shape options, sorted (name, value) pairs
    dataset: str
    method: str             # a family
    batch: int
    replicates: int
    seconds: float
    date: str
    torch: str
    device_name: str
    how: str

    @property
    def key(self) -> str:
        return entry_key(self.model, dict(self.options), self.dataset, self.method, self.batch, self.replicates)

    @property
    def shape(self) -> tuple:
        return shape_key(self.model, dict(self.options), self.dataset)

    def flops(self) -> float:
        return shapes.step_flops(self.model, dict(self.options), self.dataset, self.batch)

    def cite(self) -> str:
        return f"{self.key} ({self.seconds * 1e3:.4g} ms, {self.date}, torch {self.torch})"

    def when(self) -> str:
        return f"{self.date}, torch {self.torch}"


def entry_key(model, options, dataset, method, batch, replicates=1) -> str:
    return (f"{arch_text(model, options)} on {dataset}, {method}, batch {batch}"
            + (f", {replicates} replicates" if replicates > 1 else ""))


def shape_key(model: str, options, dataset: str) -> tuple:
    """Two shapes are one when the model's size options and the data's image shape and classes agree."""
    needed = facts.get(model).required
    return model, tuple((k, int(options[k])) for k in needed), SHAPES[dataset], NUM_CLASSES[dataset]


@dataclass(frozen=True)
class Estimate:
    seconds: float
    basis: str              # measured | extrapolated | assumed
    source: str

    def times(self, k: float, basis: str, source: str) -> "Estimate":
        worst = max(self.basis, basis, key=BASES.index)
        return Estimate(self.seconds * k, worst, f"{self.source}; {source}")


@dataclass
class Calibration:
    path: str
    device: str
    device_name: str
    gpu: bool
    overhead: float
    overhead_source: str
    entries: list[Entry]
    ratios: dict = field(default_factory=dict)        # kind -> family -> (ratio, source)
    kind_factors: dict = field(default_factory=dict)  # kind -> (factor, source)
    floors: dict = field(default_factory=dict)        # kind -> its step's launch floor, where not `overhead`
    speedup: tuple = (1.0, "no batching speedup stated: none assumed")
    _cache: dict = field(default_factory=dict, repr=False)

    # ---- the one question: seconds of one step
    def step(self, model: str, options, dataset: str, method: str, batch: int, replicates: int = 1) -> Estimate:
        key = (shape_key(model, options, dataset), method, int(batch), int(replicates))
        if key not in self._cache:
            self._cache[key] = self._step(model, dict(options), dataset, method, int(batch), int(replicates))
        return self._cache[key]

    def _exact(self, shape, method, batch, replicates) -> Entry | None:
        for e in self.entries:
            if e.shape == shape and e.method == method and e.batch == batch and e.replicates == replicates:
                return e
        return None

    def _step(self, model, options, dataset, method, batch, replicates) -> Estimate:
        shape = shape_key(model, options, dataset)
        exact = self._exact(shape, method, batch, replicates)
        if exact is not None:
            return Estimate(exact.seconds, "measured", f"measured {exact.when()}")
        if replicates > 1:
            return self._batched(model, options, dataset, method, batch, replicates)
        base = self._backprop(model, options, dataset, batch)
        if method == "backprop":
            return base
        ratio, basis, source = self._ratio(model, shape, method, shapes.step_flops(model, options, dataset, batch))
        return base.times(ratio, basis, source)

    def _nearest(self, entries: list[Entry], flops: float) -> Entry:
        return min(entries, key=lambda e: (abs(math.log(e.flops() / flops)), e.key))

    def _backprop(self, model, options, dataset, batch) -> Estimate:
        shape = shape_key(model, options, dataset)
        exact = self._exact(shape, "backprop", batch, 1)
        if exact is not None:
            return Estimate(exact.seconds, "measured", f"measured {exact.when()}")
        flops = shapes.step_flops(model, options, dataset, batch)
        measured = [e for e in self.entries if e.method == "backprop" and e.replicates == 1]
        if not measured:
            raise CalibrationError(f"{self.path}: no backprop entry (replicates 1) to project "
                                   f"{entry_key(model, options, dataset, 'backprop', batch)} from")
        ref = self._nearest([e for e in measured if e.model == model] or measured, flops)
        factor, note = 1.0, ""
        if ref.model != model:
            factor = self._kind_factor(model) / self._kind_factor(ref.model)
            note = f", x{factor:.3g} for a {model} against a {ref.model} (kind_factors, assumed)"
        arithmetic = max(ref.seconds - self.floor(ref.model), 0.0) * flops / ref.flops() * factor
        if self.floor(model) != self.overhead:
            note += f", above a {self.floor(model) * 1e3:g} ms floor (kind_factors.{model}.floor, assumed)"
        # another model kind's step says little of this one's: an assumption (the kind factor), not a measurement
        return Estimate(self.floor(model) + arithmetic, "assumed" if note else "extrapolated",
                        f"backprop from {ref.cite()} by FLOPs{note}")

    def assumptions(self) -> list[tuple[str, float, str]]:
        """What the file assumes rather than measures, by its key: (key, value, why)."""
        out = [("overhead", self.overhead, self.overhead_source)] if "assumed" in self.overhead_source else []
        out += [(f"kind_factors.{k}", f, src) for k, (f, src) in sorted(self.kind_factors.items())]
        out += [(f"kind_factors.{k}.floor", f, "see kind_factors." + k) for k, f in sorted(self.floors.items())]
        out += [(f"ratios.{k}.{m}", r, src) for k, fams in sorted(self.ratios.items())
                for m, (r, src) in sorted(fams.items())]
        return out + [("batching.speedup", self.speedup[0], self.speedup[1])]

    def floor(self, kind: str) -> float:
        return self.floors.get(kind, self.overhead)

    def _kind_factor(self, kind: str) -> float:
        """An MLP's is 1 by definition; a kind the file states no factor for is taken as 1 (also assumed)."""
        return self.kind_factors[kind][0] if kind in self.kind_factors else 1.0

    def _ratio(self, model, shape, method, flops) -> tuple[float, str, str]:
        pairs = []
        for e in self.entries:
            if e.model == model and e.method == method and e.replicates == 1:
                bp = self._exact(e.shape, "backprop", e.batch, 1)
                if bp is not None:
                    pairs.append((e, bp))
        if pairs:
            e, bp = min(pairs, key=lambda p: (abs(math.log(p[0].flops() / flops)), p[0].key))
            ratio = e.seconds / bp.seconds
            return ratio, "extrapolated", f"x{ratio:.3g} ({method} against backprop at {e.key}, {e.when()})"
        if method in self.ratios.get(model, {}):
            ratio = self.ratios[model][method][0]
            return ratio, "assumed", f"x{ratio:.3g} (ratios.{model}.{method}, assumed)"
        return DEFAULT_RATIO, "assumed", (f"x{DEFAULT_RATIO:g} (assumed: no measurement of {method} on a {model} "
                                          f"and no ratios.{model}.{method} in {Path(self.path).name})")

    def _batched(self, model, options, dataset, method, batch, replicates) -> Estimate:
        one = self.step(model, options, dataset, method, batch, 1)
        flops = shapes.step_flops(model, options, dataset, batch)
        batched = [e for e in self.entries if e.model == model and e.method == "backprop" and e.replicates > 1]
        if batched:  # the speedup measured at this shape and batch, else at the nearest one of the kind
            e = min(batched, key=lambda b: (abs(math.log(b.flops() / flops)), abs(b.replicates - replicates)))
            single = self.step(e.model, dict(e.options), e.dataset, "backprop", e.batch, 1).seconds
            speedup = e.replicates * single / e.seconds
            here = e.shape == shape_key(model, options, dataset) and e.batch == batch
            basis = "measured" if here and method == "backprop" else "extrapolated"
            source = f"batching speedup {speedup:.3g} measured for backprop at {e.cite()}"
        else:  # at most what sharing the launch floor can give: R steps' arithmetic, one floor (backprop's share)
            bp = self.step(model, options, dataset, "backprop", batch, 1).seconds
            arithmetic = max(bp - min(self.floor(model), bp), 0.0) / bp
            shared = replicates / ((1 - arithmetic) + replicates * arithmetic)
            floor = (1 - arithmetic) * one.seconds
            speedup, basis = min(self.speedup[0], shared), "assumed"
            source = (f"batching speedup {speedup:.3g} (assumed: batching.speedup {self.speedup[0]:g}, at most "
                      f"{shared:.3g} from sharing the {floor * 1e3:.3g} ms launch floor)")
        speedup = min(speedup, replicates)  # R replicates at once are at most R times faster
        return one.times(replicates / speedup, basis, f"{replicates} replicates at once, {source}")


# ---- reading a file, with errors that name it and the key
def _need(obj, key, kind, where):
    if not isinstance(obj, dict) or key not in obj:
        raise CalibrationError(f"{where}: missing key {key!r}")
    value = obj[key]
    ok = {"number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
          "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
          "str": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
          "dict": lambda v: isinstance(v, dict), "list": lambda v: isinstance(v, list)}[kind]
    if not ok(value):
        raise CalibrationError(f"{where}: key {key!r} must be a {'positive integer' if kind == 'int' else kind}, "
                               f"got {value!r}")
    return value


def _entry(e, where: str) -> Entry:
    from gradguess import methods

    model = _need(e, "model", "str", where)
    if model not in facts.names():
        raise CalibrationError(f"{where}: key 'model': unknown {model!r}; valid: {', '.join(facts.names())}")
    needed = facts.get(model).required
    options = _need(e, "options", "dict", where)
    for k in needed:
        _need(options, k, "int", f"{where}.options")
    dataset = _need(e, "dataset", "str", where)
    if dataset not in DATASETS:
        raise CalibrationError(f"{where}: key 'dataset': unknown {dataset!r}; valid: {', '.join(DATASETS)}")
    method = _need(e, "method", "str", where)
    parts = re.fullmatch(r"([a-z_]+)(:per_layer)?(\+local)?", method)
    if method not in SPECIAL and (parts is None or parts.group(1) not in methods.names()):
        raise CalibrationError(f"{where}: key 'method': unknown family {method!r} (a method: "
                               f"{', '.join(methods.names())}, with :per_layer or +local; or {', '.join(SPECIAL)})")
    seconds = _need(e, "seconds", "number", where)
    if seconds <= 0:
        raise CalibrationError(f"{where}: key 'seconds' must be > 0, got {seconds!r}")
    replicates = _need(e, "replicates", "int", where) if "replicates" in e else 1
    return Entry(model, tuple((k, int(options[k])) for k in needed), dataset, method,
                 _need(e, "batch", "int", where), replicates, float(seconds), _need(e, "date", "str", where),
                 _need(e, "torch", "str", where), str(e.get("device_name", "")), _need(e, "how", "str", where))


def parse(data, path: str = "<calibration>") -> Calibration:
    if not isinstance(data, dict):
        raise CalibrationError(f"{path}: a calibration is a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise CalibrationError(f"{path}: key 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    overhead = _need(data, "overhead", "dict", path)
    entries = [_entry(e, f"{path}: entries[{i}]") for i, e in enumerate(_need(data, "entries", "list", path))]
    seen = {}
    for i, e in enumerate(entries):
        if e.key in seen:
            raise CalibrationError(f"{path}: entries[{i}] ({e.key}) repeats entries[{seen[e.key]}]")
        seen[e.key] = i
    ratios = {kind: {fam: (_need(v, "ratio", "number", f"{path}: ratios.{kind}.{fam}"),
                           _need(v, "source", "str", f"{path}: ratios.{kind}.{fam}"))
                     for fam, v in _need(data.get("ratios", {}), kind, "dict", f"{path}: ratios").items()}
              for kind in data.get("ratios", {})}
    kinds = {kind: (_need(v, "factor", "number", f"{path}: kind_factors.{kind}"),
                    _need(v, "source", "str", f"{path}: kind_factors.{kind}"))
             for kind, v in data.get("kind_factors", {}).items()}
    floor = float(_need(overhead, "seconds", "number", f"{path}: overhead"))
    floors = {kind: float(_need(v, "floor", "number", f"{path}: kind_factors.{kind}"))
              for kind, v in data.get("kind_factors", {}).items() if "floor" in v}
    cal = Calibration(path, _need(data, "device", "str", path), str(data.get("device_name", "")),
                      _need(data, "gpu", "bool", path), floor, _need(overhead, "source", "str", f"{path}: overhead"),
                      entries, ratios, kinds, floors)
    if "batching" in data:
        b = data["batching"]
        cal.speedup = (float(_need(b, "speedup", "number", f"{path}: batching")),
                       _need(b, "source", "str", f"{path}: batching"))
    return cal


@lru_cache(maxsize=None)
def load(path) -> Calibration:
    """A calibration file: a path, or a device name (h200, gpu, cpu) for the files shipped here."""
    path = DEVICES.get(str(path), Path(path))
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CalibrationError(f"calibration file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path}: not JSON ({exc})") from None
    return parse(data, str(path))


def default(gpu: bool) -> Calibration:
    """What cluster requests are sized from: the H200's figures for a GPU job, the 2-core CPU's otherwise."""
    return load("gpu" if gpu else "cpu")


def kind_factor(c: Calibration, kind: str) -> tuple[float, str]:
    """Arithmetic time per FLOP of a model kind's backprop step against an MLP's, from a calibration that measured
    both (the `kind_factors` a device that measured only MLPs borrows from another: an assumption)."""
    def arithmetic(e: Entry) -> float:
        return max(e.seconds - c.floor(e.model), 1e-12) / e.flops()

    theirs = [e for e in c.entries if e.model == kind and e.method == "backprop" and e.replicates == 1]
    mlps = [e for e in c.entries if e.model == "mlp" and e.method == "backprop" and e.replicates == 1]
    if not theirs or not mlps:
        raise CalibrationError(f"{c.path}: no backprop entries of both a {kind} and an MLP to compare")
    e = max(theirs, key=lambda x: x.flops())
    m = max(mlps, key=lambda x: x.flops())  # the largest steps: the least launch-bound
    factor = arithmetic(e) / arithmetic(m)
    return factor, (f"{Path(c.path).name}: {e.cite()} against {m.cite()}, per FLOP above the "
                    f"{c.overhead * 1e3:.3g} ms floor")

