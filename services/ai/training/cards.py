"""Model cards (markdown), rendered from a model's complete metadata.json: credit, trend and
recommendations here, fraud in ``fraud_model_card`` (re-exported), the shared parts in ``card_sections``."""

from __future__ import annotations

from typing import Any

from services.ai.training.card_sections import feature_table, footer, header, pct
from services.ai.training.fraud_model_card import fraud_card

__all__ = ["credit_card", "fraud_card", "recommendations_card", "trend_card"]


def credit_card(meta: dict[str, Any]) -> str:
    m, s, d = meta["metrics"], meta["scorecard"], meta["data"]
    lines = header(
        meta,
        (
            "Estimate a loan applicant's probability of default within 12 months and express it as a "
            "300-850 score "
            "with adverse-action reason codes, for the credit service. An input to a lending decision, not "
            "the decision."
        ),
    )
    lines += [
        "## Data",
        "",
        f"Synthetic (`{d['generator']}`): {d['applicants']:,} applicants, default rate "
        f"{pct(d['default_rate'])}; "
        f"{d['split']} ({d['rows']['train']:,} / {d['rows']['test']:,}). A latent creditworthiness drives "
        f"income, "
        "debt, history, utilization, delinquencies, inquiries and the default; the default log-odds are "
        "monotone "
        "in every input, with an extra penalty above 80 % utilization.",
        "",
    ]
    lines += feature_table(meta)
    lines += [
        "## Scorecard",
        "",
        f"`{s['formula']}` with factor = PDO / ln 2 = {s['factor']:.4f} and offset = {s['offset']:.4f}: "
        f"{s['base_score']} points at odds {s['base_odds']:g}:1 (good:bad), {s['pdo']:g} points to double "
        f"the odds.",
        "",
        "Monotonic by construction: each feature is a monotone transform of one input and its coefficient "
        "sign is "
        "checked at training time (and by tests, through the ONNX model). Points per unit of each feature:",
        "",
        "| Feature | Score direction | Points per unit |",
        "|---|---|---|",
    ]
    for name, direction in meta["monotonic"]["score_direction"].items():
        lines.append(
            f"| `{name}` | {'higher is better' if direction > 0 else 'higher is worse'} | "
            f"{meta['monotonic']['points_per_unit'][name]:+.2f} |"
        )
    lines += [
        "",
        "## Metrics (test applicants, ONNX output)",
        "",
        "| Metric | Value |",
        "|---|---|",
        f"| ROC-AUC | {m['roc_auc']:.4f} |",
        f"| Gini | {m['gini']:.4f} |",
        f"| KS | {m['ks']:.4f} |",
        f"| Train ROC-AUC | {m['train_roc_auc']:.4f} |",
        f"| Test default rate | {pct(m['test_default_rate'])} |",
        f"| Score percentiles (1/10/25/50/75/90/99) | "
        f"{' / '.join(str(v) for v in m['score_percentiles'].values())} |",
        "",
        "| Band | Scores | Share of applicants | Default rate |",
        "|---|---|---|---|",
    ]
    for b in m["score_bands"]:
        lines.append(
            f"| {b['band']} | {b['range'][0]}-{b['range'][1]} | {pct(b['share'])} | "
            f"{pct(b['default_rate'])} |"
        )
    lines += [
        "",
        f"![ROC curve and score distributions]({meta['plot_file']})",
        "",
        "## Reason codes",
        "",
        f"{meta['explanation']['description']}.",
        "",
        "| Feature | Code | Text |",
        "|---|---|---|",
    ]
    for name, rc in meta["explanation"]["reason_codes"].items():
        lines.append(f"| `{name}` | {rc['code']} | {rc['text']} |")
    lines.append("")
    lines += footer(
        meta,
        [
            "Synthetic data only; a real scorecard needs real outcomes, reject inference and validation "
            "over time.",
            "A logistic model on six features: interactions and non-linearities (beyond the log "
            "transforms) are not "
            "captured, which is the price of a simple monotone scorecard.",
            "Income is taken as stated; no verification or affordability model.",
            "No protected attributes are used or available, so disparate impact could not be measured.",
        ],
    )
    return "\n".join(lines)


