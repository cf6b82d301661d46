"""Backbone weights for the prompted ViT (models/vit_weights.py): every supported format, and clear refusals."""
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from gradguess.errors import CheckpointError
from gradguess.models.vit_prompt import build_vit_prompt
from gradguess.models.vit_weights import convert_weights
from test_hostile_data import declare, npy, refused

TINY = dict(patch=8, dim=32, depth=2, heads=2)
ARCH = dict(image=32, patch=8, dim=32, depth=2, heads=2, mlp_dim=128)


class NotATensor:  # a pickled object that weights-only loading must refuse
    pass


@pytest.fixture(scope="module")
def source():
    """A randomly initialised tiny backbone: the weights every format below must give back."""
    return build_vit_prompt(4, (3, 32, 32), seed=7, **TINY).backbone.state_dict()


def google_npz(state, heads, path, extra=None):
    """Write `state` (timm names) in Google's ViT .npz layout, as released (with its pre-training head)."""
    d = state["cls_token"].shape[-1]
    hd = d // heads
    n = lambda t: t.detach().numpy()  # noqa: E731
    out = {"embedding/kernel": n(state["patch_embed.proj.weight"].permute(2, 3, 1, 0)),
           "embedding/bias": n(state["patch_embed.proj.bias"]), "cls": n(state["cls_token"]),
           "Transformer/posembed_input/pos_embedding": n(state["pos_embed"]),
           "Transformer/encoder_norm/scale": n(state["norm.weight"]),
           "Transformer/encoder_norm/bias": n(state["norm.bias"]),
           "head/kernel": np.zeros((d, 7), np.float32), "head/bias": np.zeros(7, np.float32),
           "pre_logits/kernel": np.eye(d, dtype=np.float32), "pre_logits/bias": np.zeros(d, np.float32)}
    i = 0
    while f"blocks.{i}.norm1.weight" in state:
        blk, b = f"Transformer/encoderblock_{i}/", f"blocks.{i}."
        att = blk + "MultiHeadDotProductAttention_1/"
        for ln, norm in (("LayerNorm_0", "norm1"), ("LayerNorm_2", "norm2")):
            out[f"{blk}{ln}/scale"], out[f"{blk}{ln}/bias"] = n(state[f"{b}{norm}.weight"]), n(state[f"{b}{norm}.bias"])
        w, bias = state[b + "attn.qkv.weight"], state[b + "attn.qkv.bias"]
        for k, part in enumerate(("query", "key", "value")):
            out[f"{att}{part}/kernel"] = n(w[k * d:(k + 1) * d].T.reshape(d, heads, hd))
            out[f"{att}{part}/bias"] = n(bias[k * d:(k + 1) * d].reshape(heads, hd))
        out[att + "out/kernel"] = n(state[b + "attn.proj.weight"].reshape(d, heads, hd).permute(1, 2, 0))
        out[att + "out/bias"] = n(state[b + "attn.proj.bias"])
        for r, fc in enumerate(("fc1", "fc2")):
            out[f"{blk}MlpBlock_3/Dense_{r}/kernel"] = n(state[f"{b}mlp.{fc}.weight"].T)
            out[f"{blk}MlpBlock_3/Dense_{r}/bias"] = n(state[f"{b}mlp.{fc}.bias"])
        i += 1
    out.update(extra or {})
    np.savez(path, **out)
    return path


def assert_backbone(model, state):
    got = model.backbone.state_dict()
    assert set(got) == set(state)
    for k in state:
        torch.testing.assert_close(got[k], state[k], rtol=0, atol=0, msg=k)


def test_each_format_loads_the_same_backbone(tmp_path, source):
    files = [google_npz(source, 2, tmp_path / "ViT-B_16.npz"), tmp_path / "timm.safetensors",
             tmp_path / "plain.pth", tmp_path / "wrapped.pt", tmp_path / "hf.bin"]
    save_file({**{k: v.contiguous() for k, v in source.items()}, "head.weight": torch.zeros(3, 32)}, str(files[1]))
    torch.save(source, files[2])
    torch.save({"model": source, "epoch": 3}, files[3])
    torch.save({"state_dict": source}, files[4])
    for path in files:
        assert_backbone(build_vit_prompt(4, (3, 32, 32), weights=path, **TINY), source)


