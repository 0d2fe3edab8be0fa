"""``translation train MODEL``: train a registered model family (pix2pix, cyclegan, ...) on your own images
(one GPU, several, or the CPU); ``translation train --recipe NAME``: a default model."""
from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.layout_trees import ALL_TREES
from ..errors import TranslationError
from ..recipes import describe as describe_recipes
from ..training.config import TrainConfig, load_config
from ..training.families import family_names, get_family

if TYPE_CHECKING:
    from ..training.family import Family

_D = {f.name: f.default for f in dataclasses.fields(TrainConfig)}

LAYOUTS = "dataset layouts (--data DATA):\n" + ALL_TREES

RECIPE_LIST = describe_recipes()


def outputs(model: str, weights: str) -> str:
    """What a run writes, for the help texts; ``weights`` are the lines of its generators' files."""
    return f"""\
outputs (RUN_DIR = --out, default runs/{model}-<name of DATA>):
  RUN_DIR/config.json              the full training configuration
  RUN_DIR/checkpoints/step_*.pt    training checkpoints (the newest --keep): for --resume and `translation export`
  RUN_DIR/checkpoints/best.pt      the generators of the epoch with the best validation score (PSNR; CycleGAN:
                                   cycle PSNR; CUT: the lowest distance to B), never rotated:
                                   `translation export RUN_DIR --checkpoint best`
{weights}
                                   (with --ema: the averaged weights, as validation and the samples use)
  RUN_DIR/losses.jsonl             losses every --log-every iterations
  RUN_DIR/metrics.jsonl            validation before training and after each epoch: L1 / PSNR / SSIM (paired
                                   data), cycle PSNR A -> B -> A and B -> A -> B (CycleGAN), the sliced
                                   Wasserstein distance of G(held-out A) to the held-out B (CUT: swd)
  RUN_DIR/tensorboard/             the same for TensorBoard (`tensorboard --logdir runs/`): losses, learning
                                   rates, validation, images/s, sample grids, the configuration as hparams
  RUN_DIR/samples/step_*.png       input | output | target grids every --sample-every iterations

multi-GPU / multi-node: launch the same command with torchrun, e.g.
  torchrun --nproc_per_node 4 -m translation train {model} --data DATA --out RUN_DIR"""


def _weights(family: type[Family]) -> str:
    return "\n".join(f"  {f'RUN_DIR/latest_net_{name}.pth':33s}the final generator {what}, in the reference layout"
                     for name, what in family.generators.items())