def trend_card(meta: dict[str, Any]) -> str:
    m, f, d = meta["metrics"], meta["forecast"], meta["data"]
    lines = header(
        meta,
        (
            f"Forecast the next {f['horizon_days']} days of a user's daily balance, daily spending, or any "
            f"supplied daily "
            f"series, with a {int(100 * f['interval']['level'])} % prediction interval."
        ),
    )
    lines += [
        "## Data",
        "",
        f"Synthetic (`{d['generator']}`): {d['series']:,} series of {d['days']} days in {d['currency']} "
        f"cents, "
        f"kinds {', '.join(d['kinds'])}. Spending: level, drift, weekday pattern, log-normal noise and "
        f"rare spikes. "
        "Balance: monthly or fortnightly salary minus such spending. Split by series: "
        f"{d['split']['train_series']} train, {d['split']['calibration_series']} calibration (interval), "
        f"{d['split']['test_series']} test; {d['split']['time']}.",
        "",
        "## Features",
        "",
        f"The last {f['input_days']} daily values divided by scale = mean(|values|) + 1 "
        "(`services.ai.features.trend_input`); the model outputs the next days divided by the same scale.",
        "",
        "## Metrics (test series, last 14 days, ONNX output)",
        "",
        "| Metric | Value |",
        "|---|---|",
        f"| MAPE | {m['mape']:.2f}% |",
    ]
    for kind, v in m["mape_by_kind"].items():
        lines.append(
            f"| MAPE, {kind} ({v['series']} series) | {v['mape']:.2f}% (seasonal naive "
            f"{v['seasonal_naive_mape']:.2f}%) |"
        )
    lines += [
        f"| Baseline: seasonal naive (repeat last week) | {m['baseline_seasonal_naive_mape']:.2f}% |",
        f"| Baseline: mean of the last {f['input_days']} days | {m['baseline_mean_mape']:.2f}% |",
        f"| {int(100 * m['interval_level'])} % interval coverage | {pct(m['interval_coverage'])} |",
        "",
        "MAPE by days ahead: " + ", ".join(f"{v:.1f}%" for v in m["mape_by_horizon_day"]) + ".",
        "",
        f"![Example forecast and MAPE by horizon]({meta['plot_file']})",
        "",
        "## Interval",
        "",
        "Per horizon day, the 10th and 90th percentiles of the scaled errors on calibration series are "
        "added to the "
        "scaled forecast (`services.ai.explain.trend_forecast`); they are stored in metadata.json.",
        "",
    ]
    lines += footer(
        meta,
        [
            "Synthetic series; real balances have irregular incomes, transfers and one-off payments.",
            f"Needs at least {f['input_days']} daily values and uses only the last {f['input_days']}; "
            f"paydays are seen "
            "about twice, so their timing is only partly learned.",
            "Trained on noisy series, the model damps trends: a clean straight line is extrapolated only "
            "partly.",
            "Daily spending is noisy: its MAPE is high for any model; the balance forecast is far more "
            "precise.",
            "Intervals are empirical and global, not per-series; coverage on an unusual series can be lower.",
            "Not trained on income series (a few paydays a month, zeros between them); PredictTrend serves "
            "INCOME with this model, but no metric here measures how well it forecasts them.",
        ],
    )
    return "\n".join(lines)


def recommendations_card(meta: dict[str, Any]) -> str:
    m, r = meta["metrics"], meta["recommendations"]
    lines = header(
        meta,
        (
            "Personal finance recommendations from a user's spending profile: budgets for categories where "
            "the user "
            "spends far more than similar users, rising spending, subscriptions, fees, savings and cash. "
            "Every "
            "recommendation explains itself with the user's figures and the peer benchmark, and the output "
            "is "
            "deterministic."
        ),
    )
    lines += [
        "## Data",
        "",
        f"{meta['data']['source']}: {m['profiles']:,} profiles.",
        "",
    ]
    lines += [
        "## Features",
        "",
        "Segment input (`services.ai.features.segment_features`): the share of each of the 17 categories "
        "in the "
        "user's spending over the last 90 days and the spending level (log of monthly euros / 10).",
        "",
        "## Model and rules",
        "",
        "K-means groups profiles into segments (the ONNX model returns the segment `label` and the distances "
        "`scores`); metadata.json stores each segment's median and 90th percentile monthly spending per "
        "category. "
        "`services.ai.explain.recommend` then applies these rules:",
        "",
        f"- CATEGORY_BUDGET: a discretionary category ({', '.join(r['rules']['discretionary'])}) above the "
        f"segment's "
        f"90th percentile and above {r['rules']['overspend_percent']} % of its median, by at least "
        f"{r['rules']['min_excess_minor'] // 100} EUR a month.",
        "- RISING_SPEND (the category that rose most): the last 30 days at least "
        f"{r['rules']['rising_percent']} % of the earlier "
        f"monthly average (itself at least {r['rules']['min_earlier_minor'] // 100} EUR) and "
        f"{r['rules']['min_rise_minor'] // 100} EUR more.",
        f"- REVIEW_SUBSCRIPTIONS: {r['rules']['min_subscriptions']} or more monthly recurring subscription "
        f"charges.",
        "- AVOID_FEES: any account fees.",
        f"- AUTOMATE_SAVINGS / SPENDING_ABOVE_INCOME: savings below {r['rules']['savings_target_percent']} "
        f"% of income.",
        f"- USE_CARD_OVER_CASH: cash at least {r['rules']['cash_share_percent']} % of spending.",
        "",
        "Ranked by estimated monthly value (saving or amount concerned), then code: at most 5.",
        "",
        "| Segment | Size | Label | Median monthly spending |",
        "|---|---|---|---|",
    ]
    for s in r["segments"]:
        lines.append(
            f"| {s['id']} | {s['size']:,} | {s['label']} | {s['monthly_total_median_minor'] / 100:,.2f} EUR |"
        )
    lines += [
        "",
        "## Metrics",
        "",
        "| Metric | Value |",
        "|---|---|",
        f"| Silhouette (sample) | {m['silhouette']:.4f} |",
        f"| Users with at least one recommendation | {pct(m['coverage'])} |",
        f"| Recommendations per user | {m['mean_recommendations_per_user']} |",
        f"| Mean value per user per month | {m['mean_value_per_user_minor'] / 100:,.2f} EUR |",
        f"| ONNX / scikit-learn segment agreement | {pct(m['onnx_label_agreement'])} |",
        "",
        "Recommendations by code: "
        + ", ".join(f"{k} {v:,}" for k, v in m["recommendations_by_code"].items())
        + ".",
        "",
        f"![Segment centres]({meta['plot_file']})",
        "",
    ]
    lines += footer(
        meta,
        [
            "There is no outcome data (did the user act, did it help), so the rules are not evaluated on "
            "uplift; the "
            "metrics describe coverage only.",
            "Peers are synthetic customers; benchmarks must be recomputed on real users (with consent) "
            "before use.",
            "Savings estimates are arithmetic on past spending, not advice; no investment or credit "
            "products are "
            "recommended.",
        ],
    )
    return "\n".join(lines)