def test_conversion_writes_one_canonical_file_that_loads_and_says_what_it_holds(tmp_path, source):
    from safetensors import safe_open

    src = google_npz(source, 2, tmp_path / "ViT-B_16.npz")
    dst = convert_weights(src, tmp_path / "out" / "backbone.safetensors", **ARCH)
    with safe_open(str(dst), framework="pt") as f:
        meta = f.metadata()
    assert meta["source"] == "ViT-B_16.npz" and len(meta["source_sha256"]) == 64
    model = build_vit_prompt(4, (3, 32, 32), weights=dst, **TINY)
    assert_backbone(model, source)
    assert model.options["weights"] == str(dst) and len(model.options["weights_sha256"]) == 64
    with pytest.raises(CheckpointError, match="converted for a ViT with"):  # same tensor shapes, other head count
        build_vit_prompt(4, (3, 32, 32), weights=dst, patch=8, dim=32, depth=2, heads=4)
    with pytest.raises(ValueError, match="safetensors"):
        convert_weights(src, tmp_path / "backbone.pt", **ARCH)


def test_npz_refusals_name_the_file_and_what_is_wrong(tmp_path, source):
    short = {k: v for k, v in source.items() if not k.startswith("blocks.1.")}  # one block too few
    with pytest.raises(CheckpointError, match=r"few\.npz.*missing \(16\).*encoderblock_1"):
        build_vit_prompt(4, (3, 32, 32), weights=google_npz(short, 2, tmp_path / "few.npz"), **TINY)
    with pytest.raises(CheckpointError, match=r"wrong shape.*query/kernel \(32, 4, 8\) \(expected \(32, 2, 16\)\)"):
        build_vit_prompt(4, (3, 32, 32), weights=google_npz(source, 4, tmp_path / "heads.npz"), **TINY)
    with pytest.raises(CheckpointError, match=r"unexpected \(1\): opt/state"):
        build_vit_prompt(4, (3, 32, 32), weights=google_npz(source, 2, tmp_path / "extra.npz",
                                                           {"opt/state": np.zeros(1)}), **TINY)
    pickled = google_npz(source, 2, tmp_path / "pickled.npz", {"cls": np.array([NotATensor()], dtype=object)})
    with pytest.raises(CheckpointError, match=r"weights file .*pickled\.npz, member cls\.npy: dtype object, not plain"):
        build_vit_prompt(4, (3, 32, 32), weights=pickled, **TINY)


def test_tensor_file_refusals_name_the_file_and_what_is_wrong(tmp_path, source):
    bad = tmp_path / "evil.pth"
    torch.save({"model": source, "extra": NotATensor()}, bad)
    with pytest.raises(CheckpointError, match=r"evil\.pth is not a plain-tensor torch file.*NotATensor") as err:
        build_vit_prompt(4, (3, 32, 32), weights=bad, **TINY)
    assert "weights_only=False" not in str(err.value) and "delete" not in str(err.value)  # no unsafe or wrong advice
    cut = tmp_path / "cut.safetensors"
    save_file({k: v.contiguous() for k, v in source.items()}, str(cut))
    cut.write_bytes(cut.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"cut\.safetensors is not a readable safetensors file"):
        build_vit_prompt(4, (3, 32, 32), weights=cut, **TINY)
    wide = tmp_path / "wide.safetensors"
    save_file({k: v.contiguous() for k, v in build_vit_prompt(4, (3, 32, 32), patch=8, dim=48, depth=2,
                                                              heads=2).backbone.state_dict().items()}, str(wide))
    with pytest.raises(CheckpointError, match=r"wide\.safetensors does not fit .*wrong shape \(30\): "
                                              r"blocks\.0\.attn\.proj\.bias \(48,\) \(expected \(32,\)\)"):
        build_vit_prompt(4, (3, 32, 32), weights=wide, **TINY)
    other = tmp_path / "weights.h5"
    other.touch()
    for path, match in ((tmp_path / "nowhere.npz", "does not exist"), (other, r"unknown format '\.h5'")):
        with pytest.raises(CheckpointError, match=match):
            build_vit_prompt(4, (3, 32, 32), weights=path, **TINY)


