"""UCI tabular datasets: ``adult``, ``breast-cancer`` (Ljubljana) and ``monk1..3``.

Files are the UCI originals under ``<root>/uci/``. Categorical values become integer codes 0..k-1
in the fixed vocabulary order below (the order of the UCI ``.names`` files), a missing value ``?``
its own, last, category; ordinal ranges (``30-39``) become ordinal codes 0..k-1 and count as
numeric; continuous values stay integers. An unexpected value names the file and line; a file
that parses is then checked against its published checksum (``verify``).

Splits: Adult and MONK use the official train/test files (32,561 / 16,281; MONK 124, 169, 122
train, 432 test each). Breast cancer has none: a fixed stratified split (seed 0) keeps 57 of the
286 rows (20%) for test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lgn_hw.datasets import Dataset, DatasetError, stratified_split
from lgn_hw.datasets import verify
from lgn_hw.datasets.download import find_file, read_maybe_gzip

__all__ = ["ADULT_FEATURES", "BREAST_CANCER_FEATURES", "load_adult", "load_breast_cancer", "load_monk"]

# (name, vocabulary or None for a continuous integer feature)
ADULT_FEATURES: list[tuple[str, list[str] | None]] = [
    ("age", None),
    ("workclass", ["Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov",
                   "State-gov", "Without-pay", "Never-worked", "?"]),
    ("fnlwgt", None),
    ("education", ["Bachelors", "Some-college", "11th", "HS-grad", "Prof-school", "Assoc-acdm",
                   "Assoc-voc", "9th", "7th-8th", "12th", "Masters", "1st-4th", "10th", "Doctorate",
                   "5th-6th", "Preschool"]),
    ("education-num", None),
    ("marital-status", ["Married-civ-spouse", "Divorced", "Never-married", "Separated", "Widowed",
                        "Married-spouse-absent", "Married-AF-spouse"]),
    ("occupation", ["Tech-support", "Craft-repair", "Other-service", "Sales", "Exec-managerial",
                    "Prof-specialty", "Handlers-cleaners", "Machine-op-inspct", "Adm-clerical",
                    "Farming-fishing", "Transport-moving", "Priv-house-serv", "Protective-serv",
                    "Armed-Forces", "?"]),
    ("relationship", ["Wife", "Own-child", "Husband", "Not-in-family", "Other-relative", "Unmarried"]),
    ("race", ["White", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other", "Black"]),
    ("sex", ["Female", "Male"]),
    ("capital-gain", None),
    ("capital-loss", None),
    ("hours-per-week", None),
    ("native-country", ["United-States", "Cambodia", "England", "Puerto-Rico", "Canada", "Germany",
                        "Outlying-US(Guam-USVI-etc)", "India", "Japan", "Greece", "South", "China",
                        "Cuba", "Iran", "Honduras", "Philippines", "Italy", "Poland", "Jamaica",
                        "Vietnam", "Mexico", "Portugal", "Ireland", "France", "Dominican-Republic",
                        "Laos", "Ecuador", "Taiwan", "Haiti", "Columbia", "Hungary", "Guatemala",
                        "Nicaragua", "Scotland", "Thailand", "Yugoslavia", "El-Salvador",
                        "Trinadad&Tobago", "Peru", "Hong", "Holand-Netherlands", "?"]),
]
ADULT_CLASSES = ["<=50K", ">50K"]


def _ranges(lo: int, hi: int, step: int, last_hi: int | None = None) -> list[str]:
    out = [f"{a}-{a + step - 1}" for a in range(lo, hi, step)]
    if last_hi is not None:
        a = int(out[-1].split("-")[0])
        out[-1] = f"{a}-{last_hi}"
    return out


# (name, vocabulary, kind): ordinal vocabularies are "numeric" (their code order means something)
BREAST_CANCER_FEATURES: list[tuple[str, list[str], str]] = [
    ("age", _ranges(10, 100, 10), "numeric"),
    ("menopause", ["lt40", "ge40", "premeno"], "categorical"),
    ("tumor-size", _ranges(0, 60, 5), "numeric"),
    ("inv-nodes", _ranges(0, 39, 3, last_hi=39), "numeric"),
    ("node-caps", ["no", "yes", "?"], "categorical"),
    ("deg-malig", ["1", "2", "3"], "numeric"),
    ("breast", ["left", "right"], "categorical"),
    ("breast-quad", ["left_up", "left_low", "right_up", "right_low", "central", "?"], "categorical"),
    ("irradiat", ["no", "yes"], "categorical"),
]
BREAST_CANCER_CLASSES = ["no-recurrence-events", "recurrence-events"]
BREAST_CANCER_N_TEST = 57
BREAST_CANCER_SEED = 0

MONK_VALUES = [3, 3, 2, 3, 4, 2]  # a1..a6 take values 1..k in the files


def _rows(path: Path, n_fields: int, sep: str | None) -> tuple[list[tuple[int, list[str]]], bytes]:
    """Non-empty, non-comment lines split into exactly ``n_fields`` stripped fields, with line
    numbers, and the file's content (for ``verify.check`` once the values parsed)."""
    content = read_maybe_gzip(path)
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not an ASCII text file ({exc.reason} at byte {exc.start})") from None
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("|"):
            continue
        fields = [f.strip() for f in line.split(sep)]
        if len(fields) != n_fields:
            raise DatasetError(f"{path}:{lineno}: expected {n_fields} fields, found {len(fields)}")
        rows.append((lineno, fields))
    if not rows:
        raise DatasetError(f"{path}: no data rows")
    return rows, content


