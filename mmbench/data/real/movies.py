"""``movies``: 17,472 films from bokeh-sampledata's ``movies.db`` (PyPI ``bokeh-sampledata``; film data from
Wikidata, CC0): SQLite tables ``omdb`` and ``tomatoes`` joined on ``ID``.

- text: ``title``, ``director``, ``writer``, ``cast`` (joined with newlines when decoded). Missing ones are
  null (the database writes empty strings for missing director, cast and genre): the spec imputes the
  empty string (``missing_features: impute``).
- tabular: ``year``, ``runtime`` (minutes; 7% missing: the training mean plus a missing indicator) and
  ``reviews``, the number of critics' reviews behind the Tomatometer. IMDb votes, which the issue asked
  for, are NULL for every film in this snapshot; the review count is the popularity signal it has.
- tasks: ``genre`` (multilabel, 21 genres; 2.5% unlabelled), ``tomatometer`` (regression, the share of
  positive reviews 0..100; 0.1% unlabelled) and ``mpaa`` (classification: the US content rating G, PG,
  PG-13, R or NC-17; labelled for 15% of films). All three use ``missing_labels: mask``.
- splits: 70/15/15, stratified by the ``mpaa`` label (unlabelled counted as its own stratum, so every split
  keeps the same labelled share), drawn with ``split_seed``.

Why ``mpaa``: a film's rating follows from what it shows, which its genre, cast and era predict in part
(horror is mostly R, animation G or PG; PG-13 exists only since 1984); it is a real, partly labelled
classification task of another kind than the genre, and exercises ``mask`` where most labels are missing.
Historic ratings are mapped to their successors: GP, M and M/PG to PG; X to NC-17 (its 1990 replacement).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from mmbench.data.errors import DatasetError
from mmbench.data.real.cache import cached, card, require_source, sources_sha256
from mmbench.data.spec import DatasetSpec, ModalitySpec, TaskSpec
from mmbench.data.splits import split_sizes, stratified_split

INSTALL = 'pip install "mmbench[real-data]"'
GENRES = ("Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary", "Drama", "Family",
          "Fantasy", "History", "Horror", "Music", "Musical", "Mystery", "Romance", "Sci-Fi", "Sport", "Thriller",
          "War", "Western")
RATINGS = ("G", "PG", "PG-13", "R", "NC-17")
#: historic MPAA ratings -> the rating that replaced them
RATING_SUCCESSORS = {"GP": "PG", "M": "PG", "M/PG": "PG", "X": "NC-17"}
TEXT = ("title", "director", "writer", "cast")
TABULAR = ("year", "runtime", "reviews")
#: bump when the construction changes: cached builds of the old one are then not reused
VERSION = 1

_QUERY = """SELECT o.Title, o.Director, o.Writer, o."Cast", o.Year, o.Runtime, t.Reviews, o.Genre, t.Meter, o.Rating
            FROM omdb AS o JOIN tomatoes AS t ON o.ID = t.ID ORDER BY o.ID"""


def default_source() -> Path:
    """``movies.db`` of the installed bokeh-sampledata package; a :class:`DatasetError` with the install command
    when it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("bokeh_sampledata")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(f"dataset 'movies' is built from bokeh-sampledata's movies.db, and bokeh-sampledata is "
                           f"not installed. Fix: {INSTALL}  (or point the dataset option `source` at a movies.db).")
    return Path(next(iter(spec.submodule_search_locations))) / "_data" / "movies.db"


def _query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute(sql).fetchall()
    except sqlite3.DatabaseError as exc:
        raise DatasetError(f"dataset 'movies': {path} is not bokeh-sampledata's movies.db ({exc}). "
                           f"Fix: reinstall it with {INSTALL}.") from exc


