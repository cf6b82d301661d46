"""The low-memory mode (method option memory="low", methods/low_memory.py): the default mode's estimate, bit for
bit, from two forward sweeps that keep a few layers' tensors at a time."""
import sys
from pathlib import Path

import pytest
import torch
import yaml

import gradguess.methods as M
from gradguess.methods import low_memory
from gradguess.methods.downstream import Downstream
from gradguess.models import MLP
from gradguess.models.mixer import LocalMixer
from gradguess.spec import RunSpec, SpecError
from gradguess.train import check

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from memory import LiveTensorBytes  # noqa: E402

SUPPORTED = [("activation_perturbation", {}), ("activation_mixing", {}), ("activation_mixing", {"normalize": False}),
             ("wt", {}), ("downstream", {}), ("downstream", {"layers": 2}), ("downstream", {"layers": 9}),
             ("self_sharpening", {}), ("wt_sv_power", {"power": 2.0}), ("directional", {})]


def problem(depth=5, width=16, bias=True, batch=7, seed=0):
    torch.manual_seed(seed)
    model = MLP(12, 5, depth, width, bias=bias)
    x, y = torch.randn(batch, 3, 2, 2), torch.randint(0, 5, (batch,))  # images: the MLP flattens them
    return model, x, y


def both(name, options, model, x, y, seed=3, pool=None):
    """The default and the low-memory estimate from the same generator state, and each generator afterwards."""
    out = []
    for memory in ("default", "low"):
        est, gen = M.get(name, memory=memory, **options), torch.Generator().manual_seed(seed)
        if pool is not None:
            est.pool = pool
        out.append((est.compute(model, x, y, gen), gen.get_state()))
    return out


def assert_equal(a, b):
    assert list(a.grads) == list(b.grads)
    for k in a.grads:
        assert torch.equal(a.grads[k], b.grads[k]), k
    assert torch.equal(a.logits, b.logits) and torch.equal(a.loss, b.loss)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name,options", SUPPORTED)
def test_low_memory_estimate_equals_the_default_bit_for_bit(name, options, bias):
    # equal, not close: both modes run the same floating-point operations in the same order (shared tangent and
    # update code; forward-mode AD is op by op, so directional's jvp per layer is the network's jvp)
    model, x, y = problem(bias=bias)
    (full, gen_full), (low, gen_low) = both(name, options, model, x, y)
    assert_equal(full, low)
    assert set(low.grads) == {n for n, _ in model.named_parameters()}
    assert torch.equal(gen_full, gen_low)  # the next step draws the same numbers in either mode
    assert any(g.abs().sum() > 0 for g in low.grads.values())


@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("name,options", [("wt", {}), ("downstream", {"layers": 2}), ("self_sharpening", {}),
                                          ("directional", {})])
def test_low_memory_equals_the_default_on_the_shallowest_networks(name, options, depth):
    model, x, y = problem(depth=depth)
    (full, _), (low, _) = both(name, options, model, x, y)
    assert_equal(full, low)


def test_low_memory_without_a_generator_draws_from_the_global_one_as_the_default_does():
    model, x, y = problem()
    results = []
    for memory in ("default", "low"):
        torch.manual_seed(11)
        results.append(M.get("wt", memory=memory).compute(model, x, y))
        results.append(torch.randn(3))  # where each left the global generator
    assert_equal(results[0], results[2])
    assert torch.equal(results[1], results[3])


def test_low_memory_mixing_of_a_pool_equals_the_default():
    model, x, y = problem()
    pool = torch.randn(4, 3, 2, 2)
    (full, _), (low, _) = both("activation_mixing", {}, model, x, y, pool=pool)
    assert_equal(full, low)
    (own, _), _ = both("activation_mixing", {}, model, x, y)
    assert not torch.equal(own.grads["layers.0.weight"], low.grads["layers.0.weight"])  # the pool was used


def test_a_guess_rule_reading_past_its_lookahead_is_refused_by_name():
    class Undeclared(Downstream):
        def lookahead(self):
            return 0  # wrong: downstream-2 reads the masks of the next two layers

    model, x, y = problem()
    with pytest.raises(LookupError, match="lookahead"):
        Undeclared(layers=2, memory="low").compute(model, x, y, torch.Generator().manual_seed(0))


