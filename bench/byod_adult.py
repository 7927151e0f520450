"""UCI Adult through the generic CSV path (``--dataset FILE.csv``) against the ``adult`` loader.

Writes the two UCI files as a user would feed them (``write_adult_csvs``: a header line; the test
file without its ``|1x3 Cross validator`` line and without the ``.`` that ends its labels), checks
that both paths encode every test row into the same decisions (thresholds equal, one-hot bits equal
once categories are matched by name), then for each seed trains the ``adult`` preset on the
built-in dataset and on the CSV files and prints a Markdown table of discretized test accuracies
(each seed, and the mean). ``--sim`` then runs ``lgn-hw sim --raw-inputs`` (Verilator) on the CSV
netlist of the first seed over every raw row of the test file.

    LGN_HW_DATA=../shared/datasets python bench/byod_adult.py --seeds 0 1 2 --out /tmp/byod-adult --sim
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The column names of adult.names, in file order, and the label.
ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
                 "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
                 "hours-per-week", "native-country", "income"]


def write_adult_csvs(uci: Path, out: Path) -> tuple[Path, Path]:
    """``out/adult-train.csv`` and ``out/adult-test.csv`` from ``uci/adult.data`` / ``adult.test``."""
    out.mkdir(parents=True, exist_ok=True)
    header = ",".join(ADULT_COLUMNS) + "\n"
    train, test = out / "adult-train.csv", out / "adult-test.csv"
    train.write_text(header + (uci / "adult.data").read_text())
    lines = [ln for ln in (uci / "adult.test").read_text().splitlines() if not ln.startswith("|")]
    test.write_text(header + "".join((ln[:-1] if ln.endswith(".") else ln) + "\n" for ln in lines))
    return train, test


def same_decisions(train_csv: Path, test_csv: Path, root: Path) -> str:
    """Check that the CSV path and the adult loader encode the test rows identically."""
    import numpy as np

    from lgn_hw.datasets import load
    from lgn_hw.datasets.tabular import load_tabular
    from lgn_hw.encoding import for_dataset

    a = load("adult", root)
    c = load_tabular(train_csv, test=test_csv)
    ea, ec = for_dataset(a, 8, "quantile"), for_dataset(c, 8, "quantile")
    perm = []
    for f, (fa, fc) in enumerate(zip(ea.features, ec.features)):
        assert (fa.name, fa.kind, fa.n_bits) == (fc.name, fc.kind, fc.n_bits), (fa, fc)
        s = ec.feature_bits(f)
        if fa.kind == "thermometer":
            assert np.array_equal(fa.thresholds, fc.thresholds), fa.name
            perm += list(range(s.start, s.stop))
        else:  # bit j of the adult code <-> the CSV bit of the category with the same name
            assert sorted(fa.categories) == fc.categories, fa.name
            perm += [s.start] if fa.kind == "binary" else [s.start + fc.categories.index(n) for n in fa.categories]
            assert fa.kind != "binary" or fa.categories == fc.categories
    assert np.array_equal(ec.encode(c.x_test)[:, perm], ea.encode(a.x_test))
    return f"identical decisions on all {len(c.y_test)} test rows ({ea.n_bits} bits)"


def train(seed: int, out: Path, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "train", "--preset", "adult", "--seed", str(seed), "--threads", "1",
           "--quiet", "--out", str(out), *extra]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "metrics.json").read_text())["final"]["test_acc_discrete"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("lgn-out/byod-adult"))
    ap.add_argument("--sim", action="store_true", help="Verilator on the raw test file (first seed)")
    args = ap.parse_args()
    root = Path(os.environ.get("LGN_HW_DATA", "../shared/datasets"))
    train_csv, test_csv = write_adult_csvs(root / "uci", args.out)
    print(same_decisions(train_csv, test_csv, root), flush=True)
    rows = {"built-in `adult`": [], "CSV files": []}
    for s in args.seeds:
        rows["built-in `adult`"].append(train(s, args.out / f"builtin-{s}", ["--data-root", str(root)]))
        rows["CSV files"].append(train(s, args.out / f"csv-{s}",
                                       ["--dataset", str(train_csv), "--test", str(test_csv)]))
        print(f"seed {s}: built-in {rows['built-in `adult`'][-1]:.4f}, CSV {rows['CSV files'][-1]:.4f}",
              flush=True)
    print("\n| path | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean |")
    print("| --- |" + " ---: |" * (len(args.seeds) + 1))
    for name, accs in rows.items():
        print(f"| {name} | " + " | ".join(f"{100 * a:.2f}%" for a in accs)
              + f" | **{100 * sum(accs) / len(accs):.2f}%** |")
    if args.sim:
        net = args.out / f"csv-{args.seeds[0]}" / "netlist.json"
        subprocess.run(["lgn-hw", "sim", str(net), "--dataset", str(test_csv), "--raw-inputs",
                        "--simulator", "verilator"], check=True)


if __name__ == "__main__":
    main()
