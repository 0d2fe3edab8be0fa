"""The training configuration, saved as RUN_DIR/config.json: the options every family shares, one
dataclass with the papers' defaults, and the family's own options (``family_options``, its ``Options``).

Importing this module is cheap (no torch); looking a family up (for its defaults and options) imports it.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TranslationError

if TYPE_CHECKING:
    from ..data.augment import AugmentConfig
    from ..networks import DiscriminatorConfig, GeneratorConfig

# Options that may change when a run is resumed; changing any other (a family's options included)
# would make a different run.
RESUMABLE_CHANGES = frozenset({
    "epochs", "epochs_decay", "max_steps", "save_every", "keep", "sample_every", "log_every", "workers",
    "device", "amp", "cpu_bf16", "channels_last", "compile", "resume", "val_max", "data", "tensorboard",
})

MAX_DEGRADATION = 5.0  # 5x super-resolution's rates: JPEG on every input, noise on 3 in 4, blur on half


@dataclass
class TrainConfig:
    model: str = "pix2pix"            # a registered family (training/families/)
    data: Path = Path(".")
    out: Path = Path("runs/train")
    # data
    task: str | None = None          # self-supervised pix2pix from plain photos
    direction: str = "AtoB"
    preprocess: str = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    rotate: bool = False              # 90-degree turns and flips in both axes (content with no up and down)
    colour_jitter: float = 0.0        # random brightness / contrast / saturation / hue shifts of this strength
    enlarge: bool = True              # random_scale may scale a picture above its own size
    degradation: float = 1.0          # super-resolution: rate of its training inputs' blur, noise and JPEG
    val_fraction: float = 0.05
    val_max: int = 100                # validate on at most this many images
    repeats: int = 1                  # visits of each training image per epoch (small datasets)
    workers: int = 4
    # networks (None = the family's default)
    netG: str | None = None
    netD: str = "basic"
    n_layers_D: int = 3
    ngf: int = 64
    ndf: int = 64
    norm: str | None = None
    dropout: bool | None = None       # None: as the generator preset (U-Net yes, ResNet no)
    residual: bool = False            # G(x) = clamp(x + net(x)) (input and output of the same kind)
    upsample: str = "transpose"       # U-Net up path: transposed convolutions (reference) or "resize" + conv
    spectral_norm: bool = False       # spectrally normalised discriminators, without norm layers
    # objective
    gan_mode: str | None = None
    lambda_gp: float = 10.0           # wgangp only
    diffaugment: str = ""             # DiffAugment policy for everything a discriminator sees ("": off)
    ema: float | None = None          # decay of an average of the generators' weights (None: off)
    # optimisation
    epochs: int = 100                 # at the initial learning rate
    epochs_decay: int = 100           # then linearly down to zero over this many
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    max_steps: int | None = None      # stop after this many iterations (smoke runs, tests)
    # run
    seed: int = 0
    device: str = "auto"
    amp: bool = True                  # bf16 autocast, CUDA only
    cpu_bf16: bool = False            # bf16 autocast on CPUs that compute bf16 natively (changes a CPU run's numbers)
    channels_last: bool = True        # CUDA only
    compile: bool = False             # torch.compile the networks' forward passes (training/fast.py)
    save_every: int = 5000
    keep: int = 3
    sample_every: int = 1000
    log_every: int = 10
    tensorboard: bool = True          # RUN_DIR/tensorboard/: event files beside the JSON-lines logs
    resume: bool = False
    start_from: dict[str, str] = field(default_factory=dict)  # generator -> weights to start from (not a resume)
    # the family's options: its Options dataclass, or a dict of some of them (the rest: its defaults)
    family_options: Any = None

    def __post_init__(self) -> None:
        from .families import get_family

        family = get_family(self.model)
        self.data, self.out = Path(self.data), Path(self.out)
        for name, value in family.defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if not isinstance(self.family_options, family.Options):
            self.family_options = _family_options(family, self.family_options or {})

    @classmethod
    def from_options(cls, model: str, **options: Any) -> "TrainConfig":
        """Shared and family options as one set of keywords, as the command line gives them."""
        from .families import get_family

        own = _option_names(get_family(model).Options)
        family_options = {name: options.pop(name) for name in list(options) if name in own}
        return cls(model=model, family_options=family_options, **options)

    # ---------------------------------------------------------------- derived pieces
    def generator(self, in_channels: int = 3, out_channels: int = 3) -> GeneratorConfig:
        from ..networks import GeneratorConfig

        return GeneratorConfig.named(self.netG, ngf=self.ngf, norm=self.norm, dropout=self.dropout,
                                     residual=self.residual, upsample=self.upsample,
                                     in_channels=in_channels, out_channels=out_channels)

    def discriminator(self, in_channels: int) -> DiscriminatorConfig:
        """--netD; with --spectral-norm it has no norm layers, as in Miyato et al. (a batch or instance norm
        would rescale by a gain with no bound and undo the constraint)."""
        from ..networks import DiscriminatorConfig

        return DiscriminatorConfig(name=self.netD, in_channels=in_channels, ndf=self.ndf, n_layers=self.n_layers_D,
                                   norm="none" if self.spectral_norm else self.norm, spectral_norm=self.spectral_norm)

    def augment(self) -> AugmentConfig:
        from ..data.augment import AugmentConfig

        return AugmentConfig(self.preprocess, self.load_size, self.crop_size, self.flip, self.rotate,
                             self.generator().size_multiple, self.colour_jitter, self.enlarge)

    def pair_options(self) -> dict[str, Any]:
        """The settings the task's own training pairs take (``Task.pair_options``)."""
        from ..tasks import find_task

        task = find_task(self.task) if self.task else None
        return {name: getattr(self, name) for name in (task.pair_options if task else ())}

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.epochs_decay

    def validate(self) -> None:
        """Raise a ``TranslationError`` for an option that cannot work, before anything is loaded."""
        from ..data.augment import PREPROCESS_MODES
        from ..losses import GAN_MODES
        from ..networks import discriminator_names
        from ..networks.config import UPSAMPLE_MODES
        from ..networks.norms import NORMS
        from ..networks.registry import generator_entry
        from ..tasks import CUSTOM, get_task
        from .diffaugment import check_colour

        def check(ok: bool, message: str) -> None:
            if not ok:
                raise TranslationError(message)

        spec = get_task(self.task or CUSTOM)
        check(self.direction in ("AtoB", "BtoA"), f"--direction {self.direction!r}: use AtoB or BtoA")
        check(self.netD in discriminator_names(),
              f"--netD {self.netD!r}: choose one of {', '.join(discriminator_names())}")
        check(self.norm in NORMS, f"--norm {self.norm!r}: choose one of {', '.join(NORMS)}")
        check(self.gan_mode in GAN_MODES, f"--gan-mode {self.gan_mode!r}: choose one of {', '.join(GAN_MODES)}")
        check(self.preprocess in PREPROCESS_MODES,
              f"--preprocess {self.preprocess!r}: choose one of {', '.join(PREPROCESS_MODES)}")
        for name in ("epochs", "epochs_decay", "workers", "n_layers_D", "keep"):
            check(getattr(self, name) >= 0, f"--{name.replace('_', '-')} must be >= 0")
        for name in ("repeats", "batch_size", "ngf", "ndf", "crop_size", "load_size", "save_every", "sample_every", "log_every"):
            check(getattr(self, name) >= 1, f"--{name.replace('_', '-')} must be >= 1")
        check(self.total_epochs >= 1, "--epochs + --epochs-decay must be at least 1")
        check(self.max_steps is None or self.max_steps >= 1, "--max-steps must be >= 1")
        check(0 <= self.val_fraction < 1, "--val-fraction must be in [0, 1)")
        check(self.lr > 0, "--lr must be > 0")
        check(0 <= self.degradation <= MAX_DEGRADATION,
              f"--degradation {self.degradation}: choose a rate from 0 (clean inputs) to {MAX_DEGRADATION:g}")
        check(self.degradation == 1.0 or "degradation" in self.pair_options(),
              f"--degradation: the {self.task or 'custom'} task's training pairs are not degraded "
              "(super-resolution's are); leave the option out")
        check(self.ema is None or 0 < self.ema < 1, f"--ema {self.ema}: the decay must lie between 0 and 1, e.g. 0.999")
        check(self.upsample in UPSAMPLE_MODES,
              f"--upsample {self.upsample!r}: choose one of {', '.join(UPSAMPLE_MODES)}")
        check(self.upsample == "transpose" or "upsample" in generator_entry(self.netG).defaults,
              f"--upsample {self.upsample}: --netG {self.netG} has one way of up-sampling; the U-Nets (unet_N) "
              "and ResNets (resnet_Nblocks) offer resize")
        check_colour(self.diffaugment, (spec.input_space, spec.output_space), spec.name)
        multiple = self.generator().size_multiple
        if self.preprocess == "none":
            check(self.batch_size == 1, "--preprocess none keeps every image's own size, so it needs --batch-size 1")
        else:
            check(self.crop_size % multiple == 0,
                  f"--crop-size {self.crop_size} is not a multiple of {multiple}, which --netG {self.netG} needs; "
                  f"use --crop-size {max(multiple, self.crop_size // multiple * multiple)} or a smaller U-Net "
                  f"(unet_{_largest_unet(self.crop_size)})")
        self.augment()  # checks load size vs crop size
        from .families import get_family

        generators = get_family(self.model).generators
        for name, path in self.start_from.items():
            check(name in generators, f"--start-from {name}={path}: {self.model} has no generator {name!r} "
                                      f"(its generators: {', '.join(generators)})")
            check(Path(path).is_file(), f"--start-from {path}: file not found")

    # ---------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (paths as strings, the family's options a dict): fit for config.json and a
        weights-only checkpoint."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """A saved config back; options it no longer knows are dropped."""
        from .families import get_family

        family = get_family(data.get("model", cls.model))
        names = {f.name for f in dataclasses.fields(cls)}
        # a config saved before the families had options of their own holds them among the shared ones
        saved = data.get("family_options", data)
        own = _option_names(family.Options)
        return cls(**{k: v for k, v in data.items() if k in names and k != "family_options"},
                   family_options={k: v for k, v in saved.items() if k in own})

    def save(self, path: Path) -> None:
        from ..atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    def resumed_with(self, overrides: dict[str, Any]) -> "TrainConfig":
        """This (saved) config with the options given again on the command line (shared and family options
        alike); only run-length and housekeeping options may differ from the saved run."""
        saved = self.to_dict()
        saved |= saved.pop("family_options")
        changed = {k: v for k, v in overrides.items() if k in saved and _differs(saved[k], v)}
        fixed = sorted(set(changed) - RESUMABLE_CHANGES)
        if fixed:
            name = fixed[0]
            raise TranslationError(
                f"--{name.replace('_', '-')} {changed[name]} differs from the run being resumed in {self.out} "
                f"({saved[name]}); leave it out to continue that run, or train into a new --out")
        return dataclasses.replace(self, **changed)


def _option_names(options: type) -> set[str]:
    return {f.name for f in dataclasses.fields(options)}


def _family_options(family: type, given: dict[str, Any]) -> Any:
    unknown = sorted(set(given) - _option_names(family.Options))
    if unknown:
        known = ", ".join(sorted(_option_names(family.Options))) or "none"
        raise TranslationError(f"{family.name} has no option {unknown[0]!r} (its options: {known})")
    return family.Options(**given)


def _differs(saved: Any, given: Any) -> bool:
    return (str(given) if isinstance(given, Path) else given) != saved


def _largest_unet(size: int) -> int:
    largest = 32
    while largest * 2 <= size and size % (largest * 2) == 0:
        largest *= 2
    return largest


def load_config(path: Path) -> TrainConfig:
    """Read a run's config.json back."""
    try:
        return TrainConfig.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise TranslationError(f"{path}: not found; is this the --out folder of a training run?") from None
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise TranslationError(f"{path}: not a readable training config ({exc})") from None
