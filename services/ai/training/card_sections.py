"""The sections every model card shares: header, feature table, limitations and how to reproduce."""

from __future__ import annotations

from typing import Any

REPRODUCE = "python -m services.ai.training --seed {seed} --out services/ai/models"


def header(meta: dict[str, Any], intended_use: str) -> list[str]:
    return [
        f"# Model card: {meta['name']} {meta['version']}",
        "",
        "| | |",
        "|---|---|",
        f"| Task | {meta['task']} |",
        f"| Algorithm | {meta['algorithm']} |",
        f"| Training date | {meta['training_date']} |",
        f"| Seed | {meta['seed']} |",
        f"| Artifact | `{meta['model_file']}`, sha256 `{meta['sha256']}`, {meta['size_bytes']:,} bytes |",
        f"| ONNX | input `{meta['onnx']['input']}` float32 [N, {len(meta['features'])}]; "
        f"outputs {', '.join(f'`{o}`' for o in meta['onnx']['outputs'])}; opsets {meta['onnx']['opsets']} |",
        f"| Frameworks | {', '.join(f'{k} {v}' for k, v in meta['frameworks'].items())} |",
        "",
        "## Intended use",
        "",
        intended_use,
        "",
    ]


def feature_table(meta: dict[str, Any]) -> list[str]:
    lines = [
        "## Features",
        "",
        "In this order (`services/ai/features.py` computes them for training and serving alike):",
        "",
    ]
    lines += ["| # | Feature | Definition |", "|---|---|---|"]
    desc = meta["feature_descriptions"]
    for i, name in enumerate(meta["features"]):
        lines.append(f"| {i} | `{name}` | {desc.get(name, '')} |")
    return [*lines, ""]


def footer(meta: dict[str, Any], limitations: list[str]) -> list[str]:
    lines = ["## Limitations", ""]
    lines += [f"- {item}" for item in limitations]
    lines += [
        "",
        "## Reproduce",
        "",
        "```",
        REPRODUCE.format(seed=meta["seed"]),
        "```",
        "",
        "The generator, features, training and evaluation are fixed by the seed; the ONNX file is "
        "byte-identical "
        "across runs with the same seed and library versions.",
        "",
    ]
    return lines


def span(interval: list[int]) -> str:
    return f"[{interval[0]}, {interval[1]})"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
