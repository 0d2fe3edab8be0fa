"""CUT and FastCUT (Park et al. 2020, contrastive unpaired translation): one generator G: A -> B, an LSGAN
PatchGAN judging G(A) against real B, and PatchNCE (training/patchnce.py) tying each patch of G(A) to the
patch of A at the same place: no second generator, no cycle. CUT adds the identity term NCE(B, G(B));
FastCUT leaves it out, weighs PatchNCE x10 and asks G(flip(A)) to be G(A) flipped.

The generator is a ResNet in the reference (CycleGAN) layout, whose encoder layers feed PatchNCE, so its
weights export and serve like any other. Validation: the sliced Wasserstein distance of G(held-out A)
to the held-out B images (lower is better; sliced_wasserstein.py).
"""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ...errors import TranslationError
from ...losses import GANLoss
from ...networks import DiscriminatorConfig, apply_spectral_norm, build_discriminator, build_generator, init_weights
from ...networks.init import init_xavier
from ...tasks import TaskSpec
from ..config import TrainConfig
from ..data import TrainingData
from ..distributed import Runtime
from ..fast import SpeedPlan
from ..family import Family, option, set_requires_grad
from ..metrics import evaluate_distribution
from ..patchnce import ContrastiveGenerator, NCESettings, PatchHeads
from . import register_family
from .cyclegan import CycleGAN

MODES = ("cut", "fastcut")
# What --mode sets unless the option is given: (CUT, FastCUT), the paper's choices.
MODE_DEFAULTS = {"lambda_nce": (1.0, 10.0), "nce_idt": (True, False), "flip_equivariance": (False, True)}
INITS = ("xavier", "normal")


