"""Model cards (markdown), rendered from a model's complete metadata.json."""

from __future__ import annotations

from typing import Any

REPRODUCE = "python -m services.ai.training --seed {seed} --out services/ai/models"


def _header(meta: dict[str, Any], intended_use: str) -> list[str]:
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


def _features(meta: dict[str, Any]) -> list[str]:
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


def _footer(meta: dict[str, Any], limitations: list[str]) -> list[str]:
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


def _span(interval: list[int]) -> str:
    return f"[{interval[0]}, {interval[1]})"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def fraud_card(meta: dict[str, Any]) -> str:
    m, t, d = meta["metrics"], meta["thresholds"], meta["data"]
    split = d["split_days"]
    lines = _header(
        meta,
        (
            "Score payments before money moves (the payment service calls the AI service's fraud check): "
            "card purchases, and from fraud 1.2.0 on the platform's own payments too (wallet top-ups, "
            "transfers to other customers, payouts). The probability maps to approve / review / decline "
            "with the thresholds below; the top reasons come from occlusion against a legitimate baseline. "
            "A decision aid for a fraud team, not a replacement for one."
            if "platform" in meta["data"]
            else "Score card-not-present and card-present transactions before money moves (the payment "
            "service calls "
            "the AI service's fraud check). The probability maps to approve / review / decline with the "
            "thresholds "
            "below; the top reasons come from occlusion against a legitimate baseline. A decision aid for a "
            "fraud team, not a replacement for one."
        ),
    )
    lines += [
        "## Data",
        "",
        f"Synthetic (`{d['generator']}`): {d['customers']:,} customers, {d['merchants']:,} merchants, "
        f"{d['days']} days, {d['transactions']:,} transactions in {d['currency']} cents, "
        f"{d['frauds']:,} frauds ({_pct(d['fraud_rate'])}).",
        "Legitimate behaviour: archetypes (commuter, family, student, traveller, online shopper, gamer, high "
        "earner) with their own categories and amounts, favourite merchants, daily rhythm (12 % night owls), "
        "monthly subscriptions and utilities, trips abroad, device changes, large purchases and shopping "
        "sprees.",
        "Fraud, at most one episode per card, often at fraud-prone merchants: "
        + ", ".join(f"{k.replace('_', ' ')} ({_pct(v)})" for k, v in d["fraud_patterns"].items())
        + ". Mimicry fraud looks like the customer's own spending and is mostly undetectable by design.",
        *_onboarding_text(d),
        *_platform_text(d),
        "",
        "Time-based split (days): "
        f"burn-in {_span(split['burn_in'])}, train {_span(split['train'])} ({d['rows']['train']:,} rows, "
        f"{d['train_frauds']:,} frauds), gap {_span(split['gap'])} (the label delay), validation "
        f"{_span(split['validation'])} ({d['rows']['validation']:,} rows; thresholds are chosen here), "
        f"test {_span(split['test'])} ({d['rows']['test']:,} rows).",
        "",
    ]
    lines += _features(meta)
    lines += [
        f"Merchant and category risk only use fraud labels at least {meta['risk']['label_delay_days']} "
        f"days old "
        f"(window of {meta['risk']['window_days']} days), as a bank would only know them after chargebacks.",
        "",
        "## Metrics (test days, computed on the ONNX model's output)",
        "",
        "| Metric | Value |",
        "|---|---|",
        f"| ROC-AUC | {m['roc_auc']:.4f} |",
        f"| Average precision (PR-AUC) | {m['average_precision']:.4f} |",
        f"| Card precision at top 100 alerts per day (CP@100) | {m['card_precision_at_100']:.4f} |",
        f"| CP@100 of a perfect model (fraud cards per day / 100) | "
        f"{m['card_precision_at_100_oracle']:.4f} |",
        f"| Fraud cards per test day | {m['fraud_cards_per_day']} |",
        f"| Test transactions / frauds | {m['test_transactions']:,} / {m['test_frauds']:,} |",
        f"| Validation ROC-AUC / AP | {m['validation_roc_auc']:.4f} / "
        f"{m['validation_average_precision']:.4f} |",
        "",
        "CP@100 is bounded by the number of compromised cards per day; at this synthetic scale a perfect "
        "model "
        "scores the oracle value above.",
        "",
        "## Decision thresholds",
        "",
        f"Rule: {t['rule']}. Chosen on the {t['chosen_on']}.",
        "",
        "| Decision | Threshold | Target precision | Validation precision / recall | Test precision / "
        "recall | Test alert rate |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("review", "decline"):
        v, te = m[name]["validation"], m[name]["test"]
        lines.append(
            f"| {name} | {t[name]:.4f} | {t[f'{name}_target_precision']} | {v['precision']:.3f} / "
            f"{v['recall']:.3f} "
            f"| {te['precision']:.3f} / {te['recall']:.3f} | {_pct(te['alert_rate'])} |"
        )
    with_decline = all("recall_at_decline" in r for r in m["recall_by_pattern"].values())
    lines += [
        "",
        "Recall by fraud pattern (test days): the share of fraudulent transactions reviewed or declined, "
        "and the share declined:"
        if with_decline
        else "Recall at the review threshold by fraud pattern (test days):",
        "",
        "| Pattern | Transactions | Recall |" + (" Declined |" if with_decline else ""),
        "|---|---|---|" + ("---|" if with_decline else ""),
    ]
    for name, r in m["recall_by_pattern"].items():
        row = f"| {name.replace('_', ' ')} | {r['transactions']:,} | {_pct(r['recall_at_review'])} |"
        lines.append(row + (f" {_pct(r['recall_at_decline'])} |" if with_decline else ""))
    lines += _cold_start_table(m.get("cold_start"))
    lines += _ordinary_tables(m.get("ordinary"), m.get("test_platform_scenarios"))
    lines += [
        "",
        f"![Precision-recall and ROC curves]({meta['plot_file']})",
        "",
        "## Explanations",
        "",
        f"{meta['explanation']['description']}. Baseline: {meta['explanation']['baseline_source']} "
        "(stored in metadata.json). Computed at serving time with one ONNX batch of 1 + "
        f"{len(meta['features'])} rows (`services.ai.explain.fraud_reasons`).",
        "",
    ]
    lines += _footer(
        meta,
        [
            "Trained on synthetic data only: the patterns, rates and amounts are this generator's, not a "
            "bank's. "
            "Retrain and re-choose thresholds on real labelled data before relying on it.",
            *(
                [
                    "Currencies: the model reads EUR cents. Serving converts every other currency the "
                    "platform accepts (EUR, USD, GBP and the rest of `services.runtime.money`) with the AI "
                    "service's dated rate table (`services/ai/fx.py`: decimal arithmetic, each currency's "
                    "minor-unit exponent, the rate and its date recorded with the assessment). Conversion "
                    "was chosen over currency-neutral features because the absolute size of a first "
                    "payment is itself a signal. The table is a dated snapshot; percent-level rate errors "
                    "do not change decisions, a stale table by tens of percent would.",
                    "Time of day: the data use each customer's fixed home offset; serving uses the "
                    "request's IANA time zone (daylight saving time included), UTC when the caller sends "
                    "none. The day of the week is not a feature (feature set 3).",
                    "Decline only when confident: the decline threshold needs 95 % precision on "
                    "validation; the band between review and decline goes to a person. A step-up (3-D "
                    "Secure) would suit card top-ups in that band, but the sandbox connector has no "
                    "challenge flow, so they go to review.",
                    "The platform's payments (top-ups, transfers, payouts) and their fraud patterns are "
                    "this generator's assumptions (`services.ai.training.platform`), not measured "
                    "behaviour. A fraudulent account's first top-up of an ordinary size looks like a "
                    "good customer's and is not detectable from its features: such first payments are "
                    "reviewed rather than declined.",
                ]
                if "platform" in d
                else [
                    "Amounts are EUR cents; other currencies must be converted before scoring.",
                    "Time features use the customer's home UTC offset without daylight saving time.",
                ]
            ),
            "Merchant risk needs label-delayed counts from a labelled feed; without one (all zero counts) "
            "the "
            "feature falls back to the category prior, and the model was trained with that smoothing.",
            "Occlusion reasons treat features one at a time; correlated features (amount ratios) share "
            "credit.",
            "No fairness analysis is possible here: the data has no protected attributes.",
            "Cold start: a customer's history is what the fraud service has seen (90 days). A first "
            "transaction has no history: the novelty flags are then 0 and `has_history` / "
            "`history_span_log` say so, and the onboarding cohort teaches the model that ordinary first "
            "payments are normal. A first transaction of a fraudulent new account that looks ordinary is "
            "not detectable from its features (see the cold-start table); bursts and large risky "
            "purchases that follow are. The synthetic onboarding behaviour (first payment 5 to 300 euros, "
            "up to three more within minutes) is this generator's assumption, not measured behaviour.",
            "Missing device or country repeats the customer's last known one (serving); a first "
            "transaction without them, followed by one with them, counts the device or country as new.",
        ],
    )
    return "\n".join(lines)


def _onboarding_text(d: dict[str, Any]) -> list[str]:
    cohorts = d.get("cohorts")
    if not cohorts:
        return []
    patterns = d.get("new_account_fraud_patterns") or {}
    return [
        "",
        f"Cohorts: {cohorts.get('established', 0):,} established customers (active from day 0), "
        f"{cohorts.get('new_customer', 0):,} legitimate customers who open their account during the period "
        "(onboarding: a first top-up or payment of an ordinary size, often one to three more within minutes "
        "on the same device and country, then everyday spending) and "
        f"{cohorts.get('fraud_account', 0):,} fraudulent accounts opened during the period: "
        + ", ".join(f"{k.replace('_', ' ')} ({_pct(v)})" for k, v in patterns.items())
        + " (card-testing bursts of small attempts at different merchants, or quick large purchases of "
        "risky goods).",
    ]


def _platform_text(d: dict[str, Any]) -> list[str]:
    platform = d.get("platform")
    if not platform:
        return []
    kinds = platform["transactions_by_kind"]
    scenarios = platform["legitimate_by_scenario"]
    frauds = platform["fraud_patterns"]
    return [
        "",
        f"The platform's own payments (`{platform['generator']}`), for the same customers in their home "
        "time zone, on every day of the week and at every hour: "
        + ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in kinds.items())
        + " transactions. Ordinary behaviour: "
        + ", ".join(f"{k.replace('_', ' ')} ({n:,})" for k, n in scenarios.items())
        + " (wallet top-ups from one or two cards, sometimes repeated within seconds; salary-day top-ups "
        "of 20 to 70 % of the monthly income, often at night; transfers to a growing circle of friends, "
        "small ones included; two to seven friends paid the same amount 0 to 40 seconds apart; payouts "
        "to the customer's own bank account; a new customer's first payment at any hour before their "
        "first card purchase, mostly a first top-up of 1 to 1,500 euros, else a transfer of 1 to 20 euros). "
        "Fraud (on established customers' wallets, and on more fraudulent accounts, counted with the "
        "fraudulent accounts above): "
        + ", ".join(f"{k.replace('_', ' ')} ({n:,} transactions)" for k, n in frauds.items())
        + " (several stolen cards loaded within minutes and sent on; a taken-over account sending large "
        "transfers or a payout to new counterparties from a new device, often abroad or at night; a large "
        "first top-up sent on within minutes).",
    ]


