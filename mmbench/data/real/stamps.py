"""``stamps``: Tux Paint's stamps (Debian ``tuxpaint-stamps-default``) as real image, text and speech.

Under ``/usr/share/tuxpaint/stamps/<category>/<subcategory>/...`` each stamp ``<name>`` has a picture
(``<name>.png``, or only ``<name>.svg``), a ``<name>.txt`` description (English on the first line, then
``<lang>.utf8=<text>`` lines) and spoken descriptions ``<name>_desc_<lang>.ogg``.

- rows: one per (stamp, language) with a recording, a PNG picture and that language's text. Recordings of
  SVG-only stamps, of stamps without any picture, and without a text line in their language are left out and
  counted (``metadata["left_out"]``); so are languages with fewer than ``min_language_rows`` rows.
- image: the PNG composited on white, padded to a square and resized to ``image_size`` (RGB).
- text: the description in the recording's language. audio: the recording, mono, resampled to
  ``sampling_rate`` and stored as 16-bit WAV (decoded later without torchcodec); decoding cuts or pads it
  to ``seconds``.
- tasks: ``category`` (the first folder), ``subcategory`` (``<category>/<first folder below it>``, skipping
  ``cartoon`` style folders; ``<category>/other`` for stamps in the category folder itself and for
  subcategories with fewer than ``min_stamps`` stamps) and ``language``.
- splits: by stamp (every language of a stamp lies in one split, so no picture is seen in training and
  tested on), 70/15/15 of the stamps stratified by category with ``split_seed``.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mmbench.data.errors import DatasetError
from mmbench.data.real.cache import cached, card, require_source, sources_sha256
from mmbench.data.spec import DatasetSpec, ModalitySpec, TaskSpec
from mmbench.data.splits import stratified_split

SOURCE_DIR = Path("/usr/share/tuxpaint/stamps")
INSTALL = "apt-get install tuxpaint-stamps-default"
#: reading Ogg Vorbis needs libsndfile through soundfile
AUDIO_INSTALL = 'pip install "mmbench[real-data]"  (or: pip install soundfile)'
STYLE_FOLDERS = ("cartoon",)
#: bump when the construction changes: cached builds of the old one are then not reused
VERSION = 1


@dataclass(frozen=True)
class Recording:
    """One (stamp, language) row before decoding."""

    stamp: str
    category: str
    folder: str
    language: str
    png: Path
    ogg: Path
    text: str


def _descriptions(txt: Path) -> dict[str, str]:
    """``{language: description}`` from a stamp's ``.txt`` (``<lang>.utf8=<text>`` lines; empty ones skipped)."""
    out = {}
    for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
        lang, sep, text = line.partition(".utf8=")
        if sep and text.strip():
            out[lang.strip()] = text.strip()
    return out


def scan(root: Path) -> tuple[list[Recording], Counter]:
    """Every usable recording under ``root`` and the counts of those left out, by reason."""
    rows, left_out = [], Counter()
    texts: dict[Path, dict[str, str]] = {}
    for ogg in sorted(root.rglob("*_desc_*.ogg")):
        name, _, lang = ogg.stem.rpartition("_desc_")
        parts = ogg.parent.relative_to(root).parts
        png, svg, txt = (ogg.with_name(f"{name}{ext}") for ext in (".png", ".svg", ".txt"))
        if not parts:
            left_out["recording outside any category folder"] += 1
        elif not png.is_file():
            left_out["SVG-only stamp" if svg.is_file() else "no picture of that name"] += 1
        elif not txt.is_file():
            left_out["no .txt description"] += 1
        elif lang not in texts.setdefault(txt, _descriptions(txt)):
            left_out["no text in the recording's language"] += 1
        else:
            folder = next((p for p in parts[1:] if p not in STYLE_FOLDERS), "")
            rows.append(Recording("/".join((*parts, name)), parts[0], folder, lang, png, ogg, texts[txt][lang]))
    return rows, left_out


def source_files(root: Path) -> list[Path]:
    """The files a build reads: recordings, pictures and descriptions."""
    return [p for p in root.rglob("*") if p.suffix in (".ogg", ".png", ".txt") and p.is_file()
            and (p.suffix != ".ogg" or "_desc_" in p.name)]


