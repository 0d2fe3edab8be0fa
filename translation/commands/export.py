"""``translation export CHECKPOINT -o MODEL.onnx``: a generator checkpoint to a self-describing ONNX model."""
from __future__ import annotations

import argparse

EPILOG = """\
examples:
  translation export runs/colorization -o exports/colorization.onnx          # the run's newest checkpoint
  translation export runs/colorization --checkpoint best -o exports/colorization.onnx
  translation export runs/colorization --weights live -o live.onnx            # a run trained with --ema
  translation export latest_net_G.pth --task style-transfer -o exports/facades.onnx
  translation export latest_net_G_A.pth --task style-transfer -o exports/horse2zebra.onnx
  translation export runs/horse2zebra --generator G_B -o exports/zebra2horse.onnx
  translation export latest_net_G.pth --norm-mode instance -o facades_instance.onnx

The architecture is read off the checkpoint's keys; --netG/--ngf/--norm/--in-channels/--out-channels
override it. The export is checked against PyTorch on a random input and nothing is written when
they disagree (above 1e-4, or 5e-2 with --fp16).
"""


def register(subparsers: argparse._SubParsersAction, name: str, help: str) -> None:
    from ..tasks import task_names
    from ..tasks.spec import WORKING_SHAPES

    parser = subparsers.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="our checkpoint (.pt), a training run's folder (RUN_DIR: its newest checkpoint, or "
                             "see --checkpoint) or a reference state dict (latest_net_G.pth, latest_net_G_A.pth)")
    parser.add_argument("--checkpoint", dest="run_checkpoint", choices=("latest", "best"), default=None,
                        help="which checkpoint of a run folder: latest (default) or best (checkpoints/best.pt: the "
                             "step with the best validation score)")
    parser.add_argument("-o", "--output", metavar="MODEL.onnx", required=True, help="ONNX file to write")
    parser.add_argument("--task", choices=task_names(), default=None,
                        help="the model's task when the checkpoint does not record one "
                             "(default: the checkpoint's; else the task its channel counts belong to, such as "
                             "colorization for 1 -> 2, custom otherwise)")
    parser.add_argument("--generator", choices=("G", "G_A", "G_B"), default=None,
                        help="which generator of one of our CycleGAN checkpoints (default: G, else G_A); "
                             "reference files hold one each (latest_net_G_A.pth, latest_net_G_B.pth)")
    parser.add_argument("--weights", choices=("ema", "live"), default=None,
                        help="of a run trained with --ema: ema (the averaged weights, the default there) or live "
                             "(the weights the optimizer trained)")
    arch = parser.add_argument_group("architecture overrides (default: detected from the checkpoint)")
    arch.add_argument("--netG", default=None,
                      help="unet_256, unet_128 (any unet_N), resnet_9blocks, resnet_6blocks (any resnet_Nblocks)")
    arch.add_argument("--ngf", type=int, default=None, help="filters in the first conv layer")
    arch.add_argument("--norm", choices=("batch", "instance", "none"), default=None, help="normalisation layers")
    arch.add_argument("--in-channels", type=int, default=None, help="input channels")
    arch.add_argument("--out-channels", type=int, default=None, help="output channels")
    arch.add_argument("--residual", action="store_true", default=None,
                      help="output = input + network(input): a model trained with --residual, exported from "
                           "its latest_net_G.pth (our .pt checkpoints record this themselves)")
    parser.add_argument("--norm-mode", choices=("eval", "instance"), default="eval",
                        help="eval: batch norm with its running statistics (default); instance: each image "
                             "normalised with its own statistics, like the reference's test script at batch 1")
    parser.add_argument("--fp16", action="store_true",
                        help="store float16 weights for GPUs (inputs/outputs stay float32)")
    parser.add_argument("--tile-size", type=int, default=None,
                        help="recommended tile size written into the model (default: 512, a multiple of the "
                             "network's size multiple)")
    parser.add_argument("--working-size", type=int, default=None, metavar="PX",
                        help="the runtime shrinks inputs to this long side before the network and brings the "
                             "output back to full size (0: full size; default: the task's, 512 for "
                             "colorization); best the scale the model was trained at")
    parser.add_argument("--working-shape", choices=WORKING_SHAPES, default=None,
                        help="fit: keep the input's aspect ratio at the working size (default); square: resize "
                             "inputs to a square of the working size, for a network trained on photos resized to "
                             "squares (the papers' resize_and_crop); the output is brought back to the input's shape")
    parser.add_argument("--chroma-gain", type=float, default=None, metavar="G",
                        help="colorization models: scale the predicted colour by G (default 1: as trained; above 1 "
                             "more vivid, at some cost in accuracy where the model is unsure)")
    parser.add_argument("--keep-detail", action=argparse.BooleanOptionalAction, default=None,
                        help="rgb -> rgb models with a working size: add the network's change (its output minus "
                             "its input, upsampled) to the full-size input, so the detail the working size drops "
                             "is the input's own rather than a blurred resize (default: off)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..export import export_generator
    from ..runtime.models import read_model_info

    path = export_generator(
        args.checkpoint, args.output, task=args.task, which=args.generator, netG=args.netG, ngf=args.ngf,
        norm=args.norm, in_channels=args.in_channels, out_channels=args.out_channels, residual=args.residual,
        weights=args.weights, checkpoint=args.run_checkpoint,
        norm_mode=args.norm_mode, fp16=args.fp16, tile_size=args.tile_size,
        working_size=args.working_size, working_shape=args.working_shape,
        chroma_gain=args.chroma_gain, keep_detail=args.keep_detail, opset=args.opset)
    info = read_model_info(path)
    meta = info.metadata
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): task {info.task.name}, {meta['network']}, "
          f"{meta['in_channels']} -> {meta['out_channels']} channels, {meta['norm_mode']} norm, "
          f"{meta['precision']}, tile {meta['tile_size']}, working size {meta['working_size'] or 'full'}"
          f"{' (square)' if meta.get('working_shape') == 'square' else ''}"
          f"{', detail kept from the input' if info.task.keep_detail else ''}")
    return 0
