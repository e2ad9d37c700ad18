"""Write scikit-learn's digits data set (bundled with scikit-learn, no download) as a CSV.

    python3 scripts/make_digits_csv.py data/digits/digits.csv

One row per image: the 64 pixels of the 8x8 image in row-major order (integers 0..16),
then the label (0..9); header `p0,...,p63,label`. The rows keep `load_digits()` order.
Source: the UCI "Optical Recognition of Handwritten Digits" data set (test part),
E. Alpaydin and C. Kaynak, 1998, as bundled with scikit-learn; provenance and license in
data/README.md.
"""

import sys

from sklearn.datasets import load_digits


def main() -> None:
    out = sys.argv[1]
    digits = load_digits()
    with open(out, "w", newline="\n") as f:
        f.write(",".join([f"p{i}" for i in range(64)] + ["label"]) + "\n")
        for pixels, label in zip(digits.data, digits.target):
            f.write(",".join(str(int(v)) for v in pixels) + f",{int(label)}\n")


if __name__ == "__main__":
    main()