def _picture(path: Path, size: int) -> Any:
    """A stamp composited on white, padded to a square, resized to ``size`` x ``size`` RGB."""
    from PIL import Image

    with Image.open(path) as im:
        rgba = im.convert("RGBA")
    side = max(rgba.size)
    square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    square.alpha_composite(rgba, ((side - rgba.width) // 2, (side - rgba.height) // 2))
    return square.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)


def _wav(path: Path, rate: int) -> bytes:
    """An Ogg recording as mono 16-bit PCM WAV bytes at ``rate`` Hz (polyphase resampling, scipy)."""
    import numpy as np
    import soundfile
    from scipy.signal import resample_poly

    data, source_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if source_rate != rate:
        g = math.gcd(int(source_rate), int(rate))
        mono = resample_poly(mono, rate // g, int(source_rate) // g).astype(np.float32)
    buf = io.BytesIO()
    soundfile.write(buf, np.clip(mono, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _labels(rows: list[Recording], min_stamps: int) -> list[str]:
    """Each row's subcategory: ``<category>/<folder>``, or ``<category>/other`` when it has fewer than
    ``min_stamps`` stamps (or the stamp lies in the category folder itself)."""
    stamps = Counter(f"{r.category}/{r.folder}" for r in {r.stamp: r for r in rows}.values() if r.folder)
    return [f"{r.category}/{r.folder}" if r.folder and stamps[f"{r.category}/{r.folder}"] >= min_stamps
            else f"{r.category}/other" for r in rows]


def _build(root: Path, image_size: int, sampling_rate: int, min_stamps: int, min_language_rows: int) -> Any:
    import datasets

    try:
        import soundfile  # noqa: F401
    except ImportError as exc:
        raise DatasetError(f"dataset 'stamps' decodes its Ogg recordings with soundfile, which is not installed. "
                           f"Fix: {AUDIO_INSTALL}") from exc
    rows, _ = scan(root)
    per_language = Counter(r.language for r in rows)
    rows = [r for r in rows if per_language[r.language] >= min_language_rows]
    subcategories = _labels(rows, min_stamps)
    pictures: dict[Path, Any] = {}
    for r in rows:
        if r.png not in pictures:
            pictures[r.png] = _picture(r.png, image_size)
    names = {k: sorted({getattr(r, k) for r in rows}) for k in ("category", "language")}
    features = datasets.Features({
        "stamp": datasets.Value("string"),
        "image": datasets.Image(),
        "text": datasets.Value("string"),
        "audio": {"bytes": datasets.Value("binary"), "path": datasets.Value("string")},  # cast below
        "category": datasets.ClassLabel(names=names["category"]),
        "subcategory": datasets.ClassLabel(names=sorted(set(subcategories))),
        "language": datasets.ClassLabel(names=names["language"]),
    })
    table = datasets.Dataset.from_dict({
        "stamp": [r.stamp for r in rows],
        "image": [pictures[r.png] for r in rows],
        "text": [r.text for r in rows],
        "audio": [{"bytes": _wav(r.ogg, sampling_rate), "path": None} for r in rows],
        "category": [r.category for r in rows],
        "subcategory": subcategories,
        "language": [r.language for r in rows],
    }, features=features)
    # encoding into Audio() directly needs torchcodec; casting the bytes' storage does not
    return table.cast_column("audio", datasets.Audio(sampling_rate=sampling_rate))


def split_by_stamp(table: Any, split_seed: int, test_seed: int | None = None) -> Any:
    """``train``/``validation``/``test`` of the built table: 70/15/15 of its stamps, stratified by category; the
    test stamps fixed by ``test_seed`` (:func:`~mmbench.data.splits.stratified_split`)."""
    import datasets
    import numpy as np

    stamps = np.asarray(table["stamp"])
    categories = np.asarray(table["category"])
    unique, first, inverse = np.unique(stamps, return_index=True, return_inverse=True)
    parts = stratified_split(categories[first], split_seed, test_seed=test_seed)
    return datasets.DatasetDict({role: table.select(np.flatnonzero(np.isin(inverse, idx)))
                                 for role, idx in parts.items()})


def build_stamps(root: Path, checksum: str, options: dict[str, Any], split_seed: int, seed: int | None = None) -> Any:
    """The ``stamps`` DatasetDict: the built table from the on-disk cache (built once), split by stamp."""
    from mmbench.data.builtin import INFO

    key = {"version": VERSION, "sources": checksum, **options}
    readme = card({"name": "stamps", **INFO["stamps"]}, f"Debian tuxpaint-stamps-default ({root})", checksum, key)
    table = cached("stamps", key, partial(_build, root, **options), readme)
    return split_by_stamp(table, split_seed, test_seed=seed)


def stamps_spec(seed: int = 0, split_seed: int | None = None, image_size: int = 64, sampling_rate: int = 16000,
                seconds: float = 2.0, min_stamps: int = 5, min_language_rows: int = 50,
                source_dir: str | None = None) -> DatasetSpec:
    """The ``stamps`` dataset from Debian's Tux Paint stamps (``source_dir``: another stamps folder)."""
    from mmbench.data.builtin import INFO

    for key, value, low in (("image_size", image_size, 8), ("sampling_rate", sampling_rate, 1000),
                            ("min_stamps", min_stamps, 1), ("min_language_rows", min_language_rows, 1)):
        if not isinstance(value, int) or value < low:
            raise DatasetError(f"dataset 'stamps': option {key} must be an integer >= {low}; got {value!r}")
    if not isinstance(seconds, (int, float)) or seconds <= 0:
        raise DatasetError(f"dataset 'stamps': option seconds must be a positive number; got {seconds!r}")
    root = require_source("stamps", Path(source_dir).expanduser() if source_dir else SOURCE_DIR, INSTALL, "source_dir")
    rows, left_out = scan(root)
    if not rows:
        raise DatasetError(f"dataset 'stamps': no stamp under {root} has a PNG picture, a description and a "
                           f"recording (<name>_desc_<lang>.ogg). Fix: install the stamps with `{INSTALL}`.")
    per_language = Counter(r.language for r in rows)
    dropped = {lang: n for lang, n in per_language.items() if n < min_language_rows}
    if dropped:
        rare = f"languages with fewer than {min_language_rows} rows ({', '.join(sorted(dropped))})"
        left_out[rare] = sum(dropped.values())
    checksum = sources_sha256(source_files(root), root)
    split_seed = int(seed if split_seed is None else split_seed)
    options = {"image_size": image_size, "sampling_rate": sampling_rate, "min_stamps": min_stamps,
               "min_language_rows": min_language_rows}
    info = INFO["stamps"]
    kept = [r for r in rows if r.language not in dropped]
    return DatasetSpec(
        name="stamps",
        modalities={"image": ModalitySpec(("image",), "image"), "text": ModalitySpec(("text",), "text"),
                    "audio": ModalitySpec(("audio",), "audio")},
        tasks={t: TaskSpec(t, "classification") for t in ("category", "subcategory", "language")},
        builder=partial(build_stamps, root, checksum, options, split_seed, int(seed)),
        revision=f"sha256:{checksum}",
        metadata={
            "description": info["description"], "reference": info["reference"], "license": info["license"],
            "citation": info["citation"], "source": f"{root} (Debian tuxpaint-stamps-default; `{INSTALL}`)",
            "size": {"rows": len(kept), "stamps": len({r.stamp for r in kept}),
                     "languages": len({r.language for r in kept})},
            "left_out": dict(left_out),
            "splits": f"by stamp: 70/15/15 of the stamps stratified by category (test stamps by seed={seed}, "
                      f"train/validation by split_seed={split_seed}); "
                      "every language of a stamp lies in the same split",
            "ground_truth": {
                "category": "image (the picture); text and audio name the object, in the row's language",
                "subcategory": "image; text and audio as for category",
                "language": "text (its words and script) and audio (its sounds, and its speaker: each language's "
                            "recordings come from few voices); never the image",
            },
            "decode": {"audio": {"sampling_rate": sampling_rate, "length": int(round(seconds * sampling_rate))}},
            "options": {"seed": int(seed), "split_seed": split_seed, "seconds": seconds, **options,
                        "source_dir": str(root)},
        },
    )