def _count(path: Path) -> int:
    return int(_query(path, "SELECT COUNT(*) FROM omdb AS o JOIN tomatoes AS t ON o.ID = t.ID")[0][0])


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _build(path: Path) -> Any:
    import datasets

    rows = _query(path, _QUERY)
    data: dict[str, list[Any]] = {k: [] for k in (*TEXT, *TABULAR, "genre", "tomatometer", "mpaa")}
    for title, director, writer, cast, year, runtime, reviews, genre, meter, rating in rows:
        for key, value in zip(TEXT, (title, director, writer, cast)):
            data[key].append(_text(value))
        data["year"].append(year)
        data["runtime"].append(runtime)
        data["reviews"].append(reviews)
        genres = [g.strip() for g in (genre or "").split(",") if g.strip()]
        data["genre"].append([GENRES.index(g) for g in genres] if genres else None)
        data["tomatometer"].append(None if meter is None else float(meter))
        rating = RATING_SUCCESSORS.get(rating, rating)
        data["mpaa"].append(RATINGS.index(rating) if rating in RATINGS else None)
    features = datasets.Features({
        **{k: datasets.Value("string") for k in TEXT},
        "year": datasets.Value("int32"), "runtime": datasets.Value("float32"), "reviews": datasets.Value("int32"),
        "genre": datasets.Sequence(datasets.ClassLabel(names=list(GENRES))),
        "tomatometer": datasets.Value("float32"),
        "mpaa": datasets.ClassLabel(names=list(RATINGS)),
    })
    return datasets.Dataset.from_dict(data, features=features)


def split_movies(table: Any, split_seed: int, test_seed: int | None = None) -> Any:
    """``train``/``validation``/``test``: 70/15/15 stratified by ``mpaa`` (unlabelled as its own stratum); the test
    split fixed by ``test_seed`` (:func:`~mmbench.data.splits.stratified_split`)."""
    import datasets
    import numpy as np

    strata = np.asarray([len(RATINGS) if r is None else r for r in table["mpaa"]])
    return datasets.DatasetDict({role: table.select(idx) for role, idx in stratified_split(strata, split_seed, test_seed=test_seed).items()})


def build_movies(path: Path, checksum: str, split_seed: int, seed: int | None = None) -> Any:
    """The ``movies`` DatasetDict: the table from the on-disk cache (built once), split by ``split_seed``."""
    from mmbench.data.builtin import INFO

    key = {"version": VERSION, "sources": checksum}
    readme = card({"name": "movies", **INFO["movies"]}, f"bokeh-sampledata's movies.db ({path})", checksum, key)
    return split_movies(cached("movies", key, partial(_build, path), readme), split_seed, test_seed=seed)


def movies_spec(seed: int = 0, split_seed: int | None = None, source: str | None = None,
                missing_labels: str = "mask", missing_features: str = "impute") -> DatasetSpec:
    """The ``movies`` dataset from bokeh-sampledata's movies.db (``source``: another copy of that file)."""
    from mmbench.data.builtin import INFO

    path = require_source("movies", Path(source).expanduser(), INSTALL, "source") if source else default_source()
    if not path.is_file():
        raise DatasetError(f"dataset 'movies': {path} is missing from the bokeh-sampledata package. Fix: reinstall "
                           f"it: {INSTALL}")
    checksum = sources_sha256([path], path.parent)
    split_seed = int(seed if split_seed is None else split_seed)
    info = INFO["movies"]
    total = _count(path)
    n_train, n_val, n_test = split_sizes(total)
    return DatasetSpec(
        name="movies",
        modalities={"text": ModalitySpec(TEXT, "text"), "tabular": ModalitySpec(TABULAR, "tabular")},
        tasks={"genre": TaskSpec("genre", "multilabel"), "tomatometer": TaskSpec("tomatometer", "regression"),
               "mpaa": TaskSpec("mpaa", "classification")},
        builder=partial(build_movies, path, checksum, split_seed, int(seed)),
        revision=f"sha256:{checksum}",
        missing_labels=missing_labels,
        missing_features=missing_features,
        metadata={
            "description": info["description"], "reference": info["reference"], "license": info["license"],
            "citation": info["citation"], "source": f"{path} (PyPI bokeh-sampledata; `{INSTALL}`)",
            "size": {"total": total, "train": n_train, "validation": n_val, "test": n_test},
            "splits": f"70/15/15 stratified by mpaa rating, unlabelled as its own stratum (test split by seed={seed}, "
                      f"train/validation by split_seed={split_seed})",
            "ground_truth": {
                "genre": "text (title words, director, cast) and tabular (runtime, year) in part; no modality fully",
                "tomatometer": "text and tabular in part (critics' reception is not in the inputs)",
                "mpaa": "text and tabular in part (genre-related words and cast; PG-13 only from 1984 on)",
            },
            "options": {"seed": int(seed), "split_seed": split_seed, "source": str(path),
                        "missing_labels": missing_labels, "missing_features": missing_features},
        },
    )
