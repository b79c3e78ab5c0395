"""The ``skfam`` console command: ``skfam list`` and ``skfam train``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from sklearn.metrics import accuracy_score, r2_score

from ._registry import FamilyInfo, check_config, families
from ._settings import config_context
from ._sst import ConfigError
from .datasets import load_demo

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


def markdown_table(registry: dict[str, FamilyInfo]) -> str:
    """Return the families of ``registry`` as a Markdown table (the docs hold its output).

    Parameters
    ----------
    registry : dict of str to FamilyInfo
        Families to list, in the order given.

    Returns
    -------
    table : str
        One row per family: key, classes, input mode, tasks, GPU, pip extra, description.
    """
    lines = [
        "| family | classes | input | tasks | GPU | extra | description |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, info in registry.items():
        classes = ", ".join(f"`{c.__name__}`" for c in (info.regressor, info.classifier) if c)
        extra = f"`skfam[{info.extra}]`" if info.extra else "-"
        cells = [
            f"`{key}`",
            classes,
            info.input_mode,
            ", ".join(info.tasks),
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
                "yes" if info.gpu_capable else "no",
                "yes" if info.enabled else "no",
                ",".join(info.variants),
                "yes" if info.available else f"no: {info.install_hint}",
            ]
        )
    header = ["family", "tasks", "input", "gpu", "enabled", "variants", "available"]
    print(_table(rows, header), file=out)
    return 0


def cmd_train(
    out: TextIO,
    err: TextIO,
    selected: Sequence[str] | None,
    tasks: Sequence[str],
    variant: str | None,
    device: str | None,
) -> int:
    """Train the chosen (default: every enabled) family on the demo data; print leaderboards."""
    registry = families()
    unknown = sorted(set(selected or []) - set(registry))
    if unknown:
        raise _UsageError(f"unknown families {unknown}; known: {sorted(registry)}")
    keys = list(selected) if selected else [k for k, i in sorted(registry.items()) if i.enabled]
    if variant is not None:
        having = [key for key in keys if variant in registry[key].variants]
        if not having:
            known = sorted({v for key in keys for v in registry[key].variants})
            raise _UsageError(
                f"no chosen family has a variant {variant!r}; their variants: {known}"
            )
        for key in keys:
            if key not in having:
                used = registry[key].demo_variant or "its defaults"
                print(f"note: {key} has no variant {variant!r}; it uses {used}", file=err)
    # Every file of the SST these families read is checked before anything trains.
    check_config(keys, variant)
    jobs = []
    for key in keys:
        info = registry[key]
        if not info.available:
            print(f"skipping {key}: {info.install_hint}", file=err)
            continue
        for task in tasks:
            if task in info.tasks:
                jobs.append((key, task))
    # One leaderboard per (task, dataset): scores on different data do not rank together.
    results: dict[tuple[str, str], list[list[str]]] = {}
    failures = 0
    for number, (key, task) in enumerate(jobs, start=1):
        info = registry[key]
        cls = info.regressor if task == "regression" else info.classifier
        data = load_demo(task, info.input_mode)
        print(
            f"[{number}/{len(jobs)}] {key} ({task}, {data.name}) ...",
            end=" ",
            file=err,
            flush=True,
        )
        params = {}
        if variant is not None and variant in info.variants:
            params["variant"] = variant
        elif info.demo_variant is not None:
            params["variant"] = info.demo_variant
        if device is not None and "device" in cls._get_param_names():
            params["device"] = device
        if "sequence_shape" in cls._get_param_names():
            params["sequence_shape"] = data.sequence_shape
        start = time.perf_counter()
        try:
            model = cls(**params).fit(data.X_train, data.y_train)
        except Exception as exc:  # reported per family and counted; the run goes on
            print(f"failed: {type(exc).__name__}: {exc}", file=err)
            failures += 1
            continue
        seconds = time.perf_counter() - start
        predicted = model.predict(data.X_test)
        if task == "regression":
            score, metric = r2_score(data.y_test, predicted), "r2"
        else:
            score, metric = accuracy_score(data.y_test, predicted), "accuracy"
        print(f"done in {seconds:.1f}s", file=err, flush=True)
        results.setdefault((task, data.name), []).append(
            [key, metric, f"{score:.4f}", f"{seconds:.2f}", params.get("variant", "default")]
        )
    for (task, dataset), rows in sorted(results.items()):
        rows.sort(key=lambda r: -float(r[2]))
        ranked = [[str(i), *r] for i, r in enumerate(rows, start=1)]
        print(f"\nLeaderboard: {task} on {dataset} (held-out score, higher is better)", file=out)
        header = ["rank", "family", "metric", "score", "fit_s", "variant"]
        print(_table(ranked, header), file=out)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``skfam`` command line."""
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
    train = sub.add_parser("train", help="train families on the embedded demo data")
    train.add_argument("families", nargs="*", help="family keys (default: every enabled one)")
    train.add_argument("--task", choices=["regression", "classification", "both"], default="both")
    train.add_argument("--variant", help="a variant to use where the family has it (e.g. fast)")
    train.add_argument("--device", choices=["auto", "cpu", "cuda"])
    train.add_argument("--seed", type=_seed, help="base seed (default: the SST's base_seed)")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list(sys.stdout, args.families, args.format)
        tasks = ["regression", "classification"] if args.task == "both" else [args.task]
        with config_context(base_seed=args.seed):
            return cmd_train(
                sys.stdout, sys.stderr, args.families, tasks, args.variant, args.device
            )
    except (ConfigError, _UsageError) as exc:
        print(f"skfam {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _seed(text: str) -> int:
    """Parse ``--seed``: an int in [0, 2**32), as ``base_seed`` must be."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must lie in [0, 2**32), got {value}")
    return value


if __name__ == "__main__":
    raise SystemExit(main())
