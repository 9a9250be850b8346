"""EPI -> MNI registration, the atlas in native space and the QC figure, on a small synthetic fixture.

The fixture here is 48x48x34 voxels of 4 mm (the real field of view at half the resolution) with 6 volumes: coarse
enough to generate and register in about a second, fine enough that the template's anatomy drives the metric.
Tolerance on the recovered transform: over the template's brain voxels, mean displacement < 1.5 mm and maximum
< 3 mm (under a voxel of the fixture; the real run's bench reaches about 0.05 mm).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from symbench import paths
from symbench.music import layout
from symbench.music.atlas import AUDITORY_ROI, desikan_killiany_files
from symbench.music.atlas_native import atlas_to_native
from symbench.music.fixture import FixtureConfig, generate_fixture, read_fixture_manifest, subject_geometry
from symbench.music.registration import (
    Registration,
    RegistrationConfig,
    brain_points_mm,
    displacement_mm,
    load_template,
    mean_volume,
    read_registration,
    register_to_mni,
    write_registration,
)
from symbench.music.registration_qc import plot_registration_qc
from symbench.music.roi_clips import roi_mask

DS003720 = paths.SHARED_DATA / "ds003720"
pytestmark = pytest.mark.skipif(
    not DS003720.is_dir(), reason=f"ds003720 metadata mirror not found at {DS003720} (CI provides it)"
)
CONFIG = FixtureConfig(subjects=(1,), runs={"Training": [1]}, n_volumes=6, shape=(48, 48, 34), voxel_mm=4.0)
MEAN_TOLERANCE_MM, MAX_TOLERANCE_MM = 1.5, 3.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def _few_threads() -> Iterator[None]:
    with threadpool_limits(limits=1):  # BLAS and OpenMP (dipy): the CPU cores are shared
        yield


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registration") / "ds003720"
    generate_fixture(root, DS003720, CONFIG)
    return root


@pytest.fixture(scope="module")
def bold(tree: Path) -> nib.Nifti1Image:
    return nib.load(tree / layout.func_path(1, "Training", 1, "bold.nii"))


@pytest.fixture(scope="module")
def truth(tree: Path) -> np.ndarray:
    return np.array(read_fixture_manifest(tree)["subjects"]["sub-001"]["native_from_mni"])  # type: ignore[index]


@pytest.fixture(scope="module")
def template() -> nib.Nifti1Image:
    return load_template()


@pytest.fixture(scope="module")
def mean_epi(bold: nib.Nifti1Image) -> nib.Nifti1Image:
    return mean_volume(bold)


@pytest.fixture(scope="module")
def registration(mean_epi: nib.Nifti1Image, template: nib.Nifti1Image) -> Registration:
    return register_to_mni(mean_epi, template)


@pytest.fixture(scope="module")
def atlas() -> nib.Nifti1Image:
    return nib.load(desikan_killiany_files().image)


def test_mean_volume_streams_to_the_in_memory_mean_as_float32_with_the_same_affine(bold: nib.Nifti1Image) -> None:
    expected = np.asarray(bold.dataobj, dtype=np.float64).mean(axis=3)
    for chunk in (1, 4, 16):  # 6 volumes: chunks that divide, do not divide and exceed the run
        mean = mean_volume(bold, chunk_volumes=chunk)
        assert mean.get_data_dtype() == np.float32 and mean.shape == bold.shape[:3]
        np.testing.assert_allclose(mean.affine, bold.affine)
        np.testing.assert_allclose(np.asarray(mean.dataobj), expected, rtol=1e-6, atol=1e-3)
    in_memory = nib.Nifti1Image(np.asarray(bold.dataobj), bold.affine)  # summed in one pass: the same bits
    np.testing.assert_array_equal(np.asarray(mean_volume(in_memory).dataobj), np.asarray(mean_volume(bold).dataobj))
    with pytest.raises(ValueError, match="expected a 3D or 4D image"):
        mean_volume(nib.Nifti1Image(np.zeros((2, 2), np.float32), np.eye(4)))


def test_registration_recovers_the_fixture_transform_within_tolerance_over_brain_points(
    registration: Registration, truth: np.ndarray, template: nib.Nifti1Image
) -> None:
    error = displacement_mm(registration.native_from_mni, truth, brain_points_mm(template))
    assert error.mean() < MEAN_TOLERANCE_MM and error.max() < MAX_TOLERANCE_MM, (error.mean(), error.max())
    identity_error = displacement_mm(np.eye(4), truth, brain_points_mm(template))
    assert identity_error.mean() > 4 * MEAN_TOLERANCE_MM  # the fixture's transform is not trivially close
    rotation = registration.native_from_mni[:3, :3]
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-6)  # rigid by default
    assert registration.method.startswith("dipy ") and registration.mutual_information > 0


def test_sampling_the_whole_box_instead_of_the_template_tissue_recovers_the_transform_too(
    mean_epi: nib.Nifti1Image, registration: Registration, truth: np.ndarray, template: nib.Nifti1Image
) -> None:
    box = register_to_mni(mean_epi, template, RegistrationConfig(tissue_threshold=None))
    points = brain_points_mm(template)
    for found in (box, registration):
        error = displacement_mm(found.native_from_mni, truth, points)
        assert error.mean() < MEAN_TOLERANCE_MM and error.max() < MAX_TOLERANCE_MM, (error.mean(), error.max())
    assert not np.array_equal(box.native_from_mni, registration.native_from_mni)  # other samples, other optimum


@pytest.mark.parametrize("shift_mm", [(0.0, 0.0, 0.0), (6.0, -4.0, 3.0)])
def test_template_registered_to_itself_or_to_a_shifted_copy_gives_identity_or_that_shift(
    template: nib.Nifti1Image, shift_mm: tuple[float, float, float]
) -> None:
    known = np.eye(4)
    known[:3, 3] = shift_mm
    moved = nib.Nifti1Image(template.get_fdata(dtype=np.float32), known @ template.affine)
    found = register_to_mni(moved, template)
    error = displacement_mm(found.native_from_mni, known, brain_points_mm(template))
    assert error.max() < 0.5, error.max()


def test_same_input_and_config_give_an_identical_matrix(
    mean_epi: nib.Nifti1Image, template: nib.Nifti1Image, registration: Registration
) -> None:
    again = register_to_mni(mean_epi, template)
    np.testing.assert_array_equal(again.native_from_mni, registration.native_from_mni)
    assert again.mutual_information == registration.mutual_information


def test_registration_round_trips_through_json_with_its_config(registration: Registration, tmp_path: Path) -> None:
    path = write_registration(tmp_path / "sub-001_registration.json", registration)
    back = read_registration(path)
    np.testing.assert_array_equal(back.native_from_mni, registration.native_from_mni)
    assert back.config == registration.config == RegistrationConfig()
    assert (back.method, back.seconds, back.mutual_information) == (
        registration.method,
        registration.seconds,
        registration.mutual_information,
    )
    (tmp_path / "broken.json").write_text('{"method": "x"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.json: expected a registration JSON"):
        read_registration(tmp_path / "broken.json")


def test_invalid_registration_config_and_a_4d_moving_image_are_refused(bold: nib.Nifti1Image) -> None:
    with pytest.raises(ValueError, match="stages"):
        RegistrationConfig(stages=("rigid", "warp"))
    with pytest.raises(ValueError, match="one value per pyramid level"):
        RegistrationConfig(level_iters=(10, 10), sigmas=(1.0,), factors=(1,))
    with pytest.raises(ValueError, match="sampling_proportion"):
        RegistrationConfig(sampling_proportion=0.0)
    with pytest.raises(ValueError, match="tissue_threshold"):
        RegistrationConfig(tissue_threshold=1.0)
    with pytest.raises(ValueError, match=r"bold\.nii: expected a 3D volume"):
        register_to_mni(bold)


def test_atlas_in_native_space_matches_the_fixture_labels_with_the_true_transform(
    bold: nib.Nifti1Image, truth: np.ndarray, atlas: nib.Nifti1Image, template: nib.Nifti1Image
) -> None:
    native = atlas_to_native(atlas, truth, bold.shape[:3], bold.affine)
    assert native.get_data_dtype() == np.int16 and native.shape == bold.shape[:3]
    np.testing.assert_allclose(native.affine, bold.affine)
    geometry = subject_geometry(CONFIG, "sub-001", template, atlas)
    expected = geometry.labels.reshape(CONFIG.shape, order="F")
    brain = geometry.baseline.reshape(CONFIG.shape, order="F") > 0.2 * CONFIG.brain_intensity
    agreement = (np.asarray(native.dataobj) == expected)[brain].mean()
    assert agreement > 0.99, agreement


def test_auditory_roi_masks_from_the_estimated_transform_are_non_empty_and_inside_the_brain(
    bold: nib.Nifti1Image, mean_epi: nib.Nifti1Image, registration: Registration, atlas: nib.Nifti1Image
) -> None:
    native = atlas_to_native(atlas, registration.native_from_mni, bold.shape[:3], bold.affine)
    brain = np.asarray(mean_epi.dataobj) > 0.2 * CONFIG.brain_intensity
    for region in AUDITORY_ROI:
        mask = roi_mask(np.asarray(native.dataobj), [region])
        assert mask.sum() >= 5, region
        assert brain[mask].mean() > 0.95, (region, brain[mask].mean())


def test_qc_figure_is_a_non_empty_png(
    mean_epi: nib.Nifti1Image, bold: nib.Nifti1Image, truth: np.ndarray, atlas: nib.Nifti1Image, tmp_path: Path
) -> None:
    native = atlas_to_native(atlas, truth, bold.shape[:3], bold.affine)
    path = plot_registration_qc(mean_epi, native, AUDITORY_ROI, tmp_path / "qc" / "sub-001_registration.png")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left beside it


def test_a_failing_qc_plot_leaves_nothing_half_written(
    mean_epi: nib.Nifti1Image,
    bold: nib.Nifti1Image,
    truth: np.ndarray,
    atlas: nib.Nifti1Image,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matplotlib.figure import Figure

    def write_half_then_fail(self: Figure, fname: str | Path, **kwargs: object) -> None:
        Path(fname).write_bytes(PNG_SIGNATURE + b"half")
        raise OSError("disk full")

    native = atlas_to_native(atlas, truth, bold.shape[:3], bold.affine)
    monkeypatch.setattr(Figure, "savefig", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        plot_registration_qc(mean_epi, native, AUDITORY_ROI, tmp_path / "qc.png")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="none is present"):
        plot_registration_qc(mean_epi, native, [999], tmp_path / "qc.png")
