"""The dataset layouts, drawn as trees: shown by ``translation train --help`` and in layout errors.

Kept apart from ``layouts.py`` so that drawing ``--help`` imports nothing heavy.
"""

ALIGNED_TREE = """\
  paired, aligned (A and B side by side in one image, like facades / maps / edges2shoes):
    DATA/
    ├── train/
    │   ├── 1.jpg        each image is [ A | B ], twice as wide as tall
    │   └── 2.jpg
    ├── val/             optional: validation images (else --val-fraction of train/ is held out)
    └── test/            optional, not used for training"""

FOLDERS_TREE = """\
  paired, two folders (the two halves of a pair share a file name; DATA/A + DATA/B also work):
    DATA/
    ├── train/
    │   ├── A/  001.png 002.png ...
    │   └── B/  001.png 002.png ...
    └── val/             optional: val/A + val/B"""

PHOTOS_TREE = """\
  photos (pix2pix --task NAME of a task that makes its pairs from plain photos, on the fly):
    DATA/
    ├── a.jpg
    ├── more/b.jpg       sub-folders are searched too
    └── ...              or DATA/train/ + DATA/val/"""

UNPAIRED_TREE = """\
  unpaired (CycleGAN, CUT; the two folders may hold different numbers of images):
    DATA/
    ├── trainA/  horse1.jpg horse2.jpg ...
    ├── trainB/  zebra1.jpg ...
    ├── testA/   optional, used for sample grids
    └── testB/   optional"""

PAIRED_TREES = ALIGNED_TREE + "\n" + FOLDERS_TREE
ALL_TREES = "\n".join([ALIGNED_TREE, FOLDERS_TREE, PHOTOS_TREE, UNPAIRED_TREE])
