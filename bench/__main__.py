"""Run every bench/bench_*.py, print a table and write bench/results.json.

Each module exposes run() -> list[Figure-like dict]: {name, value, unit, budget, met, note?}.
`budget` is text such as "< 15 ms" or ">= 500 tx/s"; `met` is True/False/None (None = no budget).
A module that fails is reported as such and the run goes on; the exit status is 1 if any module failed."""
from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path

import bench


def figure(name: str, value, unit: str, budget: str = "", met=None, note: str = "") -> dict:
    return {"name": name, "value": value, "unit": unit, "budget": budget, "met": met, "note": note}


def main(argv: list[str]) -> int:
    only = set(argv)
    figures, failed = [], []
    for mod in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if not mod.name.startswith("bench_") or (only and mod.name not in only and mod.name[6:] not in only):
            continue
        t0 = time.perf_counter()
        print(f"== {mod.name}", flush=True)
        try:
            module = importlib.import_module(f"bench.{mod.name}")
            for f in module.run():
                f.setdefault("note", "")
                f["module"] = mod.name
                figures.append(f)
                print(f"   {f['name']}: {f['value']} {f['unit']}  {f.get('budget', '')}", flush=True)
        except Exception:
            traceback.print_exc()
            failed.append(mod.name)
        print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    print()
    w = max([len(f["name"]) for f in figures] + [10])
    print(f"{'figure':<{w}}  {'value':>14}  {'unit':<8} {'budget':<14} met")
    for f in figures:
        met = {True: "yes", False: "NO", None: "-"}[f["met"]]
        v = f["value"]
        vs = f"{v:,.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
        print(f"{f['name']:<{w}}  {vs:>14}  {f['unit']:<8} {f['budget']:<14} {met}")
    out = Path(__file__).parent / "results.json"
    out.write_text(json.dumps({"generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "figures": figures,
                               "failed_modules": failed}, ensure_ascii=False, indent=2))
    print(f"\nwritten {out}")
    if failed:
        print("failed modules: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