def _ordinary_tables(ordinary: dict[str, Any] | None, in_test: dict[str, Any] | None) -> list[str]:
    if not ordinary:
        return []
    held = ordinary["held_out_customers"]
    grid = ordinary["scenario_grid"]

    def row(label: str, r: dict[str, Any]) -> str:
        return (
            f"| {label} | {r['transactions']:,} | {_pct(r['approve'])} | {_pct(r['review'])} | "
            f"{_pct(r['decline'])} |"
        )

    header = ["| Rows | Transactions | Approve | Review | Decline |", "|---|---|---|---|---|"]
    lines = [
        "",
        "## Ordinary behaviour (held out)",
        "",
        f"How often a good customer is stopped. **Held-out customers**: {held['customers']:,} legitimate "
        f"customers over {held['days']} days (all of them joining during the period, all using the "
        "wallet), drawn with their own random stream, never trained on or used for thresholds, scored as "
        "serving scores them (no merchant labels, the category counts stored with the model):",
        "",
        *header,
        row("all transactions", held["all"]),
        row("card purchases", held["card_purchases"]),
        row("platform payments", held["platform_payments"]),
    ]
    lines += [row(k.replace("_", " "), v) for k, v in held["by_scenario"].items()]
    lines += [row("platform, weekday", held["weekday"]), row("platform, weekend", held["weekend"])]
    lines += [row(f"platform, {k} local time", v) for k, v in held["by_local_hour"].items()]
    lines += [
        "",
        "**Scenario grid**: hand-built through the serving feature function, "
        f"{grid['instances_per_scenario']} times each (every hour of every day of the week, in UTC-5, "
        "UTC and UTC+1):",
        "",
        *header,
        row("all", grid["all"]),
    ]
    lines += [row(k.replace("_", " "), v) for k, v in grid["by_scenario"].items()]
    if in_test:
        lines += [
            "",
            "The same scenarios among the legitimate platform payments of the test days (training "
            "customers):",
            "",
            *header,
        ]
        lines += [row(k.replace("_", " "), v) for k, v in in_test.items() if v["transactions"]]
    return lines