def _code(value: str, vocab: list[str], path: Path, lineno: int, feature: str) -> int:
    try:
        return vocab.index(value)
    except ValueError:
        raise DatasetError(f"{path}:{lineno}: unexpected {feature} value {value!r}") from None


def _int(value: str, path: Path, lineno: int, feature: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DatasetError(f"{path}:{lineno}: {feature} value {value!r} is not an integer") from None


def _read_adult(root: Path, rel: str, download: bool, strip_dot: bool) -> tuple[np.ndarray, np.ndarray]:
    path = find_file(root, "adult", rel, (), download)
    rows, content = _rows(path, len(ADULT_FEATURES) + 1, ",")
    x = np.empty((len(rows), len(ADULT_FEATURES)), dtype=np.int64)
    y = np.empty(len(rows), dtype=np.int64)
    for i, (lineno, fields) in enumerate(rows):
        for f, (name, vocab) in enumerate(ADULT_FEATURES):
            x[i, f] = (_int(fields[f], path, lineno, name) if vocab is None
                       else _code(fields[f], vocab, path, lineno, name))
        label = fields[-1][:-1] if strip_dot and fields[-1].endswith(".") else fields[-1]
        y[i] = _code(label, ADULT_CLASSES, path, lineno, "class")
    verify.check(path, rel, content)
    return x, y


def load_adult(root: Path, download: bool = False) -> Dataset:
    """UCI Adult (census income), official split. Continuous ranges are the min..max over both files."""
    x_tr, y_tr = _read_adult(root, "uci/adult.data", download, strip_dot=False)
    x_te, y_te = _read_adult(root, "uci/adult.test", download, strip_dot=True)
    both = np.concatenate([x_tr, x_te])
    ranges = [(int(both[:, f].min()), int(both[:, f].max())) if vocab is None else (0, len(vocab) - 1)
              for f, (_, vocab) in enumerate(ADULT_FEATURES)]
    return Dataset(
        name="adult", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te, n_classes=2,
        feature_names=[n for n, _ in ADULT_FEATURES],
        feature_kinds=["numeric" if v is None else "categorical" for _, v in ADULT_FEATURES],
        feature_ranges=ranges, class_names=list(ADULT_CLASSES),
        feature_values=[None if v is None else list(v) for _, v in ADULT_FEATURES],
        split="official adult.data / adult.test",
    )


def load_breast_cancer(root: Path, download: bool = False) -> Dataset:
    """UCI Breast Cancer (Ljubljana), 286 rows, class in the first column; fixed stratified split."""
    path = find_file(root, "breast-cancer", "uci/breast-cancer.data", (), download)
    rows, content = _rows(path, len(BREAST_CANCER_FEATURES) + 1, ",")
    x = np.empty((len(rows), len(BREAST_CANCER_FEATURES)), dtype=np.int64)
    y = np.empty(len(rows), dtype=np.int64)
    for i, (lineno, fields) in enumerate(rows):
        y[i] = _code(fields[0], BREAST_CANCER_CLASSES, path, lineno, "class")
        for f, (name, vocab, _) in enumerate(BREAST_CANCER_FEATURES):
            x[i, f] = _code(fields[f + 1], vocab, path, lineno, name)
    verify.check(path, "uci/breast-cancer.data", content)
    train, test = stratified_split(y, BREAST_CANCER_N_TEST, BREAST_CANCER_SEED)
    return Dataset(
        name="breast-cancer", x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
        n_classes=2,
        feature_names=[n for n, _, _ in BREAST_CANCER_FEATURES],
        feature_kinds=[k for _, _, k in BREAST_CANCER_FEATURES],
        feature_ranges=[(0, len(v) - 1) for _, v, _ in BREAST_CANCER_FEATURES],
        class_names=list(BREAST_CANCER_CLASSES),
        feature_values=[list(v) for _, v, _ in BREAST_CANCER_FEATURES],
        split=f"fixed stratified split, seed {BREAST_CANCER_SEED}: {len(train)} train / {len(test)} test",
    )


def _read_monk(root: Path, problem: int, part: str, download: bool) -> tuple[np.ndarray, np.ndarray]:
    rel = f"uci/monks-{problem}.{part}"
    path = find_file(root, f"monk{problem}", rel, (), download)
    rows, content = _rows(path, 8, None)  # class, a1..a6, id
    x = np.empty((len(rows), 6), dtype=np.int64)
    y = np.empty(len(rows), dtype=np.int64)
    for i, (lineno, fields) in enumerate(rows):
        y[i] = _code(fields[0], ["0", "1"], path, lineno, "class")
        for f, k in enumerate(MONK_VALUES):
            x[i, f] = _code(fields[f + 1], [str(v) for v in range(1, k + 1)], path, lineno, f"a{f + 1}")
    verify.check(path, rel, content)
    return x, y


def load_monk(problem: int, root: Path, download: bool = False) -> Dataset:
    """MONK's problem 1, 2 or 3, official split; attribute values 1..k become codes 0..k-1."""
    name = f"monk{problem}"
    x_tr, y_tr = _read_monk(root, problem, "train", download)
    x_te, y_te = _read_monk(root, problem, "test", download)
    return Dataset(
        name=name, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te, n_classes=2,
        feature_names=[f"a{i}" for i in range(1, 7)], feature_kinds=["categorical"] * 6,
        feature_ranges=[(0, k - 1) for k in MONK_VALUES], class_names=["0", "1"],
        feature_values=[[str(v) for v in range(1, k + 1)] for k in MONK_VALUES],
        split=f"official monks-{problem}.train / monks-{problem}.test",
    )