def register(subparsers: argparse._SubParsersAction, name: str, help: str) -> None:  # noqa: A002 - CLI convention
    weights = "  RUN_DIR/latest_net_*.pth         the final generators, in the reference layout (which: MODEL --help)"
    parser = subparsers.add_parser(name, help=help, description=f"{help}.\n\n{LAYOUTS}\n\n{outputs('MODEL', weights)}",
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    recipes = parser.add_argument_group(
        "recipes (the default models: `translation train --recipe NAME [--ship]`)",
        "a recipe trains on the built-in photo collections (see `translation data prepare`) with fixed "
        "settings and continues a stopped run by itself:\n" + RECIPE_LIST)
    recipes.add_argument("--recipe", metavar="NAME", default=argparse.SUPPRESS, help="train this recipe")
    recipes.add_argument("--ship", action="store_true", default=argparse.SUPPRESS,
                         help="after training, export to ONNX, evaluate on the held-out images and write "
                              "the model cards into --exports")
    recipes.add_argument("--exports", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                         help="where --ship puts the models (default: exports/ for a default model's recipe, "
                              "RUN_DIR/exports/ for the others)")
    recipes.add_argument("--cache", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                         help="collections cache (default: ~/.cache/translation/collections)")
    recipes.add_argument("--out", type=Path, default=argparse.SUPPRESS, metavar="RUN_DIR",
                         help="run folder (default: runs/recipe-NAME)")
    recipes.add_argument("--max-steps", type=int, default=argparse.SUPPRESS, help="stop after N iterations")
    recipes.add_argument("--device", default=argparse.SUPPRESS, help="auto (default), cpu, cuda or cuda:N")
    parser.set_defaults(handler=run_recipe)
    models = parser.add_subparsers(dest="model", metavar="MODEL")
    for model in family_names():
        family = get_family(model)
        examples = "examples:\n" + "\n".join(f"  {line}" for line in family.examples)
        sub = models.add_parser(model, help=family.summary, description=family.description,
                                epilog=f"{LAYOUTS}\n\n{outputs(model, _weights(family))}\n\n{examples}",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                argument_default=argparse.SUPPRESS)  # so we know what was given (for --resume)
        _add_options(sub, family)
        _add_family_options(sub, family)
        sub.set_defaults(handler=run, model=model)


def _add_options(p: argparse.ArgumentParser, family: type[Family]) -> None:
    """The options every family shares (TrainConfig), with this family's defaults."""
    from ..losses import GAN_MODES
    from ..networks import discriminator_names, generator_names
    from ..networks.config import UPSAMPLE_MODES
    from ..networks.norms import NORMS
    from ..tasks import get_task, task_names

    defaults = {**_D, **family.defaults}

    def default(name: str) -> str:
        return f" (default: {defaults[name]})"

    data = p.add_argument_group("data")
    data.add_argument("--data", type=Path, metavar="DATA", help="dataset folder (layouts below)")
    data.add_argument("--out", type=Path, metavar="RUN_DIR", help="run folder for checkpoints, logs and samples")
    data.add_argument("--direction", choices=("AtoB", "BtoA"), help="which side is the input" + default("direction"))
    pair_makers = [name for name in task_names() if get_task(name).self_supervised]
    data.add_argument("--task", metavar="TASK",
                      help=f"what the model is for: {', '.join(task_names())} (default: custom); on paired data "
                           f"{', '.join(pair_makers)} make their pairs from the plain photos in DATA")
    data.add_argument("--val-fraction", type=float, help="share of the training files held out for "
                      "validation when DATA has no val/ folder (unpaired: of each domain without a test folder)"
                      + default("val_fraction"))
    data.add_argument("--val-max", type=int, help="validate on at most this many images" + default("val_max"))
    data.add_argument("--preprocess", metavar="MODE", help="resize_and_crop | crop | scale_width | random_scale | none"
                      + default("preprocess") + "; none = full size, padded to the generator's size multiple")
    data.add_argument("--load-size", type=int, help="resize to this before cropping" + default("load_size"))
    data.add_argument("--crop-size", type=int, help="training crop" + default("crop_size"))
    data.add_argument("--no-flip", dest="flip", action="store_false", help="no random horizontal flips")
    data.add_argument("--rotate", action="store_true",
                      help="random 90-degree turns and flips in both axes (the square's eight symmetries) instead "
                           "of horizontal flips: more varied crops for content with no up and down, such as "
                           "super-resolution texture; not for photos whose sky must stay up")
    data.add_argument("--no-enlarge", dest="enlarge", action="store_false",
                      help="random_scale: never scale a picture above its own size (small photos among large "
                           "ones stay sharp: enlarged ones are blurred targets, which super-resolution learns to copy)")
    data.add_argument("--colour-jitter", type=float, metavar="S",
                      help="random brightness, contrast, saturation and hue shifts of strength S (0-1; at 1: "
                           "+-20%%, +-20%%, +-30%%, +-18 degrees) on 4 of 5 training images, both halves of a pair "
                           "alike: more palettes from few pictures (artworks); not for label maps, whose colours "
                           "are classes" + default("colour_jitter"))
    data.add_argument("--degradation", type=float, metavar="RATE",
                      help="super-resolution: how often the small training inputs get a little blur, sensor noise "
                           "and JPEG, as a multiple of the task's own rates (10%%, 15%%, 20%%): 0 trains on clean "
                           "area downscales only, at most 5; validation keeps the task's rates"
                           + default("degradation"))
    data.add_argument("--repeats", type=int, help="visits of each training image per epoch, each with its own "
                      "random crop (for small datasets)" + default("repeats"))
    data.add_argument("--workers", type=int, help="data-loading processes" + default("workers"))

    nets = p.add_argument_group("networks")
    nets.add_argument("--netG", metavar="NAME", help=f"generator: {', '.join(generator_names())}" + default("netG"))
    nets.add_argument("--netD", choices=discriminator_names(), help="discriminator" + default("netD"))
    nets.add_argument("--n-layers-D", dest="n_layers_D", type=int, help="layers of --netD n_layers" + default("n_layers_D"))
    nets.add_argument("--ngf", type=int, help="generator filters in the first layer" + default("ngf"))
    nets.add_argument("--ndf", type=int, help="discriminator filters in the first layer" + default("ndf"))
    nets.add_argument("--norm", choices=NORMS, help="normalisation" + default("norm"))
    nets.add_argument("--dropout", action=argparse.BooleanOptionalAction,
                      help="dropout in the generator (default: U-Net yes, ResNet no)")
    nets.add_argument("--residual", action="store_true",
                      help="the generator learns a correction added to its input (same channels in and out; "
                           "e.g. super-resolution); adds no weights, keeps the reference key layout")
    nets.add_argument("--upsample", choices=UPSAMPLE_MODES,
                      help="U-Net and ResNet up-sampling: transpose (the reference's transposed convolutions) or resize "
                           "(nearest x2, then a 3x3 convolution): resize when outputs show checkerboard "
                           "artifacts; its weights have a key layout of their own" + default("upsample"))
    nets.add_argument("--spectral-norm", action="store_true",
                      help="spectral normalisation of every discriminator weight (Miyato et al. 2018), with no "
                           "norm layers in the discriminators: a steadier discriminator, for small datasets or a "
                           "discriminator that overpowers the generator")

    objective = p.add_argument_group("objective")
    objective.add_argument("--gan-mode", choices=GAN_MODES, help="adversarial loss" + default("gan_mode"))
    objective.add_argument("--lambda-gp", type=float, help="gradient penalty weight (wgangp)" + default("lambda_gp"))
    objective.add_argument("--diffaugment", metavar="POLICY",
                           help="DiffAugment (Zhao et al. 2020): random, differentiable transforms of the real and "
                                "the generated images alike wherever a discriminator sees them, a comma-separated "
                                "subset of color,translation,cutout (e.g. all three); for small datasets (hundreds "
                                "of images or fewer), where the discriminator memorises the training set (default: "
                                "off; colorization: leave out color)")

    optim = p.add_argument_group("optimisation")
    optim.add_argument("--epochs", type=int, help="epochs at the initial learning rate" + default("epochs"))
    optim.add_argument("--epochs-decay", type=int, help="then epochs of linear decay to zero" + default("epochs_decay"))
    optim.add_argument("--batch-size", type=int, help="images per step and process" + default("batch_size"))
    optim.add_argument("--lr", type=float, help="Adam learning rate" + default("lr"))
    optim.add_argument("--beta1", type=float, help="Adam beta1" + default("beta1"))
    optim.add_argument("--max-steps", type=int, help="stop after this many iterations (smoke runs)")
    optim.add_argument("--ema", type=float, metavar="DECAY",
                       help="keep an exponential moving average of the generator weights (e.g. 0.999, with a "
                            "warm-up), used for validation, samples, checkpoints/best.pt, latest_net_*.pth and "
                            "`translation export` (--weights live gives the trained ones): steadier outputs than "
                            "the last step's, at no cost to training (default: off)")

    run = p.add_argument_group("run")
    run.add_argument("--seed", type=int, help="seed for weights, data order and augmentation" + default("seed"))
    run.add_argument("--device", help="auto (CUDA when present), cpu, cuda or cuda:N" + default("device"))
    run.add_argument("--no-amp", dest="amp", action="store_false", help="no bf16 autocast on CUDA")
    run.add_argument("--cpu-bf16", action="store_true",
                     help="bf16 autocast when training on a CPU with native bf16 (AVX512-BF16 or AMX): much "
                          "faster there, at bf16 precision like CUDA runs (off by default: it changes the numbers "
                          "of a CPU run)")
    run.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                     help="keep the NCHW memory layout on CUDA")
    run.add_argument("--compile", action="store_true",
                     help="torch.compile the networks' forward passes, for CUDA (the first steps take a while "
                          "to compile; on the CPU it works but measured slower); checkpoints keep the plain key "
                          "layout")
    run.add_argument("--save-every", type=int, help="checkpoint every N iterations" + default("save_every"))
    run.add_argument("--keep", type=int, help="keep the newest K checkpoints (0: all)" + default("keep"))
    run.add_argument("--sample-every", type=int, help="sample grid every N iterations" + default("sample_every"))
    run.add_argument("--log-every", type=int, help="append losses every N iterations" + default("log_every"))
    run.add_argument("--no-tensorboard", dest="tensorboard", action="store_false",
                     help="no TensorBoard event files (by default RUN_DIR/tensorboard/ gets every loss, learning "
                          "rate, validation score, images/s, the sample grids and the configuration: "
                          "`tensorboard --logdir runs/`)")
    run.add_argument("--resume", action="store_true",
                     help="continue the run in --out from its newest complete checkpoint (options not given "
                          "again are taken from that run)")
    names = list(family.generators)
    run.add_argument("--start-from", action="append", metavar=f"[{'|'.join(names)}=]PATH",
                     help="start a generator from these weights instead of random ones, e.g. to fine-tune a "
                          "shipped model on your images: an ONNX file this tool exported (exports/NAME.onnx, "
                          "not the batch-norm U-Nets, whose norms export folds away), a checkpoint (best.pt: "
                          "its EMA weights where it has them) or a reference .pth; "
                          + (f"name the generator, e.g. --start-from {names[0]}=A2B.onnx --start-from "
                             f"{names[1]}=B2A.onnx" if len(names) > 1 else f"for {names[0]}"))


