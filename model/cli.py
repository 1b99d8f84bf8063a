"""The ``detente`` command: a thin layer over the package's functions.

``detente score``, ``index``, ``report`` and ``predict`` need only the inference package; ``train``,
``evaluate`` and ``bench`` import ``training`` when called.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .io import InputError

# as model.loader.PRECISIONS, model.predict.DEFAULT_BATCH_SIZE and model.score.DEFAULT_CHUNK_SIZE; not
# imported from there so that the CLI starts (and fails fast) without importing torch
PRECISIONS = ("auto", "fp32", "bf16", "int8")
DEFAULT_BATCH_SIZE = 32
DEFAULT_CHUNK_SIZE = 4096

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 success, 2 bad input or usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # `kill` (SIGTERM, as a scheduler or timeout sends) unwinds like Ctrl-C, so a half-written output's
    # temporary file is removed rather than left beside the target
    own_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if own_thread else None
    try:
        return args.func(args) or 0
    except (InputError, FileNotFoundError, ValueError) as e:  # ValueError: a bad option value
        print(f"detente: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("detente: interrupted", file=sys.stderr)
        return 130
    finally:
        if own_thread:
            signal.signal(signal.SIGTERM, previous)


def _terminated(signum, frame) -> None:
    print("detente: terminated", file=sys.stderr)
    raise SystemExit(128 + signum)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="detente", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("score", help="label every quote in a CSV/JSONL/Parquet file")
    p.add_argument("input", help="quote file, or - for stdin")
    p.add_argument("-o", "--output", required=True, help="output file, or - for stdout")
    _add_input_options(p)
    _add_model_options(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("index", help="per-day tension index from a scored file")
    p.add_argument("scored", help="a file written by `detente score`")
    p.add_argument("-o", "--output", required=True, help="index table (.csv, .jsonl or .parquet)")
    p.add_argument("--by", help="group column, or 'dyad' for actor-target pairs")
    p.add_argument("--date-col", help="date column (default: found by common names)")
    _add_date_order(p)
    _add_index_options(p)
    p.add_argument("--plot", help="also write the chart as a PNG (not with --by)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("report", help="self-contained HTML report (scores the input if needed)")
    p.add_argument("input", help="a quote file, raw or already scored")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    p.add_argument("--scored", help="also write the scored rows here")
    p.add_argument("--index", dest="index_out", help="also write the index table here")
    p.add_argument("--plot", help="also write the chart as a PNG")
    p.add_argument("--title", default="Tension report")
    _add_input_options(p, scoring=False)
    _add_index_options(p)
    _add_model_options(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("predict", help="label quotes given on the command line")
    p.add_argument("texts", nargs="+")
    _add_model_options(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("train", help="fine-tune the classifier (see training/config.py)")
    p.add_argument("--config", help="a JSON file of TrainConfig fields")
    p.add_argument("--output-dir")
    p.add_argument("--data-dir")
    p.add_argument("--base-model", help="base model folder (default: all-MiniLM-L6-v2 package)")
    p.add_argument("--head", choices=["cls", "mean", "both"],
                   help="'both' trains each and keeps the better on dev macro-F1")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--max-train-samples", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--soup", type=int, help="train this many seeds (SEED, SEED+1, ...) and average "
                   "their weights into one model; each seed takes a full run's time")
    p.add_argument("--head-seed", type=int, help="draw the classifier's initial weights from this seed "
                   "for every run (a soup's members then share one head; default: each run's seed)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics, baselines and contrast pairs on a split")
    p.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"])
    p.add_argument("--precision", default="fp32", choices=PRECISIONS)
    p.add_argument("--out", help="JSON report path (default: print only)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("bench", help="quotes per second: naive pipeline vs predict (fp32, default)")
    p.add_argument("--model", default=None)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="bench.json")
    p.add_argument("--memory-rows", type=int, nargs=2, default=[20000, 200000],
                   metavar=("SMALL", "LARGE"))
    p.set_defaults(func=cmd_bench)
    return parser


def _at_least(minimum: int):
    """An argparse type: an integer no smaller than ``minimum``."""
    def parse(value: str) -> int:
        number = int(value)
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {number}")
        return number
    return parse


_positive, _count = _at_least(1), _at_least(0)


def _frequency(value: str) -> str:
    from .index import check_freq

    try:
        check_freq(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def _add_input_options(p: argparse.ArgumentParser, scoring: bool = True) -> None:
    """Options for reading a quote file; ``scoring`` adds those only the streaming scorer has."""
    p.add_argument("--text-col")
    p.add_argument("--date-col")
    p.add_argument("--format", choices=["csv", "jsonl", "parquet"], help="input format")
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--on-bad-lines", choices=["error", "skip"], default="error")
    p.add_argument("--rejects", help="where skipped lines go (default: OUTPUT.rejects.csv)")
    _add_date_order(p)
    if scoring:
        p.add_argument("--output-format", choices=["csv", "jsonl", "parquet"])
        p.add_argument("--chunk-size", type=_positive, default=DEFAULT_CHUNK_SIZE)
        p.add_argument("--no-progress", action="store_true")


def _add_date_order(p: argparse.ArgumentParser) -> None:
    order = p.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True, default=None,
                       help="read dates like 03/04/2025 as 3 April (default: as the file shows, "
                       "else month-first)")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="read dates like 03/04/2025 as 4 March")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS)
    p.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE)
    p.add_argument("--threads", type=_positive, default=None)


def _add_index_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--freq", default="D", type=_frequency,
                   help="D (days), W (weeks ending Sunday), MS (months) or another pandas offset alias")
    p.add_argument("--smooth", type=_count, default=7, help="trailing window in periods (0: off)")


def _load(args):
    from .loader import load_model

    return load_model(args.model, precision=args.precision, threads=args.threads)


def _score_kwargs(args) -> dict:
    return dict(text_col=args.text_col, date_col=args.date_col, input_format=args.format,
                encoding=args.encoding, on_bad_lines=args.on_bad_lines, rejects_path=args.rejects,
                chunk_size=args.chunk_size, batch_size=args.batch_size, dayfirst=args.dayfirst,
                progress=False if args.no_progress else None)


def cmd_score(args) -> int:
    from .score import score_file

    summary = score_file(args.input, args.output, model=_load(args),
                         output_format=args.output_format, **_score_kwargs(args))
    print(summary, file=sys.stderr)
    return 0


def read_table(path: str, **options) -> "pd.DataFrame":
    """A whole (scored or index) file as a DataFrame; ``options`` go to :func:`model.io.read_chunks`."""
    import pandas as pd

    from .io import read_chunks

    return pd.concat(list(read_chunks(path, chunk_size=65536, **options)), ignore_index=True)


def _write_table(frame, path: str) -> None:
    from .io import ChunkWriter

    writer = ChunkWriter(path)
    try:
        writer.write(frame)
        writer.close()
    except BaseException:
        writer.abort()
        raise


def _index(scored, args, date_col: str, by: str | None = None):
    from .index import tension_index

    try:
        return tension_index(scored, by=by, freq=args.freq, date_col=date_col,
                             smooth_window=args.smooth or None, dayfirst=args.dayfirst)
    except ValueError as e:
        raise InputError(str(e), path=getattr(args, "scored", None) or args.input) from None


def cmd_index(args) -> int:
    from .io import DATE_NAMES, find_column

    if args.plot and args.by:
        raise InputError("--plot draws one series; run without --by to plot")
    scored = read_table(args.scored)
    date_col = find_column([str(c) for c in scored.columns], args.date_col, DATE_NAMES, "date",
                           args.scored, True)
    table = _index(scored, args, date_col, by=args.by)
    _write_table(table, args.output)
    if args.plot:
        from .report import plot_index

        plot_index(table, args.plot, smooth_label=_smooth_label(args))
    print(f"{len(table)} rows, {int(table['spike'].sum())} spikes -> {args.output}", file=sys.stderr)
    return 0


def cmd_report(args) -> int:
    from .io import DATE_NAMES, TEXT_NAMES, Rejects, find_column, write_rejects
    from .report import plot_index, render_report

    rejects = Rejects([])
    frame = read_table(args.input, fmt=args.format, encoding=args.encoding,
                       on_bad_lines=args.on_bad_lines, rejects=rejects)
    cols = [str(c) for c in frame.columns]
    text_col = find_column(cols, args.text_col, TEXT_NAMES, "text", args.input, True)
    date_col = find_column(cols, args.date_col, DATE_NAMES, "date", args.input, True)
    if not {"p_hostile", "p_conciliatory", "status"} <= set(frame.columns):
        from .score import score_frame

        frame = score_frame(frame, text_col, date_col, _load(args), args.batch_size,
                            dayfirst=args.dayfirst)
    index = _index(frame, args, date_col)
    if rejects.rows:
        write_rejects(rejects, args.rejects or f"{args.output}.rejects.csv")
    if args.scored:
        _write_table(frame, args.scored)
    if args.index_out:
        _write_table(index, args.index_out)
    if args.plot:
        plot_index(index, args.plot, title=args.title, smooth_label=_smooth_label(args))
    render_report(frame, index, args.output, text_col=text_col, date_col=date_col, title=args.title,
                  smooth_label=_smooth_label(args), freq=args.freq, dayfirst=args.dayfirst)
    skipped = f"; {len(rejects.rows)} malformed lines set aside" if rejects.rows else ""
    print(f"{len(frame)} quotes, {len(index)} periods, {int(index['spike'].sum())} spikes -> "
          f"{args.output}{skipped}", file=sys.stderr)
    return 0


def _smooth_label(args) -> str:
    from .report import period_unit

    return f"{args.smooth}-{period_unit(args.freq)} trailing mean"


def cmd_predict(args) -> int:
    from .predict import predict

    for text, pred in zip(args.texts, predict(args.texts, model=_load(args),
                                              batch_size=args.batch_size)):
        scores = " ".join(f"{k}={v:.3f}" for k, v in pred.scores.items())
        print(f"{pred.label}\t{scores}\t{text}")
    return 0


def cmd_train(args) -> int:
    from training.config import TrainConfig
    from training.train import train_cli

    fields = json.loads(Path(args.config).read_text()) if args.config else {}
    for name in ("output_dir", "data_dir", "base_model", "head", "epochs", "seed",
                 "max_train_samples", "threads", "soup", "head_seed"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    meta = train_cli(fields, TrainConfig)
    print(json.dumps({k: meta[k] for k in ("head", "dev_macro_f1", "temperature", "int8_gate",
                                           "bf16_gate", "train_seconds")}, indent=2))
    return 0


def cmd_evaluate(args) -> int:
    from training.evaluate import evaluate, format_table

    report = evaluate(args.model, args.data_dir, args.split, precision=args.precision)
    print(format_table(report))
    if args.out:
        from .io import atomic_write

        atomic_write(args.out, json.dumps(report, indent=2) + "\n")
    return 0


def cmd_bench(args) -> int:
    from training.bench import run_bench

    run_bench(args.model, n=args.n, threads=args.threads, out=args.out,
              memory_rows=tuple(args.memory_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