def peak(fn) -> int:
    with LiveTensorBytes() as live:
        fn()
    return live.peak


def update_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


# downstream-k keeps k + 2 layers' activations: flat once the network is deeper than its window
@pytest.mark.parametrize("name,options,depths", [("wt", {}, (3, 12)), ("activation_perturbation", {}, (3, 12)),
                                                 ("downstream", {}, (3, 12)), ("downstream", {"layers": 3}, (5, 20)),
                                                 ("directional", {}, (3, 12))])
def test_low_memory_peak_stays_flat_in_depth_while_the_default_grows(name, options, depths):
    low, full = M.get(name, memory="low", **options), M.get(name, **options)
    into, collected, default = {}, {}, {}
    shallow, deep = depths
    for depth in depths:
        model = MLP(64, 10, depth, 128)
        x, y = torch.randn(64, 64), torch.randint(0, 10, (64,))
        buffers = {n: torch.zeros_like(p) for n, p in model.named_parameters()}  # made before the step, like .grad

        def gen():
            return torch.Generator().manual_seed(0)

        into[depth] = peak(lambda: low_memory.sweeps(low, model, x, y, gen(), lambda n, u: buffers[n].copy_(u)))
        # what compute() returns, the updates of every layer, is weight-sized in both modes: compare beyond it
        collected[depth] = peak(lambda: low.compute(model, x, y, gen())) - update_bytes(model)
        default[depth] = peak(lambda: full.compute(model, x, y, gen())) - update_bytes(model)
        assert into[depth] > 64 * 128 * 4  # it sees the sweep's tensors
    assert into[deep] <= 1.2 * into[shallow], into
    assert collected[deep] <= 1.2 * collected[shallow], collected
    assert default[deep] >= 2 * default[shallow], default
    assert into[deep] < default[deep] / 2


def test_unsupported_models_and_modes_are_refused_with_the_option_named():
    mixer = LocalMixer((3, 8, 8), 5, blocks=1, channels=8, patch=4, groups=2)
    x, y = torch.randn(2, 3, 8, 8), torch.randint(0, 5, (2,))
    for name in ("wt", "directional"):
        with pytest.raises(ValueError, match=r"memory='low'.*MLP only.*LocalMixer"):
            M.get(name, memory="low").compute(mixer, x, y)
    with pytest.raises(ValueError, match=r"memory='low' supports mode='joint' only"):
        M.get("wt", memory="low", mode="per_layer")
    with pytest.raises(ValueError, match="local_losses"):
        M.get("activation_perturbation", memory="low", local_losses=True)
    with pytest.raises(ValueError, match="option memory must be one of default, low"):
        M.get("wt", memory="small")
    for name in ("backprop", "cosine_matched_directional"):
        with pytest.raises(M.UnknownMethodError, match="memory"):
            M.get(name, memory="low")


def test_the_option_is_part_of_a_run_specification():
    def spec(model, **options):
        return RunSpec.from_dict({"model": model, "method": {"name": "wt", "options": options},
                                  "dataset": "synthetic"})

    mlp = {"name": "mlp", "options": {"depth": 3, "width": 8}}
    check(spec(mlp, memory="low"))
    assert spec(mlp, memory="low").digest() != spec(mlp).digest()
    for name, _ in SUPPORTED:
        assert "memory" in M.valid_options(name)
        assert M.get(name, memory="low").options()["memory"] == "low"
    mixer = {"name": "localmixer", "options": {"blocks": 1, "channels": 8, "patch": 4, "groups": 2}}
    with pytest.raises(SpecError, match=r"memory='low'.*not localmixer"):
        check(spec(mixer, memory="low"))
    with pytest.raises(ValueError, match="mode='joint' only"):
        check(spec(mlp, memory="low", mode="per_layer"))
    schema = yaml.safe_load((Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml").read_text())
    assert schema["$defs"]["memory"]["enum"] == list(M.MEMORY)
