"""``sbnn data``: fetch the standard files of a data set, or show what a data set holds."""

from __future__ import annotations

import argparse

import numpy as np

from sbnn import fmt
from sbnn.cliutil import console, print_table, show_progress
from sbnn.data import DATASETS, dataset_files, download, load_dataset, resolve_data_dir


def add_parser(sub, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text)
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (("download", "download and verify the standard files"),
                       ("info", "load a data set and print its shape and class balance"),
                       ("files", "list the files a data set needs, with SHA-256 and mirrors")):
        v = verbs.add_parser(verb, help=text, description=text)
        v.add_argument("dataset", choices=DATASETS)
        v.add_argument("--data-dir", metavar="DIR", help="default: $SBNN_DATA_DIR or ~/.cache/sbnn/data")
        v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.verb == "download":
        written = download(args.dataset, args.data_dir, progress=show_progress())
        where = resolve_data_dir(args.data_dir) / args.dataset
        console.print(f"{args.dataset}: {len(written)} file(s) downloaded, all files present in {where}")
    elif args.verb == "files":
        rows = [[f.filename, fmt.count(f.size), f.sha256[:16] + "...", f.urls[0] if f.urls else ""]
                for f in dataset_files(args.dataset)]
        print_table(f"{args.dataset} files (in {resolve_data_dir(args.data_dir) / args.dataset})",
                    ["file", "bytes", "sha256", "first mirror"], rows)
    else:
        ds = load_dataset(args.dataset, args.data_dir, download=False)
        counts = np.bincount(ds.y_train, minlength=ds.num_classes)
        rows = [["image shape (C, H, W)", ds.shape], ["pixel range", f"0..{ds.pixel_max}"],
                ["train / test", f"{fmt.count(len(ds.y_train))} / {fmt.count(len(ds.y_test))}"],
                ["train images per class", f"{counts.min()}..{counts.max()}"], ["classes", ", ".join(ds.classes)]]
        print_table(f"data set {ds.name}", ["property", "value"], rows)
    return 0
