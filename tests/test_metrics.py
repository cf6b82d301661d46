"""Metrics: the 1-step effectiveness the paper reports, its scalings, and float64 loss differences."""
import pytest
import torch
from torch.nn import functional as F

import gradguess.methods as M
from gradguess.metrics import (cosine_similarity, loss_reductions, one_step_effectiveness, scale_for)
from gradguess.models import MLP


def problem(seed=0, width=16):
    torch.manual_seed(seed)
    model = MLP(8, 4, depth=3, width=width)
    x, y = torch.randn(64, 8), torch.randint(0, 4, (64,))
    return model, x, y


@pytest.mark.parametrize("target", [0.05, 0.3, 0.7])
def test_unit_direction_effectiveness_is_cos_squared_at_small_steps(target):
    model, x, y = problem()
    exact = M.get("backprop").estimate(model, x, y)
    est = M.get("cosine_matched_directional", cosine=target).estimate(model, x, y, torch.Generator().manual_seed(1))
    # a huge raw norm must not matter to the paper's (unit-direction) column
    est = {n: 1e3 * g for n, g in est.items()}
    cos = cosine_similarity(est, exact)
    assert cos == pytest.approx(target, abs=1e-5)
    small = (1e-4,)
    eff = one_step_effectiveness(model, est, exact, x, y, step_sizes=small, scaling="unit")
    assert eff == pytest.approx(cos ** 2, rel=2e-3)
    # the norm-matched step is cos, not cos², of backprop's at small steps; the raw one is a line search
    matched = one_step_effectiveness(model, est, exact, x, y, step_sizes=small, scaling="norm_matched")
    assert matched == pytest.approx(cos, rel=2e-3)
    raw = one_step_effectiveness(model, est, exact, x, y, step_sizes=small, scaling="raw")
    assert raw > 100 * eff


def test_unit_scaling_is_the_projection_of_the_gradient_on_the_guess():
    model, x, y = problem()
    exact = M.get("backprop").estimate(model, x, y)
    est = M.get("wt").estimate(model, x, y, torch.Generator().manual_seed(2))
    c = scale_for(est, exact, "unit")
    flat = lambda d: torch.cat([d[n].reshape(-1) for n in exact]).double()
    ghat, g = flat(est), flat(exact)
    u = ghat / ghat.norm()
    torch.testing.assert_close(c * ghat, (g @ u) * u)
    assert scale_for(exact, exact, "unit") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="valid scalings: unit, raw, norm_matched"):
        scale_for(est, exact, "sideways")


def test_losses_are_compared_in_float64_where_float32_rounds_the_change_to_zero():
    model, x, y = problem(width=32)
    exact = M.get("backprop").estimate(model, x, y)
    gnorm2 = sum(float((g.double() ** 2).sum()) for g in exact.values())
    lr = 1e-9 / gnorm2  # a first-order change of 1e-9 at a loss near 1.4: below float32's resolution
    with torch.no_grad():
        before = F.cross_entropy(model(x), y)
        stepped = {n: p - lr * exact[n] for n, p in model.named_parameters()}
        after = F.cross_entropy(torch.func.functional_call(model, stepped, (x,)), y)
    assert float(before - after) == 0.0  # float32 sees nothing
    (change,) = loss_reductions(model, exact, x, y, step_sizes=(lr,))
    assert change == pytest.approx(lr * gnorm2, rel=1e-3)  # float64 sees the first-order change


def test_backprop_is_one_under_every_scaling():
    model, x, y = problem()
    exact = M.get("backprop").estimate(model, x, y)
    for scaling in ("unit", "raw", "norm_matched"):
        assert one_step_effectiveness(model, exact, exact, x, y, scaling=scaling) == pytest.approx(1.0)
