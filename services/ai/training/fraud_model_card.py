"""The fraud model's card (markdown), rendered from its complete metadata.json: metrics, the decline
rates of held-out ordinary behaviour beside the recall per fraud pattern, cold start, platform payments."""

from __future__ import annotations

from typing import Any

from services.ai.training.card_sections import feature_table, footer, header, pct, span


def fraud_card(meta: dict[str, Any]) -> str:
    m, t, d = meta["metrics"], meta["thresholds"], meta["data"]
    split = d["split_days"]
    lines = header(
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
        f"{d['frauds']:,} frauds ({pct(d['fraud_rate'])}).",
        "Legitimate behaviour: archetypes (commuter, family, student, traveller, online shopper, gamer, high "
        "earner) with their own categories and amounts, favourite merchants, daily rhythm (12 % night owls), "
        "monthly subscriptions and utilities, trips abroad, device changes, large purchases and shopping "
        "sprees.",
        "Fraud, at most one episode per card, often at fraud-prone merchants: "
        + ", ".join(f"{k.replace('_', ' ')} ({pct(v)})" for k, v in d["fraud_patterns"].items())
        + ". Mimicry fraud looks like the customer's own spending and is mostly undetectable by design.",
        *_onboarding_text(d),
        *_platform_text(d),
        "",
        "Time-based split (days): "
        f"burn-in {span(split['burn_in'])}, train {span(split['train'])} ({d['rows']['train']:,} rows, "
        f"{d['train_frauds']:,} frauds), gap {span(split['gap'])} (the label delay), validation "
        f"{span(split['validation'])} ({d['rows']['validation']:,} rows; thresholds are chosen here), "
        f"test {span(split['test'])} ({d['rows']['test']:,} rows).",
        "",
    ]
    lines += feature_table(meta)
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
            f"| {te['precision']:.3f} / {te['recall']:.3f} | {pct(te['alert_rate'])} |"
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
        row = f"| {name.replace('_', ' ')} | {r['transactions']:,} | {pct(r['recall_at_review'])} |"
        lines.append(row + (f" {pct(r['recall_at_decline'])} |" if with_decline else ""))
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
    lines += footer(
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
        + ", ".join(f"{k.replace('_', ' ')} ({pct(v)})" for k, v in patterns.items())
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
            f"| {label} | {r['transactions']:,} | {pct(r['approve'])} | {pct(r['review'])} | "
            f"{pct(r['decline'])} |"
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
            f"| {key.replace('_', ' ')} | {row['transactions']:,} | {pct(row['approve'])} | "
            f"{pct(row['review'])} | {pct(row['decline'])} |"
        )
    return lines