def test_the_weights_job_converts_a_users_file_or_writes_a_seeded_random_backbone(tmp_path, source):
    """`gradguess weights` (the prepare_weights rule): a Google .npz becomes the canonical file; `random` writes the
    backbone a run would draw from that seed itself, so a random preset loads its backbone like a real one."""
    import json

    from gradguess.cli import main

    vit = json.dumps({**TINY, "mlp_ratio": 4.0})
    npz = google_npz(source, 2, tmp_path / "ViT-B_16.npz")
    assert main(["weights", "--source", str(npz), "--vit", vit, "--image", "3", "32", "32",
                 "--out", str(tmp_path / "real.safetensors")]) == 0
    assert_backbone(build_vit_prompt(4, (3, 32, 32), weights=tmp_path / "real.safetensors", **TINY), source)
    assert main(["weights", "--source", "random", "--seed", "7", "--vit", vit, "--image", "3", "32", "32",
                 "--out", str(tmp_path / "random.safetensors")]) == 0
    assert_backbone(build_vit_prompt(4, (3, 32, 32), weights=tmp_path / "random.safetensors", **TINY), source)
    assert main(["weights", "--source", str(tmp_path / "gone.npz"), "--vit", vit, "--image", "3", "32", "32",
                 "--out", str(tmp_path / "x.safetensors")]) == 2  # a clear error, no traceback
    assert not (tmp_path / "x.safetensors").exists()


def rewrite_member(path, name: str, blob: bytes, declared: int | None = None):
    """`path` (a .npz) with member `name` replaced by the raw `blob`, its zip size then set to `declared`."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members[name] = blob
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in members.items():
            z.writestr(member, data)
    if declared is not None:
        declare(path, name, declared)
    return path


@pytest.mark.parametrize("member,shape,needles", [
    ("cls.npy", (1, 1, 1 << 26), ("wrong shape", "cls (1, 1, 67108864)")),  # 256 MB, checked against the layout
    ("head/kernel.npy", (32, 1 << 22), ("limits.WEIGHTS_BYTES_FACTOR",)),  # 512 MB in a classifier nothing sizes
])
def test_an_npz_whose_headers_claim_gigabytes_is_refused_from_the_headers(tmp_path, source, member, shape, needles):
    """The check read every array to learn its shape: numpy allocated whatever a header declared."""
    head = npy(shape, "<f4", body=b"")
    path = rewrite_member(google_npz(source, 2, tmp_path / "bomb.npz"), member, head + bytes(1024),
                          len(head) + 4 * int(np.prod(shape)))
    refused(lambda: build_vit_prompt(4, (3, 32, 32), weights=path, **TINY), path, *needles,
            error=CheckpointError, most_mib=16)


@pytest.mark.parametrize("fmt", ["npz", "safetensors", "pth"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_infinite_weights_are_refused_naming_the_tensor_and_file(tmp_path, source, fmt, bad):
    state = {k: v.clone() for k, v in source.items()}
    state["blocks.1.mlp.fc2.weight"][3, 5] = bad
    path = tmp_path / f"damaged.{fmt}"
    if fmt == "npz":
        google_npz(state, 2, path)
    elif fmt == "safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"damaged\.\w+: tensor blocks\.1\.mlp\.fc2\.weight .*holds 1 NaN or inf"):
        build_vit_prompt(4, (3, 32, 32), weights=path, **TINY)


@pytest.mark.parametrize("meta", [{"architecture": "{not json"}, {}])
def test_a_converted_file_with_unreadable_metadata_is_refused_naming_it(tmp_path, source, meta):
    path = tmp_path / "backbone.safetensors"
    save_file({k: v.contiguous() for k, v in source.items()}, str(path),
              metadata={"format": "gradguess-vit-backbone/1", **meta})
    with pytest.raises(CheckpointError, match=r"backbone\.safetensors says it is a converted backbone .* no readable "
                                              r"architecture.*gradguess weights"):
        build_vit_prompt(4, (3, 32, 32), weights=path, **TINY)
