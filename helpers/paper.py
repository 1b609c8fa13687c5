"""What Cavanagh, Bekki & Groves (2021) report, in one place (see ../shared/reference/paper.md).

Sources: (A) the abstract; (B) the paper's figures and text as reproduced by an earlier student
reproduction; treat (B) as a best reading, not a quotation.
"""
import numpy as np

ACCURACY = {  # overall test accuracy
    ("C2", "3way"): 0.83,   # A
    ("C2", "4way"): 0.81,   # A
    ("binary", "E-vs-Sp"): 0.98,   # A: "> 98 %"
    ("binary", "Sp-vs-Irr+Misc"): 0.78,   # A
    ("hierarchical", "3way"): 0.81,   # A
    ("hierarchical", "4way"): 0.65,   # A
}
SOURCE = {key: "A" for key in ACCURACY}

# C2 confusion matrices normalised by true class (rows true, columns predicted), (B).
CONFUSION_C2 = {
    "3way": np.array([[0.80, 0.19, 0.01],
                      [0.18, 0.60, 0.22],
                      [0.00, 0.06, 0.93]]),
    "4way": np.array([[0.87, 0.12, 0.00, 0.00],
                      [0.23, 0.60, 0.16, 0.01],
                      [0.00, 0.10, 0.89, 0.01],
                      [0.02, 0.21, 0.50, 0.27]]),
}


def recall_c2(scheme: str) -> np.ndarray:
    """Per-class recall of the paper's C2 (the diagonal of its confusion matrix), (B)."""
    return np.diag(CONFUSION_C2[scheme])

# Values the abstract gives as bounds rather than numbers ("above 98 %").
AT_LEAST = {("binary", "E-vs-Sp")}