@register_family("cut")
class CUT(Family):
    summary = "Train CUT or FastCUT (unpaired, one generator: contrastive unpaired translation, Park et al. 2020)"
    description = (f"{summary}: a ResNet generator whose encoder features feed a patchwise contrastive loss "
                   "(PatchNCE), an LSGAN PatchGAN, no second generator and no cycle: about half of CycleGAN's "
                   "work per step. --mode fastcut: lighter still (no identity term, PatchNCE x10, flip "
                   "equivariance).")
    examples = (
        "translation train cut --data datasets/horse2zebra --out runs/horse2zebra-cut",
        "translation train cut --mode fastcut --data datasets/horse2zebra --out runs/horse2zebra-fastcut",
        "translation train cut --out runs/horse2zebra-cut --resume",
    )
    defaults = dict(netG="resnet_9blocks", norm="instance", gan_mode="lsgan")
    generators = {"G": "A -> B"}
    best_score = "swd"
    lower_is_better = True

    @dataclass(frozen=True)
    class Options:
        mode: str = option("cut", "cut (with the identity term NCE(B, G(B))) or fastcut (without it, PatchNCE "
                                  "x10, flip equivariance); sets the next three unless they are given")
        lambda_gan: float = option(1.0, "weight of the adversarial loss")
        lambda_nce: float | None = option(None, "weight of PatchNCE", kind=float, shown="1 for cut, 10 for fastcut")
        nce_idt: bool | None = option(None, "the identity term NCE(B, G(B)), averaged with NCE(A, G(A))", kind=bool,
                                      shown="on for cut, off for fastcut")
        flip_equivariance: bool | None = option(None, "half of the steps translate flipped inputs and compare "
                                                      "the output flipped back", kind=bool,
                                                shown="off for cut, on for fastcut")
        nce_layers: str = option("", "generator layers (indices into its module list, comma-separated) whose "
                                     "features PatchNCE compares; empty: the paper's (input pixels, both "
                                     "down-sampling convolutions, the first and fifth residual block)")
        nce_patches: int = option(256, "places sampled per layer and image")
        nce_temperature: float = option(0.07, "temperature of the contrastive softmax")
        head_width: int = option(256, "width of the two-layer MLP projection heads")
        init: str = option("normal", "initial weights of every network: normal (CycleGAN's N(0, 0.02)) or xavier "
                                     "(the CUT code's, gain 0.02: far smaller weights, which started much slower "
                                     "in short CPU runs)")

        def __post_init__(self) -> None:
            if self.mode not in MODES:
                raise TranslationError(f"--mode {self.mode!r}: choose one of {', '.join(MODES)}")
            for name, choices in MODE_DEFAULTS.items():
                if getattr(self, name) is None:
                    object.__setattr__(self, name, choices[MODES.index(self.mode)])
            if self.init not in INITS:
                raise TranslationError(f"--init {self.init!r}: choose one of {', '.join(INITS)}")
            if not self.lambda_nce > 0:
                raise TranslationError(f"--lambda-nce {self.lambda_nce}: PatchNCE is what CUT is; it must be > 0 "
                                       "(for a GAN alone, this is not the model)")
            if self.lambda_gan < 0 or self.nce_patches < 1 or self.nce_temperature <= 0 or self.head_width < 1:
                raise TranslationError("--lambda-gan must be >= 0, --nce-patches and --head-width >= 1 and "
                                       "--nce-temperature > 0")

    @classmethod
    def build_data(cls, config: TrainConfig, spec: TaskSpec) -> TrainingData:
        return CycleGAN.build_data(config, spec)  # the same two sets of colour images, the same checks

    def __init__(self, config: TrainConfig, spec: TaskSpec, runtime: Runtime, speed: SpeedPlan) -> None:
        super().__init__(config, spec, runtime, speed)
        options = self.options
        a_channels, b_channels = spec.in_channels, spec.out_channels
        if options.nce_idt and a_channels != b_channels:
            raise TranslationError("the identity term needs as many channels in A as in B; use --no-nce-idt")
        self.generator_configs = {"G": config.generator(a_channels, b_channels)}
        self.discriminator_configs = {"D": config.discriminator(b_channels)}
        generator = build_generator(self.generator_configs["G"], initialise=False)
        if not hasattr(generator, "encode"):
            raise TranslationError(f"--netG {config.netG}: CUT takes its features from the encoder of a ResNet "
                                   "generator; use resnet_9blocks, resnet_6blocks or resnet_Nblocks")
        layers = _layers(options.nce_layers, generator)
        heads = PatchHeads(_channels(generator, layers, a_channels), options.head_width)
        initialise = init_xavier if options.init == "xavier" else init_weights
        self.G, self.F = self.place(initialise(generator)), self.place(initialise(heads))
        self.D = self.place(_discriminator(self.discriminator_configs["D"], initialise))
        self.networks = {"G": self.G, "F": self.F, "D": self.D}
        settings = NCESettings(layers, options.nce_patches, options.nce_temperature, options.nce_idt,
                               options.flip_equivariance)
        # one module for the whole generator side: its DDP wrapper sees G and the heads in one forward pass
        self.contrastive = self.forward_of(runtime.wrap(ContrastiveGenerator(self.G, self.F, settings)))
        self.D_ddp, self.D_alone = self.forward_of(runtime.wrap(self.D)), self.forward_of(self.D)
        self.optimizers = {"G": self.adam(itertools.chain(self.G.parameters(), self.F.parameters())),
                           "D": self.adam(self.D.parameters())}
        self.gan = GANLoss(config.gan_mode)
        self.augment = self.diff_augment()

    def run_details(self) -> dict[str, Any]:
        return {"mode": self.options.mode}

    def train_step(self, batch: dict[str, torch.Tensor],
                   autocast: Callable[[], AbstractContextManager]) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        options = self.options
        flipped = options.flip_equivariance and bool(torch.rand(()) < 0.5)  # the global generator: resumable
        with autocast():
            out = self.contrastive(real_a, real_b, flipped)
        fake_b = out["fake_B"]

        # Discriminator: real B -> real, G(A) -> fake (no history pool, as in the paper).
        real, fake = self.augmented(real_b), self.augmented(fake_b.detach().to(real_b.dtype))
        loss_d_real, loss_d_fake = self.update_discriminator(self.D, self.D_ddp, real, fake, autocast)

        # Generator and heads: fool D (without its DDP wrapper: no D gradients wanted) and PatchNCE.
        set_requires_grad(self.D, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with autocast():
            loss_g_gan = self.gan(self.D_alone(self.augmented(fake_b)), True, for_generator=True) * options.lambda_gan
        losses = {"G_GAN": loss_g_gan, "NCE": out["NCE"] * options.lambda_nce}
        nce = losses["NCE"]
        if options.nce_idt:
            losses["NCE_Y"] = out["NCE_Y"] * options.lambda_nce
            nce = 0.5 * (nce + losses["NCE_Y"])
        (loss_g_gan + nce).backward()
        self.optimizers["G"].step()

        return {**{k: v.detach() for k, v in losses.items()}, "D_real": loss_d_real, "D_fake": loss_d_fake}

    def validate(self, loader: DataLoader, generators: Mapping[str, nn.Module]) -> dict[str, float]:
        """The sliced Wasserstein distance of G(held-out A) to the held-out B images, and of A itself."""
        held_out = loader.dataset
        return evaluate_distribution(generators["G"], loader, (len(held_out.files_a), len(held_out.files_b)),
                                     (self.spec.input_space, self.spec.output_space), self.runtime.device,
                                     prepare=lambda x: x.to(memory_format=self.memory_format))

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor], generators: Mapping[str, nn.Module]) -> list[list[torch.Tensor]]:
        """Rows real A | G(A), then real B | G(B) (what the identity term keeps close to B)."""
        real_a, real_b = batch["A"], batch["B"]
        fake_b, idt_b = self.run_eval(generators["G"], real_a), self.run_eval(generators["G"], real_b)
        a_space, b_space = self.spec.input_space, self.spec.output_space
        rows_a = zip(self.display(real_a, a_space), self.display(fake_b, b_space))
        rows_b = zip(self.display(real_b, b_space), self.display(idt_b, b_space))
        return [list(r) for r in rows_a] + [list(r) for r in rows_b]


def _discriminator(config: DiscriminatorConfig, initialise: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """--netD with CUT's initial weights; spectral norm (--spectral-norm) wraps them afterwards."""
    net = initialise(build_discriminator(dataclasses.replace(config, spectral_norm=False), initialise=False))
    return apply_spectral_norm(net) if config.spectral_norm else net


def _layers(given: str, generator: nn.Module) -> tuple[int, ...]:
    """--nce-layers as indices into the generator's layers (the paper's when empty), checked."""
    if not given.strip():
        return tuple(generator.paper_layers())
    try:
        layers = sorted({int(part) for part in given.split(",") if part.strip()})
    except ValueError:
        raise TranslationError(f"--nce-layers {given!r}: give layer indices separated by commas, e.g. 0,4,7,10,14") from None
    count = len(generator.model)
    if not layers or layers[0] < 0 or layers[-1] >= count:
        raise TranslationError(f"--nce-layers {given!r}: the generator has layers 0 to {count - 1}")
    return tuple(layers)


@torch.no_grad()
def _channels(generator: nn.Module, layers: tuple[int, ...], in_channels: int) -> list[int]:
    """The channel count of each feature layer (one small forward pass), so the heads exist from the start."""
    return [f.shape[1] for f in generator.encode(torch.zeros(1, in_channels, 16, 16), layers)]
