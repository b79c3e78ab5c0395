"""The ``skfam`` console command: ``skfam list``, ``skfam train`` and ``skfam verify``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ._registry import FamilyInfo, check_config, families
from ._sst import ConfigError

__all__ = ["main"]


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


class _UsageError(Exception):
    """A command line that cannot run: reported in one line, exit status 2."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def describe_offers(info: FamilyInfo) -> str:
    """Return what a family offers beyond fit/predict, e.g. ``"partial_fit, fit(groups=)"``.

    A method offered by some of the family's tasks only is followed by those tasks in
    brackets; extra fit data shows as ``fit(name=)``; a family that reads its training rows
    in order says ``rows in order``. ``-`` when there is nothing more.
    """
    parts = []
    for method in dict.fromkeys(m for task in info.tasks for m in info.offers[task]):
        tasks = [task for task in info.tasks if method in info.offers[task]]
        parts.append(method if len(tasks) == len(info.tasks) else f"{method} ({', '.join(tasks)})")
    parts += [f"fit({name}=)" for name in info.fit_data]
    if info.ordered_rows:
        parts.append("rows in order")
    return ", ".join(parts) or "-"


def markdown_table(registry: dict[str, FamilyInfo]) -> str:
    """Return the families of ``registry`` as a Markdown table (the docs hold its output).

    Parameters
    ----------
    registry : dict of str to FamilyInfo
        Families to list, in the order given.

    Returns
    -------
    table : str
        One row per family: key, classes, input mode, tasks, what it offers beyond
        fit/predict (:func:`describe_offers`), GPU, pip extra, description.
    """
    lines = [
        "| family | classes | input | tasks | offers | GPU | extra | description |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, info in registry.items():
        classes = ", ".join(f"`{c.__name__}`" for c in (info.regressor, info.classifier) if c)
        extra = f"`skfam[{info.extra}]`" if info.extra else "-"
        cells = [
            f"`{key}`",
            classes,
            info.input_mode,
            ", ".join(info.tasks),
            _cell(describe_offers(info)),
            "yes" if info.gpu_capable else "no",
            extra,
            _cell(info.description),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cmd_list(out: TextIO, selected: Sequence[str] = (), fmt: str = "text") -> int:
    """Print the registered families (``selected`` ones, in that order, when given).

    The whole SST is validated first: a broken file is reported, not listed around.
    """
    registry = families()
    check_config()
    unknown = [key for key in selected if key not in registry]
    if unknown:
        raise _UsageError(f"unknown families {unknown}; known: {sorted(registry)}")
    keys = list(selected) if selected else sorted(registry)
    if fmt == "markdown":
        print(markdown_table({key: registry[key] for key in keys}), file=out)
        return 0
    rows = []
    for key in keys:
        info = registry[key]
        rows.append(
            [
                key,
                ",".join(info.tasks),
                info.input_mode,
                describe_offers(info),
                "yes" if info.gpu_capable else "no",
                "yes" if info.enabled else "no",
                ",".join(info.variants),
                "yes" if info.available else f"no: {info.install_hint}",
            ]
        )
    header = ["family", "tasks", "input", "offers", "gpu", "enabled", "variants", "available"]
    print(_table(rows, header), file=out)
    return 0


def _leaderboards(out: TextIO, rows: list[dict]) -> None:
    """Print one leaderboard per (task, dataset): scores on different data do not rank together."""
    boards: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        boards.setdefault((row["task"], row["dataset"]), []).append(row)
    for (task, dataset), board in sorted(boards.items()):
        print(f"\nLeaderboard: {task} on {dataset} (held-out score, higher is better)", file=out)
        header = ["rank", "family", "metric", "score", "fit_s", "variant"]
        cells = [
            [
                str(r["rank"]),
                r["family"],
                r["metric"],
                "nan" if r["score"] is None else f"{r['score']:.4f}",
                f"{r['fit_seconds']:.2f}",
                r["variant"],
            ]
            for r in board
        ]
        print(_table(cells, header), file=out)


def _names(values: Sequence[str] | None) -> list[str]:
    """Split family names given as ``a b`` or ``a,b``; keep their order, once each."""
    names = [part.strip() for value in values or [] for part in value.split(",")]
    return list(dict.fromkeys(name for name in names if name))


def cmd_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Train families on the user's data (``--data``) or the demo data; print leaderboards."""
    from . import runs

    progress = None if args.quiet else err
    selected = _names([*args.families, *(args.family_list or [])]) or None
    scheduler = args.scheduler
    if args.data is None:
        for option, value in (
            ("--target", args.target),
            ("--time-column", args.time_column),
            ("--group-column", args.group_column),
            ("--window", args.window),
            ("--test-size", args.test_size),
        ):
            if value is not None:
                raise _UsageError(f"{option} needs --data (without it the demo data is used)")
        task = args.task or "both"
        tasks = ["regression", "classification"] if task == "both" else [task]
        run = runs._run_demo(
            selected,
            tasks,
            variant=args.variant,
            seed=args.seed,
            device=args.device,
            out=args.out,
            progress=progress,
            scheduler=scheduler,
        )
    else:
        if args.target is None:
            raise _UsageError("--data needs --target COLUMN (the column to predict)")
        if args.task == "both":
            raise _UsageError("--task both is for the demo data; with --data give one task")
        table = runs.load_table(
            args.data,
            args.target,
            task=args.task,
            time_column=args.time_column,
            group_column=args.group_column,
        )
        if progress is not None:
            print(runs._describe(table), file=progress, flush=True)
        run = runs.run_families(
            table,
            selected,
            variant=args.variant,
            seed=args.seed,
            test_size=0.25 if args.test_size is None else args.test_size,
            out=args.out if args.out is not None else runs._default_run_folder(),
            window=args.window,
            device=args.device,
            progress=progress,
            scheduler=scheduler,
        )
    if progress is None:  # quiet: what was skipped and what failed is still said
        for text in run.notes:
            print(text, file=err)
        for entry in run.manifest["families"]:
            if entry["status"] != "ok":
                print(f"{entry['name']}: failed: {entry['error']}", file=err)
    _leaderboards(out, run.leaderboard)
    if run.out_dir is not None:
        print(f"\nrun folder: {run.out_dir}", file=out)
    return 1 if run.failures else 0


def cmd_verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Retrain every family of a run in fresh processes; print STABLE / DIVERGED per family."""
    from .runs import verify_run

    results = verify_run(
        args.run_dir,
        _names(args.families) or None,
        data=args.data,
        progress=None if args.quiet else err,
    )
    rows = [
        [
            r.family,
            r.status,
            "-" if r.max_abs_diff is None else f"{r.max_abs_diff:.3g}",
            r.details,
        ]
        for r in results
    ]
    print(_table(rows, ["family", "status", "max_abs_diff", "details"]), file=out)
    return 0 if all(r.status == "STABLE" for r in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``skfam`` command line."""
    from ._runs_data import MissingExtraError, RunError

    parser = argparse.ArgumentParser(prog="skfam", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="print the registered families")
    listing.add_argument("families", nargs="*", help="family keys (default: every one)")
    listing.add_argument(
        "--format",
        choices=["text", "markdown"],
        default="text",
        help="markdown: the table the docs hold (between 'generated by' markers)",
    )
    train = sub.add_parser(
        "train",
        help="train families on your data (--data) or on the embedded demo data",
        description="Train families and print a leaderboard; see docs/running.md.",
    )
    train.add_argument("families", nargs="*", help="family keys (default: every enabled one)")
    train.add_argument(
        "--families",
        dest="family_list",
        action="extend",
        nargs="+",
        metavar="FAMILY",
        help="family keys, also comma-separated (same as the positional ones)",
    )
    train.add_argument("--data", metavar="PATH", help="a .csv or .parquet file of your own")
    train.add_argument("--target", metavar="COLUMN", help="the column to predict (with --data)")
    train.add_argument(
        "--task",
        choices=["regression", "classification", "both"],
        help="default: inferred from the target with --data, both on the demo data",
    )
    train.add_argument(
        "--time-column", metavar="COLUMN", help="time of each row: a time-ordered split"
    )
    train.add_argument(
        "--group-column", metavar="COLUMN", help="the series of each row (with --time-column)"
    )
    train.add_argument(
        "--window",
        type=_positive_int,
        help="rows per window of the sequence families and purge gap (default: 30)",
    )
    train.add_argument(
        "--test-size", type=_fraction, help="fraction of rows held out (default: 0.25)"
    )
    train.add_argument("--variant", help="a variant to use where the family has it (e.g. fast)")
    train.add_argument("--device", choices=["auto", "cpu", "cuda"])
    train.add_argument("--seed", type=_seed, help="base seed (default: the SST's base_seed)")
    train.add_argument(
        "--out",
        metavar="DIR",
        help="run folder to write (with --data default: skfam-runs/<date-time>)",
    )
    train.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the jobs on this dask scheduler (e.g. tcp://host:8786); see docs/distributed.md",
    )
    train.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    verify = sub.add_parser(
        "verify",
        help="retrain a run's families in fresh processes and compare bit for bit",
        description="Exit status 0: every family STABLE; 1: one DIVERGED or FAILED.",
    )
    verify.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by skfam train")
    verify.add_argument("families", nargs="*", help="names of families (default: every one)")
    verify.add_argument("--data", metavar="PATH", help="where the run's data file is now")
    verify.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list(sys.stdout, args.families, args.format)
        if args.command == "verify":
            return cmd_verify(args, sys.stdout, sys.stderr)
        return cmd_train(args, sys.stdout, sys.stderr)
    except (ConfigError, _UsageError, RunError, MissingExtraError) as exc:
        print(f"skfam {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _integer(low: int, high: int | None = None, shown: str | None = None) -> Callable[[str], int]:
    """Return an argparse type: an int >= ``low`` (and < ``high``, written ``shown``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if high is None and value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if high is not None and not low <= value < high:
            raise argparse.ArgumentTypeError(f"must lie in [{low}, {shown or high}), got {value}")
        return value

    return parse


#: ``--seed``: an int in [0, 2**32), as ``base_seed`` must be.
_seed = _integer(0, 2**32, "2**32")
#: ``--window``: an int >= 1.
_positive_int = _integer(1)


def _fraction(text: str) -> float:
    """Parse ``--test-size``: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {value}")
    return value


if __name__ == "__main__":
    raise SystemExit(main())
