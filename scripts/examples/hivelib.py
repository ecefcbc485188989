"""Small helpers shared by the example governance scripts (imported as a sibling module)."""

import csv
import pathlib
from dataclasses import dataclass, field
from fractions import Fraction

CHOICES = ("yes", "no", "abstain")
QUORUM = Fraction(1, 2)        # share of all eligible weight that must take part (abstentions count)
CONSENSUS = Fraction(2, 3)     # share of the weighted yes+no votes that must be yes


@dataclass
class Tally:
    proposal: str
    weights: dict = field(default_factory=lambda: {c: 0 for c in CHOICES})
    voters: set = field(default_factory=set)

    @property
    def cast(self):
        return sum(self.weights.values())

    @property
    def decisive(self):
        return self.weights["yes"] + self.weights["no"]


def data_dir():
    """The data folder next to these scripts, wherever they are run from."""
    return pathlib.Path(__file__).resolve().parent / "data"


def read_votes(path):
    """Rows of (voter, proposal, choice, weight); raises ValueError on a malformed row."""
    with open(path, newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            choice = row["choice"].strip().lower()
            if choice not in CHOICES:
                raise ValueError(f"{path}:{n}: unknown choice {row['choice']!r}")
            weight = int(row["weight"])
            if weight <= 0:
                raise ValueError(f"{path}:{n}: weight must be positive, got {weight}")
            yield row["voter"].strip(), row["proposal"].strip(), choice, weight


def tally(votes):
    """Tally weighted votes per proposal; a voter's later vote on a proposal replaces an earlier one.

    Returns (tallies by proposal, eligible weight by voter)."""
    latest = {}
    eligible = {}
    for voter, proposal, choice, weight in votes:
        latest[(voter, proposal)] = (choice, weight)
        eligible[voter] = max(weight, eligible.get(voter, 0))
    tallies = {}
    for (voter, proposal), (choice, weight) in sorted(latest.items()):
        t = tallies.setdefault(proposal, Tally(proposal))
        t.weights[choice] += weight
        t.voters.add(voter)
    return tallies, eligible


def percent(part, whole):
    return round(100 * part / whole, 2) if whole else 0.0


def assess(t, total_weight):
    """Quorum and consensus of one tally, as a JSON-ready dict."""
    quorum = total_weight > 0 and Fraction(t.cast, total_weight) >= QUORUM
    consensus = t.decisive > 0 and Fraction(t.weights["yes"], t.decisive) >= CONSENSUS
    return {
        "proposal": t.proposal,
        "voters": len(t.voters),
        "weights": dict(t.weights),
        "participation_pct": percent(t.cast, total_weight),
        "yes_pct_of_decisive": percent(t.weights["yes"], t.decisive),
        "quorum": bool(quorum),
        "consensus": bool(quorum and consensus),
        "outcome": "accepted" if quorum and consensus else ("rejected" if quorum else "no quorum"),
    }
