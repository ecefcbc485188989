"""A human-readable consensus report, built on the sibling module hivelib.py.

    hive-py scripts/examples/consensus_report.py [votes.csv]

Exits 0 if every proposal reached consensus, 1 otherwise.

hive-py, like `python3 -I`, does not put the script's folder on sys.path (-I implies -P), so the
script adds its own folder before importing its sibling.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import hivelib  # noqa: E402


def main(argv):
    path = argv[1] if len(argv) > 1 else hivelib.data_dir() / "votes.csv"
    tallies, eligible = hivelib.tally(hivelib.read_votes(path))
    total = sum(eligible.values())
    print(f"Consensus report: {len(tallies)} proposals, {len(eligible)} eligible voters, weight {total}")
    print(f"{'proposal':<10} {'yes':>4} {'no':>4} {'abst':>4} {'part%':>7} {'yes%':>7}  outcome")
    results = []
    for name in sorted(tallies):
        r = hivelib.assess(tallies[name], total)
        results.append(r)
        w = r["weights"]
        print(f"{name:<10} {w['yes']:>4} {w['no']:>4} {w['abstain']:>4} "
              f"{r['participation_pct']:>7.2f} {r['yes_pct_of_decisive']:>7.2f}  {r['outcome']}")
    reached = sum(r["consensus"] for r in results)
    print(f"{reached} of {len(results)} proposals reached consensus")
    return 0 if reached == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