def _add_family_options(p: argparse.ArgumentParser, family: type[Family]) -> None:
    """The family's own options: a flag per field of its Options dataclass."""
    fields = dataclasses.fields(family.Options)
    if not fields:
        return
    group = p.add_argument_group(f"{family.name} options")
    for field in fields:
        flag = "--" + field.name.replace("_", "-")
        help_text = f"{field.metadata['help']} (default: {field.metadata['shown']})"
        if field.metadata["kind"] is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
        else:
            group.add_argument(flag, type=field.metadata["kind"], help=help_text)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The options given on the command line over the defaults, or (``--resume``) over the saved run."""
    own = dataclasses.fields(get_family(args.model).Options)
    names = {f.name for f in (*dataclasses.fields(TrainConfig), *own)}
    given: dict[str, Any] = {k: v for k, v in vars(args).items() if k in names and k != "model"}
    if "data" in given:
        given["data"] = given["data"].expanduser().resolve()
    if "start_from" in given:
        given["start_from"] = start_from_pairs(args.model, given["start_from"])
    if given.get("resume"):
        if "out" not in given:
            raise TranslationError("--resume needs --out RUN_DIR: the folder of the run to continue")
        return load_config(given["out"] / "config.json").resumed_with(given)
    if "data" not in given:
        raise TranslationError(f"translation train {args.model}: --data DATA is required (see --help for the layouts)")
    given.setdefault("out", Path("runs") / f"{args.model}-{given['data'].name}")
    return TrainConfig.from_options(args.model, **given)


def start_from_pairs(model: str, values: list[str]) -> dict[str, str]:
    """``--start-from [NAME=]PATH`` given once or more -> generator name -> path."""
    generators = list(get_family(model).generators)
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or name not in generators:
            if len(generators) > 1:
                raise TranslationError(f"--start-from {value}: name the generator ({' or '.join(generators)}), "
                                       f"e.g. --start-from {generators[0]}=PATH")
            name, path = generators[0], value
        if name in pairs:
            raise TranslationError(f"--start-from {name}= given twice")
        pairs[name] = str(Path(path).expanduser())
    return pairs


def run(args: argparse.Namespace) -> int:
    from ..training import train

    config = config_from_args(args)
    run_dir = train(config, progress=True)
    if int(os.environ.get("RANK", "0")) == 0:
        names = [f"latest_net_{name}.pth" for name in get_family(config.model).generators]
        print(f"trained {config.model}: run folder {run_dir}")
        averaged = f" (the averages of --ema {config.ema:g}; the checkpoints hold both)" if config.ema else ""
        print(f"  generator weights: {', '.join(str(run_dir / n) for n in names)}{averaged}")
        print(f"  continue with: translation train {config.model} --out {run_dir} --resume")
    return 0


def run_recipe(args: argparse.Namespace) -> int:
    """``translation train --recipe NAME``: train a default model from the built-in collections."""
    from ..recipes import dataset_for, get_recipe, ship
    from ..training import train
    from ..training.checkpointing import list_checkpoints

    if not hasattr(args, "recipe"):
        raise TranslationError(f"translation train: name a model ({', '.join(family_names())}) or a --recipe; "
                               "see --help")
    recipe = get_recipe(args.recipe)
    out = getattr(args, "out", None) or Path("runs") / f"recipe-{recipe.name}"
    data = dataset_for(recipe, out, cache=getattr(args, "cache", None))
    config = recipe.config(data, out, max_steps=getattr(args, "max_steps", None), device=getattr(args, "device", None),
                           resume=bool(list_checkpoints(out)))
    train(config, progress=True)
    print(f"trained recipe {recipe.name}: run folder {out}")
    if getattr(args, "ship", False):
        exports = getattr(args, "exports", None) or (Path("exports") if recipe.default else out / "exports")
        for path in ship(recipe, out, exports, cache=getattr(args, "cache", None)):
            print(f"  shipped {path} (card {path.with_suffix('.json')})")
    return 0
