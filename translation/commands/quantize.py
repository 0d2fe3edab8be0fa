"""``translation quantize MODEL.onnx -o MODEL-int8.onnx --calibration DIR``: INT8 for faster CPU inference."""
from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """\
examples:
  translation quantize exports/colorization.onnx --calibration photos/ -o exports/colorization-int8.onnx
  translation quantize model.onnx --calibration photos/ --crops 32 --min-psnr 35

How: static quantisation in the QDQ format (ONNX Runtime): the ranges of the activations are measured
on --crops random crops of the calibration images, prepared exactly as the runtime prepares a tile
(the model's task pre-processing, at its tile size), then the convolutions run with int8 weights (per
output channel) and uint8 activations. The INT8 model's images are compared with the fp32 model's on
--check-crops other crops and the PSNR is printed (and written into the model's metadata). The INT8
model keeps the source's metadata (precision: int8), so `translation convert` and the app serve it as is.
INT8 helps on CPUs; on GPUs use the fp16 export (translation export --fp16) instead.
"""


def register(subparsers: argparse._SubParsersAction, name: str, help: str) -> None:  # noqa: A002 - CLI convention
    from ..quantize import DEFAULT_CALIBRATION_CROPS, DEFAULT_CHECK_CROPS, METHODS

    parser = subparsers.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL.onnx", type=Path, help="an fp32 model from `translation export`")
    parser.add_argument("-o", "--output", metavar="OUT.onnx", type=Path, default=None,
                        help="file to write (default: MODEL-int8.onnx beside MODEL.onnx)")
    parser.add_argument("--calibration", metavar="DIR", type=Path, required=True,
                        help="folder of images like those the model will see (searched recursively)")
    parser.add_argument("--crop-size", type=int, default=None,
                        help="side of the calibration crops in model-input pixels (default: the model's tile size)")
    parser.add_argument("--crops", type=int, default=DEFAULT_CALIBRATION_CROPS,
                        help=f"calibration crops (default: {DEFAULT_CALIBRATION_CROPS})")
    parser.add_argument("--check-crops", type=int, default=DEFAULT_CHECK_CROPS,
                        help=f"other crops for the PSNR check against fp32 (default: {DEFAULT_CHECK_CROPS})")
    parser.add_argument("--method", choices=METHODS, default="minmax",
                        help="how activation ranges are chosen from the calibration data (default: minmax)")
    parser.add_argument("--per-tensor", dest="per_channel", action="store_false",
                        help="one scale per weight tensor instead of one per output channel")
    parser.add_argument("--min-psnr", type=float, default=None, metavar="DB",
                        help="write nothing when the INT8 output is further than this from fp32 (default: no limit)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: physical cores)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the crop positions (default: 0)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..quantize import quantize_model

    output = args.output or args.model.with_name(f"{args.model.stem}-int8.onnx")
    with tqdm(total=args.crops, desc="calibrating", unit="crop", leave=False) as bar:
        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        result = quantize_model(args.model, output, args.calibration, crop_size=args.crop_size, crops=args.crops,
                                check_crops=args.check_crops, method=args.method, per_channel=args.per_channel,
                                min_psnr=args.min_psnr, threads=args.threads, seed=args.seed, progress=progress)
    size = result.path.stat().st_size / 1e6
    print(f"wrote {result.path} ({size:.1f} MB, int8): calibrated on {result.calibration_crops} crops of "
          f"{result.crop_size} px; output vs fp32 on {result.check_crops} other crops: PSNR {result.psnr:.2f} dB")
    return 0
