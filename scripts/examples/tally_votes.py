"""Tally weighted votes on governance proposals.

Reads data/votes.csv (next to this script), prints a JSON summary on stdout, and exits 0 if every
proposal reached quorum, 1 otherwise (2 if the vote file is malformed).

    hive-py scripts/examples/tally_votes.py [votes.csv]
"""

import csv
import json
import pathlib
import sys
from fractions import Fraction

QUORUM = Fraction(1, 2)      # share of all eligible weight that must take part (abstentions count)
CONSENSUS = Fraction(2, 3)   # share of the weighted yes+no votes that must be yes
CHOICES = ("yes", "no", "abstain")


def load(path):
    votes = {}
    eligible = {}
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            voter, proposal = row["voter"].strip(), row["proposal"].strip()
            choice = row["choice"].strip().lower()
            if choice not in CHOICES:
                raise ValueError(f"{path}:{line}: unknown choice {row['choice']!r}")
            weight = int(row["weight"])
            if weight <= 0:
                raise ValueError(f"{path}:{line}: weight must be positive, got {weight}")
            votes[(voter, proposal)] = (choice, weight)   # a later vote replaces an earlier one
            eligible[voter] = max(weight, eligible.get(voter, 0))
    return votes, eligible


def pct(part, whole):
    return round(100 * part / whole, 2) if whole else 0.0


def main(argv):
    here = pathlib.Path(__file__).parent
    path = pathlib.Path(argv[1]) if len(argv) > 1 else here / "data" / "votes.csv"
    try:
        votes, eligible = load(path)
    except (OSError, ValueError, KeyError) as e:
        print(f"tally_votes: {e}", file=sys.stderr)
        return 2
    total_weight = sum(eligible.values())

    per = {}
    for (voter, proposal), (choice, weight) in sorted(votes.items()):
        t = per.setdefault(proposal, {"voters": 0, "weights": dict.fromkeys(CHOICES, 0)})
        t["voters"] += 1
        t["weights"][choice] += weight

    proposals = []
    for proposal, t in sorted(per.items()):
        w = t["weights"]
        cast = sum(w.values())
        decisive = w["yes"] + w["no"]
        quorum = total_weight > 0 and Fraction(cast, total_weight) >= QUORUM
        consensus = quorum and decisive > 0 and Fraction(w["yes"], decisive) >= CONSENSUS
        proposals.append({
            "proposal": proposal,
            "voters": t["voters"],
            "weights": w,
            "participation_pct": pct(cast, total_weight),
            "yes_pct_of_decisive": pct(w["yes"], decisive),
            "quorum": bool(quorum),
            "consensus": bool(consensus),
            "outcome": "accepted" if consensus else ("rejected" if quorum else "no quorum"),
        })

    summary = {
        "source": path.name,
        "eligible_voters": len(eligible),
        "eligible_weight": total_weight,
        "quorum_rule": f"participation >= {QUORUM.numerator}/{QUORUM.denominator} of eligible weight",
        "consensus_rule": f"yes >= {CONSENSUS.numerator}/{CONSENSUS.denominator} of weighted yes+no",
        "proposals": proposals,
        "all_reached_quorum": all(p["quorum"] for p in proposals),
    }
    json.dump(summary, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0 if summary["all_reached_quorum"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
