"""Models whose structure the forward-gradient engine can read (see `MLP.trace`)."""
from gradguess.models.mlp import MLP, Trace

__all__ = ["MLP", "Trace", "build"]


def build(name: str, in_features: int, num_classes: int, **options) -> MLP:
    models = {"mlp": MLP}
    if name not in models:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(sorted(models))}")
    return models[name](in_features, num_classes, **options)
