"""The PocketSR network: shapes, annealing ends, pruning, locality, variants, x0 from eps."""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from pocketsr.model.blocks import HeavyAttention
from pocketsr.model.config import load_recipe
from pocketsr.model.network import PocketSR, attach_light, is_tile_safe, prune_heavy


@pytest.fixture(scope="module")
def nano_cfg():
    return load_recipe("nano").net


@pytest.fixture(scope="module")
def teacher(nano_cfg) -> PocketSR:
    torch.manual_seed(0)
    return PocketSR(nano_cfg, heavy=True).eval()


@pytest.fixture(scope="module")
def student(teacher) -> PocketSR:
    """The teacher with light counterparts attached, the light sides made non-trivial."""
    model = copy.deepcopy(teacher)
    attach_light(model)
    torch.manual_seed(1)
    with torch.no_grad():
        for pair in model.annealed():
            for p in pair.light.parameters():
                p.add_(torch.randn_like(p) * 0.05)
    return model


def _pruned(student: PocketSR) -> PocketSR:
    model = copy.deepcopy(student)
    prune_heavy(model)
    return model.eval()


@pytest.mark.parametrize("mult", [(1, 1), (3, 5), (4, 3)])
def test_output_is_x4_and_finite_on_multiples_of_the_size_multiple(teacher, nano_cfg, mult):
    m = nano_cfg.size_multiple
    h, w = mult[0] * m, mult[1] * m
    with torch.no_grad():
        y = teacher(torch.rand(2, 3, h, w))
    assert y.shape == (2, 3, 4 * h, 4 * w)
    assert torch.isfinite(y).all()


def test_alpha_zero_is_the_teacher_and_alpha_one_the_light_path(teacher, student):
    x = torch.rand(1, 3, 24, 32)
    with torch.no_grad():
        ref_teacher = teacher(x)
        for pair in student.annealed():
            pair.set_alpha(0.0)
        assert torch.equal(student(x), ref_teacher)
        for pair in student.annealed():
            pair.set_alpha(1.0)
        light_only = student(x)
        assert torch.equal(light_only, _pruned(student)(x))
        # Halfway differs from both ends: the light sides really take part.
        for pair in student.annealed():
            pair.set_alpha(0.5)
        mid = student(x)
    assert not torch.allclose(mid, ref_teacher) and not torch.allclose(mid, light_only)


def test_pruned_network_is_tile_safe(teacher, student):
    assert not is_tile_safe(teacher)
    pruned = _pruned(student)
    assert is_tile_safe(pruned)
    assert not any(isinstance(m, (nn.GroupNorm, HeavyAttention)) for m in pruned.modules())
    assert all(pair.heavy is None and float(pair.alpha) == 1.0 for pair in pruned.annealed())


def _far_change(model: nn.Module, width: int = 256, region: int = 16) -> float:
    """Max output change over the left LR columns when a pixel at the far right moves."""
    torch.manual_seed(2)
    x = torch.rand(1, 3, 16, width)
    x2 = x.clone()
    x2[0, :, 8, width - 6] += 0.9
    with torch.no_grad():
        a, b = model(x), model(x2)
    return float((a[..., : 4 * region] - b[..., : 4 * region]).abs().max())


def test_pruned_nano_has_a_finite_receptive_field(teacher, student):
    # The pruned nano's full receptive field measures 187 LR pixels (export.receptive_field);
    # the pixel moved is 234 LR pixels away from the columns looked at.
    assert _far_change(_pruned(student)) == 0.0
    # The same probe sees the teacher's global GroupNorm statistics and attention.
    assert _far_change(teacher) > 1e-4


@pytest.mark.parametrize("variant", [{"latent_grid": "upsample"}, {"fusion": False}])
def test_ablation_variants_build_and_run(nano_cfg, variant):
    cfg = replace(nano_cfg, **variant)
    model = PocketSR(cfg).eval()
    attach_light(model)
    prune_heavy(model)
    m = cfg.size_multiple
    with torch.no_grad():
        y = model(torch.rand(1, 3, 3 * m, 5 * m))
    assert y.shape == (1, 3, 12 * m, 20 * m)
    assert torch.isfinite(y).all()
    if not cfg.fusion:
        assert model.decoder.fuse_mid is None and model.decoder.fuse_fine is None


def test_kaiming_init_starts_at_the_base_with_a_live_latent_path(nano_cfg):
    torch.manual_seed(0)
    plain = PocketSR(nano_cfg, heavy=False).eval()
    torch.manual_seed(0)
    kaiming = PocketSR(replace(nano_cfg, init="kaiming"), heavy=False).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(kaiming(x), kaiming.base(x))  # the output conv starts at zero
        default_std = plain.encode(x).latent.std().item()
        kaiming_std = kaiming.encode(x).latent.std().item()
    assert kaiming_std > 4 * default_std  # the default init shrinks it about 3x per conv
    student = PocketSR(replace(nano_cfg, init="kaiming"), heavy=True)
    attach_light(student)  # the light blocks it gains start as the identity too
    for pair in student.annealed():
        probe = torch.rand(1, pair.light.proj.in_channels if hasattr(pair.light, "proj")
                           else pair.light.body[0].in_channels, 4, 4)  # fmt: skip
        with torch.no_grad():
            assert torch.equal(pair.light(probe), probe)
    with pytest.raises(ValueError, match="unknown init"):
        PocketSR(replace(nano_cfg, init="xavier"))


def test_quiet_start_silences_the_unet(nano_cfg):
    z = torch.rand(1, nano_cfg.latent_channels, 8, 8)
    eps_net = PocketSR(replace(nano_cfg, init="kaiming_quiet"), heavy=False).eval()
    x0_net = PocketSR(replace(nano_cfg, init="kaiming_quiet", prediction="x0"), heavy=False)
    loud = PocketSR(replace(nano_cfg, init="kaiming"), heavy=False).eval()
    with torch.no_grad():
        assert not eps_net.unet(z).any()  # eps = 0: x0 is z / sqrt(alpha_bar)
        assert torch.allclose(eps_net.denoise(z), z * eps_net.inv_sqrt_abar)
        assert torch.equal(x0_net.eval().denoise(z), z)  # the latent path starts as identity
        assert loud.unet(z).abs().mean() > 0.01  # the plain Kaiming start's UNet is not quiet


def test_denoise_recovers_x0_from_the_predicted_noise(teacher, nano_cfg):
    # Stable Diffusion's scaled-linear schedule, computed independently of the package.
    betas = np.linspace(math.sqrt(0.00085), math.sqrt(0.012), 1000, dtype=np.float64) ** 2
    abar = float(np.cumprod(1 - betas)[nano_cfg.timestep])
    assert nano_cfg.timestep == 999
    torch.manual_seed(3)
    z = torch.randn(1, nano_cfg.latent_channels, 8, 12)
    with torch.no_grad():
        eps = teacher.unet(z)
        x0 = teacher.denoise(z)
    expected = (z.double() - math.sqrt(1 - abar) * eps.double()) / math.sqrt(abar)
    torch.testing.assert_close(x0.double(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_fast_bicubic_base_equals_interpolate_borders_included(scale):
    from torch.nn import functional as F

    from pocketsr.model.liteed import BaseUpsample

    x = torch.rand(2, 3, 13, 18)
    ref = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    assert (BaseUpsample(scale, "bicubic")(x) - ref).abs().max() < 1e-5