def _cold_start_table(cold: dict[str, Any] | None) -> list[str]:
    if not cold:
        return []
    lines = [
        "",
        "Cold start (test days): decisions on new customers' transactions without history (first) and "
        "with one to four earlier transactions (early):",
        "",
        "| Rows | Transactions | Approve | Review | Decline |",
        "|---|---|---|---|---|",
    ]
    for key, row in cold.items():
        if not row.get("transactions"):
            continue
        lines.append(
            f"| {key.replace('_', ' ')} | {row['transactions']:,} | {_pct(row['approve'])} | "
            f"{_pct(row['review'])} | {_pct(row['decline'])} |"
        )
    return lines


def credit_card(meta: dict[str, Any]) -> str:
    m, s, d = meta["metrics"], meta["scorecard"], meta["data"]
    lines = _header(
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
        f"{_pct(d['default_rate'])}; "
        f"{d['split']} ({d['rows']['train']:,} / {d['rows']['test']:,}). A latent creditworthiness drives "
        f"income, "
        "debt, history, utilization, delinquencies, inquiries and the default; the default log-odds are "
        "monotone "
        "in every input, with an extra penalty above 80 % utilization.",
        "",
    ]
    lines += _features(meta)
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
        f"| Test default rate | {_pct(m['test_default_rate'])} |",
        f"| Score percentiles (1/10/25/50/75/90/99) | "
        f"{' / '.join(str(v) for v in m['score_percentiles'].values())} |",
        "",
        "| Band | Scores | Share of applicants | Default rate |",
        "|---|---|---|---|",
    ]
    for b in m["score_bands"]:
        lines.append(
            f"| {b['band']} | {b['range'][0]}-{b['range'][1]} | {_pct(b['share'])} | "
            f"{_pct(b['default_rate'])} |"
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
    lines += _footer(
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
    lines = _header(
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
        f"| {int(100 * m['interval_level'])} % interval coverage | {_pct(m['interval_coverage'])} |",
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
    lines += _footer(
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
    lines = _header(
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
        f"| Users with at least one recommendation | {_pct(m['coverage'])} |",
        f"| Recommendations per user | {m['mean_recommendations_per_user']} |",
        f"| Mean value per user per month | {m['mean_value_per_user_minor'] / 100:,.2f} EUR |",
        f"| ONNX / scikit-learn segment agreement | {_pct(m['onnx_label_agreement'])} |",
        "",
        "Recommendations by code: "
        + ", ".join(f"{k} {v:,}" for k, v in m["recommendations_by_code"].items())
        + ".",
        "",
        f"![Segment centres]({meta['plot_file']})",
        "",
    ]
    lines += _footer(
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
