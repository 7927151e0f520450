"""Tests for lgn_hw.columns: the column-inference rules (property tests over generated tables),
overrides, applying a schema to a table with its columns in any order or without the label,
rebuilding the schema from a netlist, and the one-line errors naming file, row and column."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgn_hw.columns import (MAX_CATEGORIES, MAX_INT_CATEGORIES, ColumnError, Schema, Table,
                            infer_schema, number_text)
from lgn_hw.encoding import Encoding, bits_feature, onehot_feature, thermometer_feature
from lgn_hw.netlist import Netlist, random_netlist


def table(cols: dict, path="t.csv") -> Table:
    names = list(cols)
    n = len(next(iter(cols.values())))
    return Table(path, names, [np.array(cols[k], dtype=str) for k in names],
                 np.arange(2, n + 2, dtype=np.int64), "line")


@st.composite
def column(draw, n):
    """(cells, the kind the rules must infer, the expected sorted categories or None)."""
    kind = draw(st.sampled_from(["reals", "few-ints", "many-ints", "two-numbers", "text", "two-text"]))
    if kind == "reals":
        vals = draw(st.lists(st.integers(-10 ** 6, 10 ** 6), min_size=n, max_size=n, unique=True))
        cells = [repr(v / 997) for v in vals]
        return cells, "real", None
    if kind == "many-ints":
        vals = draw(st.lists(st.integers(-500, 500), min_size=n, max_size=n, unique=True))
        return [str(v) for v in vals], "real", None
    if kind in ("few-ints", "two-numbers"):
        k = 2 if kind == "two-numbers" else draw(st.integers(3, MAX_INT_CATEGORIES))
        pool = draw(st.lists(st.integers(-30, 30), min_size=k, max_size=k, unique=True))
        if kind == "two-numbers" and draw(st.booleans()):
            pool = [p + 0.5 for p in pool]  # two-valued reals are one bit too
        cells = [number_text(pool[i % k]) for i in range(n)]
        cells = draw(st.permutations(cells))
        return list(cells), "categorical", [number_text(v) for v in sorted(pool)]
    k = 2 if kind == "two-text" else draw(st.integers(1, 12))
    pool = draw(st.lists(st.text("abcxyz-_ ", min_size=1, max_size=6).map(str.strip).filter(bool)
                         .filter(lambda s: s.lower() != "nan"), min_size=k, max_size=k, unique=True))
    pool = [p if not _is_number(p) else p + "!" for p in pool]
    cells = list(draw(st.permutations([pool[i % k] for i in range(n)])))
    return cells, "categorical", sorted(set(cells))


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


@st.composite
def tables(draw):
    n = draw(st.integers(12, 30))
    specs = draw(st.lists(column(n), min_size=1, max_size=5))
    labels = draw(st.lists(st.sampled_from(["yes", "no", "maybe"]), min_size=n, max_size=n)
                  .filter(lambda ls: len(set(ls)) >= 2))
    cols = {f"c{i}": cells for i, (cells, _, _) in enumerate(specs)}
    cols["label"] = labels
    return table(cols), specs


@settings(max_examples=150, deadline=None)
@given(tables())
def test_inferred_kinds_and_categories_follow_the_rules(tc):
    t, specs = tc
    schema = infer_schema(t)
    assert schema.label == "label" and schema.class_names == sorted(set(t.column("label").tolist()))
    assert [c.name for c in schema.features] == [f"c{i}" for i in range(len(specs))]
    for col, (_, kind, cats) in zip(schema.features, specs):
        assert col.kind == kind, (col, kind)
        assert col.categories == cats


@settings(max_examples=100, deadline=None)
@given(tables(), st.randoms(use_true_random=False))
def test_apply_is_exact_and_ignores_column_order(tc, rnd):
    t, specs = tc
    schema = infer_schema(t)
    x, y, rows = schema.apply(t)
    assert np.array_equal(rows, t.rows)
    assert [schema.class_names[c] for c in y] == t.column("label").tolist()
    for f, col in enumerate(schema.features):
        cells = t.column(col.name).tolist()
        if col.kind == "real":
            assert x[:, f].tolist() == [float(c) for c in cells]
        else:
            assert [col.categories[int(c)] for c in x[:, f]] == [
                number_text(float(c)) if _is_number(c) else c for c in cells]
    order = list(range(len(t.names)))
    rnd.shuffle(order)
    shuffled = Table(t.path, [t.names[i] for i in order], [t.columns[i] for i in order], t.rows)
    x2, y2, _ = schema.apply(shuffled)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    no_label = Table(t.path, t.names[:-1], t.columns[:-1], t.rows)
    x3, y3, _ = schema.apply(no_label)
    assert np.array_equal(x, x3) and y3 is None


def test_numbers_are_matched_by_value_and_sorted_by_value():
    t = table({"n": ["10", "2", "2.0", "10", "1", "02"], "y": ["a", "b", "a", "b", "a", "b"]})
    s = infer_schema(t)
    assert s.features[0].categories == ["1", "2", "10"]  # by value, not "1" < "10" < "2"
    x, _, _ = s.apply(t)
    assert x[:, 0].tolist() == [2, 1, 1, 2, 0, 1]
    assert infer_schema(table({"n": ["3", "1", "2"] * 2, "y": ["5", "10", "9"] * 2})).class_names == ["5", "9", "10"]


def test_overrides_and_ignore():
    t = table({"id": [f"u{i}" for i in range(300)], "r": [str(i / 3) for i in range(300)],
               "k": [str(i % 4) for i in range(300)], "y": ["a", "b"] * 150})
    with pytest.raises(ColumnError, match=r"^t.csv: column 'id' has 300 distinct non-numeric values "
                                          r"\(an identifier\?\): --ignore id"):
        infer_schema(t)
    s = infer_schema(t, ignore=["id"], categorical=["r"], numeric=["k"])
    assert [(c.name, c.kind) for c in s.features] == [("r", "categorical"), ("k", "real")]
    assert s.ignored == ["id"] and len(s.features[0].categories) == 300 > MAX_CATEGORIES
    with pytest.raises(ColumnError, match=r"^t.csv: line 2, column 'id': 'u0' is not a finite number \(--numeric id\)"):
        infer_schema(t, numeric=["id"])
    with pytest.raises(ColumnError, match=r"column 'k' is given to both --categorical and --ignore"):
        infer_schema(t, categorical=["k"], ignore=["k", "id"])
    with pytest.raises(ColumnError, match=r"^t.csv: --label income: no such column \(columns: id, r, k, y\)"):
        infer_schema(t, label="income")
    with pytest.raises(ColumnError, match=r"^t.csv: no feature columns"):
        infer_schema(table({"y": ["a", "b"]}))


def test_mostly_numeric_column_says_which_values_are_not():
    cells = [str(i) for i in range(299)] + ["?"]
    with pytest.raises(ColumnError, match=r"^t.csv: line 301, column 'v': a numeric column except for the "
                                          r"values '\?': leave missing cells empty, or pass --categorical v"):
        infer_schema(table({"v": cells, "y": ["a", "b"] * 150}))
    # a small table: one typo in a column of 39 distinct reals is not 40 categories
    cells = [repr(i / 7) for i in range(39)] + ["1,5"]
    with pytest.raises(ColumnError, match=r"^t.csv: line 41, column 'v': a numeric column except for the "
                                          r"values '1,5': leave missing cells empty, or pass --categorical v"):
        infer_schema(table({"v": cells, "y": ["a", "b"] * 20}))
    assert infer_schema(table({"v": cells, "y": ["a", "b"] * 20}), categorical=["v"]).features[0].kind == \
        "categorical"
    # few integers and some text stay categorical (the numbers alone would be categorical too)
    cells = [str(i % 4) for i in range(36)] + ["other"] * 4
    s = infer_schema(table({"v": cells, "y": ["a", "b"] * 20}))
    assert s.features[0].kind == "categorical" and s.features[0].categories == ["0", "1", "2", "3", "other"]


def test_missing_cells_are_an_error_or_drop_their_rows():
    t = table({"a": ["1.5", "", "2.5", "3.5", "nan", "4.5"], "y": ["p", "q", "p", "q", "p", "q"]})
    with pytest.raises(ColumnError, match=r"^t.csv: line 3, column 'a': missing value \(empty or NaN; "
                                          r"--missing drop skips such rows\)$"):
        infer_schema(t)
    s = infer_schema(t, missing="drop")
    x, y, rows = s.apply(t)
    assert rows.tolist() == [2, 4, 5, 7] and x[:, 0].tolist() == [1.5, 2.5, 3.5, 4.5]
    with pytest.raises(ColumnError, match="--missing must be one of error, drop"):
        infer_schema(t, missing="zero")


def test_a_label_column_of_mostly_single_rows_is_not_classes():
    """A file without its label column: the default label (the last column) is a feature, most of
    whose values occur once; refused naming the column and a row instead of training on them."""
    t = table({"a": [str(i % 3) for i in range(20)], "b": [repr(i / 3) for i in range(19)] + ["0.0"]})
    with pytest.raises(ColumnError, match=r"^t.csv: line 3, column 'b': 18 of the 19 classes of the label "
                                          r"column have a single row \(as '0.3333333333333333' here\): not a "
                                          r"column of classes; pass --label NAME \(the default is the last "
                                          r"column\)$"):
        infer_schema(t)
    assert infer_schema(t, label="a").class_names == ["0", "1", "2"]
    # rare classes are fine: few classes, or at most half of them with a single row
    t = table({"a": [str(i) for i in range(20)], "y": ["p"] * 18 + ["r", "s"]})
    assert infer_schema(t).class_names == ["p", "r", "s"]
    t = table({"a": [str(i) for i in range(20)], "y": [f"c{i}" for i in range(6)] * 2 + [f"d{i}" for i in range(8)]})
    with pytest.raises(ColumnError, match=r"^t.csv: line 14, column 'y': 8 of the 14 classes"):
        infer_schema(t)
    t = table({"a": [str(i) for i in range(20)], "y": [f"c{i}" for i in range(7)] * 2 + [f"d{i}" for i in range(6)]})
    assert len(infer_schema(t).class_names) == 13


def test_single_class_and_unseen_values_at_inference():
    with pytest.raises(ColumnError, match=r"^t.csv: the label column 'y' has a single class \('a'\)"):
        infer_schema(table({"x": ["1", "2", "3"], "y": ["a", "a", "a"]}))
    train = table({"c": ["red", "blue", "red", "green"], "r": ["1.5", "2", "3", "4"], "y": ["p", "q", "p", "q"]})
    s = infer_schema(train)
    bad = table({"c": ["red", "pink"], "r": ["1", "2"], "y": ["p", "q"]}, "new.csv")
    with pytest.raises(ColumnError, match=r"^new.csv: line 3, column 'c': category 'pink' never seen in "
                                          r"training \(known: blue, green, red\)$"):
        s.apply(bad)
    bad = table({"c": ["red", "blue"], "r": ["1", "x"], "y": ["p", "q"]}, "new.csv")
    with pytest.raises(ColumnError, match=r"^new.csv: line 3, column 'r': 'x' is not a finite number "
                                          r"\(the column is numeric\)$"):
        s.apply(bad)
    bad = table({"c": ["red", "blue"], "r": ["1", "2"], "y": ["p", "r"]}, "new.csv")
    with pytest.raises(ColumnError, match=r"^new.csv: line 3, column 'y': class 'r' never seen in training"):
        s.apply(bad)
    with pytest.raises(ColumnError, match=r"^new.csv: unknown column 'extra' \(not a feature, the label or"):
        s.apply(table({"c": ["red"], "r": ["1"], "extra": ["0"]}, "new.csv"))
    with pytest.raises(ColumnError, match=r"^new.csv: no column 'r' \(a feature of the training data\)"):
        s.apply(table({"c": ["red"], "y": ["p"]}, "new.csv"))
    with pytest.raises(ColumnError, match=r"^new.csv: no label column 'y'"):
        s.apply(table({"c": ["red"], "r": ["1"]}, "new.csv"), need_label=True)


def test_schema_round_trips_through_a_netlist():
    enc = Encoding([thermometer_feature("r", [3, 9], (0, 20), frac_bits=2),
                    onehot_feature("c", [0, 1, 2], (0, 2), ["blue", "green", "red"])])
    base = random_netlist(1, enc.n_bits, [4], 2, 2)
    meta = {"dataset": {"name": "t.csv", "label": "y", "class_names": ["p", "q"], "ignored": ["id"],
                        "missing": "drop"}}
    net = Netlist.from_dict({**base.to_dict(), "encoding": enc.to_dict(), "meta": meta})
    s = Schema.from_netlist(net)
    assert [(c.name, c.kind, c.categories) for c in s.features] == [
        ("r", "real", None), ("c", "categorical", ["blue", "green", "red"])]
    assert (s.label, s.class_names, s.ignored, s.missing) == ("y", ["p", "q"], ["id"], "drop")
    with pytest.raises(ColumnError, match="was not trained on a table"):
        Schema.from_netlist(Netlist.from_dict({**net.to_dict(), "meta": {"dataset": "digits"}}))
    plain = Netlist.from_dict({**net.to_dict(), "encoding": Encoding([thermometer_feature("r", [3, 9], (0, 20)),
                               onehot_feature("c", [0, 1, 2], (0, 2))]).to_dict()})
    with pytest.raises(ColumnError, match="feature 'r' of this netlist has no column handling"):
        Schema.from_netlist(plain)
    # bit planes of a real column (--encoding bits on a table) read it as a real column too
    planes = Encoding([bits_feature("r", [4, 3], (0, 20), frac_bits=2), enc.features[1]])
    net = Netlist.from_dict({**net.to_dict(), "encoding": planes.to_dict()})
    assert [(c.name, c.kind) for c in Schema.from_netlist(net).features] == [("r", "real"), ("c", "categorical")]
    planes.features[0].frac_bits = None
    with pytest.raises(ColumnError, match="feature 'r' of this netlist has no column handling"):
        Schema.from_netlist(Netlist.from_dict({**net.to_dict(), "encoding": planes.to_dict()}))
