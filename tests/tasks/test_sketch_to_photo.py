"""Sketch to photo: gray sketches in, and the sketches (lines, shading) made of photos."""
from __future__ import annotations

import cv2
import numpy as np
from task_photos import shapes_photo

from translation.tasks import find_task, finish, get_task, prepare, training_pair
from translation.tasks.sketch_to_photo import extract_sketch, shade_colours, shaded_sketch


def test_sketch_to_photo_input_is_gray_and_sketch_from_photo_makes_the_shaded_sketch():
    spec = get_task("sketch-to-photo")
    photo, _ = shapes_photo()
    network_input, context = prepare(spec, photo)
    assert network_input.shape == (1, 64, 64)
    expected_gray = (0.299 * photo[..., 0] + 0.587 * photo[..., 1] + 0.114 * photo[..., 2]) * 2 - 1
    np.testing.assert_allclose(network_input[0], expected_gray, atol=1e-5)
    from_photo, _ = prepare(spec, photo, sketch_from_photo=True)
    np.testing.assert_allclose(from_photo[0], shaded_sketch(photo) * 2 - 1, atol=1e-5)
    assert finish(spec, np.zeros((3, 64, 64), np.float32), context).shape == (64, 64, 3)


def test_sketch_pair_is_the_drawing_and_the_photo():
    photo, _ = shapes_photo(32)
    source, target = training_pair(get_task("sketch-to-photo"), photo, np.random.default_rng(0))
    np.testing.assert_allclose(source[0], shaded_sketch(photo) * 2 - 1, atol=1e-6)
    np.testing.assert_allclose(target, photo.transpose(2, 0, 1) * 2 - 1, atol=1e-6)


def test_extract_sketch_draws_dark_lines_along_edges_on_white():
    photo, mask = shapes_photo()
    sketch = extract_sketch(photo)
    assert sketch.shape == (64, 64) and sketch.dtype == np.float32
    assert sketch.min() >= 0.0 and sketch.max() <= 1.0
    assert (sketch > 0.9).mean() > 0.8  # mostly white paper
    edges = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
    near_edges = cv2.dilate(edges.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    dark = sketch < 0.5
    assert dark.sum() > 0.5 * edges.sum() / 2  # the outline is drawn ...
    assert dark[~near_edges].sum() == 0  # ... and nothing else
    inner_and_outer = ~cv2.dilate(edges.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert sketch[inner_and_outer].min() > 0.95  # flat areas are white, however dark the photo is there
    # every side of the square carries a line
    for side in (dark[14:19, 22:42], dark[45:50, 22:42], dark[18:46, 18:23], dark[18:46, 41:46]):
        assert side.any()


def test_extract_sketch_of_a_flat_image_is_blank():
    assert (extract_sketch(np.full((16, 16, 3), 0.1, np.float32)) == 1.0).all()


def test_shaded_sketch_keeps_the_lines_and_shades_dark_places_lighter_than_a_line():
    photo, mask = shapes_photo()  # a dark square (luminance ~0.2) on a light ground (~0.8)
    lines, shaded = extract_sketch(photo), shaded_sketch(photo)
    assert shaded.shape == (64, 64) and shaded.dtype == np.float32
    assert (shaded <= lines + 1e-6).all()  # every line is still there
    inside = cv2.erode(mask, np.ones((9, 9), np.uint8)).astype(bool)
    outside = ~cv2.dilate(mask, np.ones((9, 9), np.uint8)).astype(bool)
    assert (shaded[outside] == 1.0).all()  # light places stay white paper
    assert np.allclose(shaded[inside], 0.55)  # the darkest band: the darkest shade, not black
    assert shaded[lines < 0.2].max() < 0.3  # lines stay darker than any shade
    gradient = np.repeat(np.linspace(1.0, 0.0, 64, dtype=np.float32)[None, :, None], 3, axis=2).repeat(16, 0)
    row = shaded_sketch(gradient, sigma=0.5)[8, 4:-4]
    assert (np.diff(row) <= 1e-6).all() and len(np.unique(np.round(row, 3))) == 4  # paper and three grays


def test_the_sketchpad_offers_black_and_the_shades():
    colours = shade_colours()
    assert colours == ("#000000", "#d9d9d9", "#b2b2b2", "#8c8c8c")
    assert find_task("sketch-to-photo").app.drawing_colours == colours
