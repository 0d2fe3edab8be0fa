"""Image I/O, datasets, validation and augmentation pipelines."""
