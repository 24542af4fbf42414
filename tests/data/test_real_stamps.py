"""``stamps`` from a tiny Tux Paint stamps tree written in the package's layout (PNG pictures, ``.txt``
descriptions with ``<lang>.utf8=`` lines, ``<name>_desc_<lang>.ogg`` recordings): rows, what is left out and
counted, labels, splits by stamp, decoded audio, the log-mel CNN trained on it, and the install command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mmbench.data import DatasetError
from mmbench.data.loading import load, resolve
from mmbench.data.real import stamps

soundfile = pytest.importorskip("soundfile", reason='pip install "mmbench[real-data]"')

RATE = 8000
SECONDS = 0.25
#: category/subfolder(s) -> stamp names (cartoon is a style folder, not a subcategory)
TREE = {
    "animals/birds": ["robin", "owl", "duck"],
    "animals/mammals": ["cat", "dog", "cow"],
    "animals/mammals/cartoon": ["cartoon_cat"],
    "food/fruit": ["lemon", "apple", "pear"],
    "food": ["bread", "cheese"],
    "clothes/hats": ["cap"],
}
LANGS = {"fr": "Une chose.", "es": "Una cosa.", "ru": "Вещь."}


def _tone(freq: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_stamps(root: Path) -> Path:
    """The package's layout: per stamp a PNG, a .txt (English first, then <lang>.utf8= lines) and recordings."""
    from PIL import Image

    for i, (folder, names) in enumerate(TREE.items()):
        for j, name in enumerate(names):
            d = root / folder
            d.mkdir(parents=True, exist_ok=True)
            Image.new("RGBA", (20 + j, 12), (40 * i, 30 * j, 200, 255)).save(d / f"{name}.png")
            lines = [f"A {name}."] + [f"{lang}.utf8={text} {name}" for lang, text in LANGS.items()]
            (d / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
            for k, lang in enumerate(LANGS):
                if lang == "ru" and j == 0:
                    continue  # not every stamp is recorded in every language
                soundfile.write(d / f"{name}_desc_{lang}.ogg", _tone(300 + 200 * k, 22050, 0.4), 22050,
                                format="OGG", subtype="VORBIS")
    fruit = root / "food/fruit"
    (fruit / "kiwi.svg").write_text("<svg/>")  # SVG only: left out and counted
    soundfile.write(fruit / "kiwi_desc_fr.ogg", _tone(500, 22050, 0.3), 22050, format="OGG", subtype="VORBIS")
    soundfile.write(fruit / "lemon_desc_da.ogg", _tone(500, 22050, 0.3), 22050, format="OGG", subtype="VORBIS")
    soundfile.write(fruit / "lemon.ogg", _tone(500, 22050, 0.3), 22050, format="OGG", subtype="VORBIS")  # a sound effect
    return root


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MMBENCH_DATASETS_DIR", str(tmp_path / "built"))
    return write_stamps(tmp_path / "stamps")


def _options(source: Path, **extra) -> dict:
    return {"name": "stamps", "options": {"source_dir": str(source), "image_size": 16, "sampling_rate": RATE,
                                          "seconds": SECONDS, "min_stamps": 2, "min_language_rows": 1, **extra}}


def test_one_row_per_recorded_stamp_and_language_and_what_is_left_out(source: Path):
    spec = resolve(_options(source))
    n_stamps = sum(len(v) for v in TREE.values())
    n_unrecorded_ru = len(TREE)  # the first stamp of each folder has no Russian recording
    assert spec.metadata["size"] == {"rows": 3 * n_stamps - n_unrecorded_ru, "stamps": n_stamps, "languages": 3}
    assert spec.metadata["left_out"] == {"SVG-only stamp": 1, "no text in the recording's language": 1}
    assert spec.revision.startswith("sha256:")
    data = load(spec)
    assert sum(len(s) for s in data.splits.values()) == spec.metadata["size"]["rows"]
    assert data.modality_info["image"].shape == (3, 16, 16)
    assert data.modality_info["audio"].shape == (int(RATE * SECONDS),)
    assert data.task_info["language"].out_dim == 3 and data.task_info["category"].out_dim == 3
    assert any("sampling rate 8000 Hz" in n for n in data.notes)


def test_labels_and_texts_come_from_the_folders_and_the_descriptions(source: Path):
    rows, _ = stamps.scan(source)
    by_stamp = {(r.stamp, r.language): r for r in rows}
    cat = by_stamp[("animals/mammals/cartoon/cartoon_cat", "es")]
    assert (cat.category, cat.folder, cat.text) == ("animals", "mammals", "Una cosa. cartoon_cat")
    assert by_stamp[("food/bread", "fr")].folder == ""
    labels = dict(zip([(r.stamp, r.language) for r in rows], stamps._labels(rows, min_stamps=2)))
    assert labels[("animals/mammals/cartoon/cartoon_cat", "fr")] == "animals/mammals"  # 4 mammal stamps
    assert labels[("food/bread", "fr")] == "food/other"                                # in the category folder
    assert labels[("clothes/hats/cap", "fr")] == "clothes/other"                       # a subcategory of 1 stamp
    assert labels[("food/fruit/lemon", "fr")] == "food/fruit"


def test_splits_keep_every_language_of_a_stamp_together(source: Path):
    built = stamps.build_stamps(source, "checksum", {"image_size": 16, "sampling_rate": RATE, "min_stamps": 2,
                                                     "min_language_rows": 1}, split_seed=0)
    owner = {}
    for role, split in built.items():
        for stamp in split["stamp"]:
            assert owner.setdefault(stamp, role) == role, f"{stamp} is in {owner[stamp]} and {role}"
    assert set(owner.values()) == {"train", "validation", "test"}
    again = stamps.build_stamps(source, "checksum", {"image_size": 16, "sampling_rate": RATE, "min_stamps": 2,
                                                     "min_language_rows": 1}, split_seed=1)
    assert {r: sorted(s["stamp"]) for r, s in again.items()} != {r: sorted(s["stamp"]) for r, s in built.items()}


def test_the_recordings_are_resampled_mono_waveforms(source: Path):
    data = load(resolve(_options(source)))
    audio = data.splits["train"].modalities["audio"]
    assert audio.shape[1] == int(RATE * SECONDS) and audio.dtype == torch.float32
    spectrum = np.abs(np.fft.rfft(audio[0].numpy()))
    peak = np.fft.rfftfreq(audio.shape[1], 1 / RATE)[spectrum.argmax()]
    assert peak in (300.0, 500.0, 700.0)  # one of the written tones survives the 22,050 -> 8,000 Hz resampling
    image = data.splits["train"].modalities["image"]
    assert float(image.max()) <= 1.0 and float(image[:, :, 0, 0].min()) > 0.99  # padded with white


def test_rare_languages_are_left_out_and_counted(source: Path):
    spec = resolve(_options(source, min_language_rows=8))  # ru has 13 - 6 = 7 rows, fr and es 13 each
    assert spec.metadata["size"]["languages"] == 2
    assert spec.metadata["left_out"]["languages with fewer than 8 rows (ru)"] == 7
    assert load(spec).task_info["language"].out_dim == 2


def test_the_logmel_cnn_trains_on_the_recordings_through_the_harness(source: Path, tmp_path: Path):
    pytest.importorskip("librosa")
    from mmbench.grid.config import load_config
    from mmbench.grid.execution.context import loaded_dataset
    from mmbench.grid.runner import plan
    from mmbench.provenance import resolve_device
    from mmbench.train.cell_runner import train_cell
    from mmbench.train.features import FeatureCache
    import yaml

    grid = tmp_path / "stamps.yaml"
    grid.write_text(yaml.safe_dump({
        "name": "stamps-audio", "dataset": _options(source), "modalities": ["audio"], "tasks": ["language"],
        "encoders": {"audio": [{"name": "logmel-cnn", "sampling_rate": RATE, "n_fft": 256, "hop_length": 128}]},
        "weightings": ["ew"], "seeds": 1, "training": {"epochs": 2, "batch_size": 16, "patience": 2}, "device": "cpu",
    }))
    cfg = load_config(grid)
    cells = plan(cfg).cells
    assert cells and all(dict(c.encoders)["audio"].name == "logmel-cnn" for c in cells)
    data = loaded_dataset(cfg.dataset)
    result = train_cell(cells[0], data, resolve_device("cpu"), FeatureCache(enabled=False)).result
    assert "language" in result["metrics"]["test"]


def test_a_missing_package_names_its_install_command(tmp_path: Path):
    with pytest.raises(DatasetError, match="apt-get install tuxpaint-stamps-default"):
        resolve({"name": "stamps", "options": {"source_dir": str(tmp_path / "nowhere")}})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no stamp under .*`apt-get install tuxpaint-stamps-default`"):
        resolve({"name": "stamps", "options": {"source_dir": str(tmp_path / "empty")}})


def test_without_soundfile_the_build_names_its_install_command(source: Path, monkeypatch: pytest.MonkeyPatch):
    import sys

    monkeypatch.setitem(sys.modules, "soundfile", None)
    with pytest.raises(DatasetError, match=r'pip install "mmbench\[real-data\]"'):
        load(resolve(_options(source)))
