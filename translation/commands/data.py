"""``translation data prepare|status|examples``: the built-in photo and art collections."""
from __future__ import annotations

import argparse

DESCRIPTION = """\
The default models train on photographs and digital artworks from Debian packages (wallpapers,
games' and educational programs' pictures, image libraries' sample data; translation/collections/
packages.py names them), split by the lists in translation/collections/ (photos.txt, art.txt, and
the held-out photos_val.txt, art_val.txt; licences in their comments).

  translation data prepare     download the packages with apt-get download when pictures are missing
                               and extract their picture folders into <cache>/packages (nothing is
                               installed), convert each listed picture once to a JPEG (photographs at
                               full resolution, artworks at most 1024 px) and record it with SHA-256
                               checksums in <cache>/manifest.json; a second run does nothing
  translation data status      what is in the cache and whether it matches the lists and checksums
  translation data examples    (maintainers) remake examples/ from the held-out pictures

The cache is $TRANSLATION_CACHE/collections, else ~/.cache/translation/collections; images land in
<cache>/photos/train, <cache>/photos/val, <cache>/art/train and <cache>/art/val.
"""

EPILOG = """\
examples:
  translation data prepare        # as root it runs apt-get update first; as a user apt's lists must be current
  translation data prepare --cache data-cache/collections
  translation data prepare --source-root /tmp/debs --no-install     # packages extracted with dpkg-deb -x
  translation data prepare --source-root /                          # the packages installed with apt-get
  translation data status
"""


def register(subparsers: argparse._SubParsersAction, name: str, help: str) -> None:
    parser = subparsers.add_parser(name, help=help, description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=lambda args: _usage(parser))
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    def common(action: argparse.ArgumentParser) -> None:
        action.add_argument("--cache", metavar="DIR", default=None,
                            help="the collections folder (default: $TRANSLATION_CACHE/collections, "
                                 "else ~/.cache/translation/collections)")
        action.add_argument("--source-root", metavar="DIR", default=None,
                            help="where the packages' files are (default: as downloaded and extracted into "
                                 "<cache>/packages/root): / for installed packages, or a folder holding "
                                 "their usr/... tree (e.g. from dpkg-deb -x)")

    prepare = actions.add_parser("prepare", help="download, convert and checksum the collections (idempotent)",
                                 description="Download and extract the Debian packages when pictures are "
                                             "missing, convert the listed pictures into the cache and write "
                                             "manifest.json.")
    common(prepare)
    prepare.add_argument("--no-install", action="store_true",
                         help="never run apt-get; fail saying what to do when pictures are missing")
    prepare.add_argument("--force", action="store_true",
                         help="convert every picture again, even those already in the cache")
    prepare.set_defaults(handler=run_prepare)

    status = actions.add_parser("status", help="show the cache and whether it matches the lists",
                                description="Show what is in the cache and check it against the lists and "
                                            "the manifest's SHA-256 checksums. Exit status 1 when it does not match.")
    common(status)
    status.set_defaults(handler=run_status)

    examples = actions.add_parser("examples", help="(maintainers) remake examples/ from held-out pictures",
                                  description="Write small example inputs for each task into a folder, made "
                                              "from the held-out photographs and artworks of a prepared cache.")
    examples.add_argument("--cache", metavar="DIR", default=None, help="the collections folder (default as above)")
    examples.add_argument("-o", "--output", metavar="DIR", default="examples",
                          help="folder to write into (default: examples)")
    examples.set_defaults(handler=run_examples)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_prepare(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..collections import prepare, status

    with tqdm(desc="converting", unit="picture", leave=False) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        cache = prepare(args.cache, source_root=args.source_root, install=not args.no_install,
                        force=args.force, progress=progress)
    _print_status(status(cache, source_root=args.source_root))
    return 0


def run_status(args: argparse.Namespace) -> int:
    from ..collections import status

    report = status(args.cache, source_root=args.source_root)
    _print_status(report)
    return 0 if report.ok else 1


def run_examples(args: argparse.Namespace) -> int:
    from ..collections.examples import write_examples

    written = write_examples(args.output, cache=args.cache)
    total = sum(path.stat().st_size for path in written)
    print(f"wrote {len(written)} files to {args.output} ({total / 1e3:.0f} kB); update {args.output}/README.md")
    return 0


def _print_status(report) -> None:
    print(f"cache: {report.cache}")
    if not report.prepared:
        print(f"not prepared: run `translation data prepare` ({len(report.missing)} pictures listed)")
    else:
        packages = ", ".join(f"{name} {version or '(version unknown)'}" for name, version in report.packages.items())
        print(f"packages: {packages}")
        for name in ("photos", "art"):
            print(f"{name}: {report.counts.get(name + '/train', 0)} train, {report.counts.get(name + '/val', 0)} val")
        print(f"size: {report.size_bytes / 1e6:.1f} MB")
        problems = [(report.missing, "listed but missing"), (report.changed, "checksum differs from the manifest"),
                    (report.stale, "no longer listed")]
        for entries, what in problems:
            if entries:
                print(f"{len(entries)} {what}: {', '.join(entries[:5])}{' ...' if len(entries) > 5 else ''}")
        if report.settings_differ:
            print("made with other conversion settings")
        print("matches the lists and checksums" if report.ok else "does not match: run `translation data prepare`")
    if report.uncurated:
        print(f"{len(report.uncurated)} pictures in the packages are in no list "
              f"(see translation/collections/): {', '.join(report.uncurated[:5])}")
