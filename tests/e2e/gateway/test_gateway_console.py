"""The staff console at /console/, served by the real Envoy in front of the real user, ledger, AI,
payment, credit, document and analytics services, driven by a real headless Chromium
(tests/support/browser.py): a support agent signs in with the keyboard, approves a customer's
payment held for review, and the customer sees it SUCCEEDED over REST; an underwriter approves and
rejects referred loan applications, and the applicants see APPROVED and REJECTED; a compliance
officer compares a passport's page with its MRZ fields and verifies it, and the customer sees
VERIFIED; an admin reads the books (trial balance, chain, ledger explorer, charts) and finds a
customer, reads the profile, changes roles and deactivates the account; a customer sees no staff
queue, a support agent no books and no administration, staff cannot decide their own payment
(SELF_DECISION), and the services refuse the calls the page does not offer. Each main page is saved
as a screenshot (the path is printed).

The payment lands in review the way the payment tests get one from the real fraud model: a large
first top-up (500.00). If a retrained model stops holding it, the assertion on REQUIRES_REVIEW
says so before the browser starts. The passport is OCRed by the document service's own worker
(one image per run).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.devtools.embedded_s3 import EmbeddedS3
from services.gateway.settings import CONSOLE_DIR, CONSOLE_PATH, RateLimit
from tests.e2e.gateway.conftest import PASSWORD, Gateway, assert_error, money, start_gateway, stop, upstream
from tests.integration.document.document_support import SPECIMEN_MRZ, passport_png
from tests.support.browser import CHROMIUM, Browser, Page
from tests.support.harness import TokenFactory

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger service is not in this checkout")
ai_spec = pytest.importorskip("services.ai.spec", reason="the AI service is not in this checkout")
credit_spec = pytest.importorskip("services.credit.spec", reason="the credit service is not in this checkout")
payment_spec = pytest.importorskip(
    "services.payment.spec", reason="the payment service is not in this checkout"
)
analytics_spec = pytest.importorskip(
    "services.analytics.spec", reason="the analytics service is not in this checkout"
)
document_spec = pytest.importorskip(
    "services.document.spec", reason="the document service is not in this checkout"
)

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (`make test` installs it)"
)
REVIEWED_TOP_UP = 50000  # a large first top-up: the fraud model asks for a review
# Waiting for the document service's OCR worker (the first image also loads its models); polling
# ends at the result, this only bounds a worker that never finishes.
EXTRACTION_DEADLINE_SECONDS = 180.0
# Waiting for analytics to read the ledger's feed up to a new entry (a bound, not a measurement).
FEED_DEADLINE_SECONDS = 60.0


@pytest.fixture(scope="module")
def gateway(s3: EmbeddedS3, services, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    specs = (
        user_spec.SPEC,
        ledger_spec.SPEC,
        ai_spec.SPEC,
        payment_spec.SPEC,
        credit_spec.SPEC,
        document_spec.SPEC,
        analytics_spec.SPEC,
    )
    upstreams = {spec.name: upstream(services.start(spec)) for spec in specs}
    # Many sign-ins from one address: the per-client credential budget is raised for this module.
    yield from stop(
        start_gateway(
            module_tmp, upstreams, keys_dir, console_dir=CONSOLE_DIR, rate_limit_auth=RateLimit(100, 60)
        )
    )


@pytest.fixture(scope="module")
def screenshots(module_tmp: Path) -> Path:
    folder = module_tmp / "screenshots"
    folder.mkdir(exist_ok=True)
    print(f"\nconsole screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser(module_tmp: Path) -> Iterator[Browser]:
    chrome = Browser(module_tmp / "chromium-profile")
    yield chrome
    chrome.close()


def person(gateway: Gateway, tokens: TokenFactory, *roles: str) -> dict[str, str]:
    """A registered user (granted ``roles`` by an admin): name, id and a fresh access token."""
    name = "u" + uuid.uuid4().hex[:10]
    registered = gateway.post(
        "/api/v1/auth/register", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    )
    assert registered.status_code == 200, registered.text
    user_id = registered.json()["user"]["id"]
    admin = tokens.make("usr_01CONSOLEADMIN0000000000000", ["admin"])
    for role in roles:
        granted = gateway.post(f"/api/v1/users/{user_id}/roles", token=admin, json={"role": role})
        assert granted.status_code == 200, granted.text
    login = gateway.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"name": name, "id": user_id, "token": login.json()["tokens"]["access_token"]}


def held_top_up(gateway: Gateway, who: dict[str, str]) -> dict[str, Any]:
    """A card and a first top-up large enough for the fraud model to hold it for review."""
    card = gateway.post(
        "/api/v1/payments/methods",
        token=who["token"],
        json={
            "user_id": who["id"],
            "request_id": uuid.uuid4().hex,
            "card": {
                "number": "4242 4242 4242 4242",
                "exp_month": 12,
                "exp_year": time.gmtime().tm_year + 2,
                "cvc": "123",
            },
        },
    )
    assert card.status_code == 200, card.text
    reply = gateway.post(
        "/api/v1/payments/initiate",
        token=who["token"],
        json={
            "user_id": who["id"],
            "request_id": uuid.uuid4().hex,
            "kind": "PAYMENT_KIND_TOP_UP",
            "amount": money(REVIEWED_TOP_UP),
            "payment_method_id": card.json()["payment_method"]["id"],
        },
    )
    assert reply.status_code == 200, reply.text
    payment: dict[str, Any] = reply.json()["payment"]
    assert payment["status"] == "PAYMENT_STATUS_REQUIRES_REVIEW", (
        f"the fraud model no longer holds a first top-up of {REVIEWED_TOP_UP} for review: {payment}"
    )
    return payment


def sign_in(page: Page, gateway: Gateway, who: dict[str, str]) -> None:
    """Sign in with the keyboard only: the login field has focus, Tab reaches the password, Enter submits."""
    page.goto(gateway.url(f"{CONSOLE_PATH}/"))
    page.wait_for("document.body.dataset.state === 'signed-out'")
    page.click("#login")
    assert page.focused() == "login"
    page.type(who["name"])
    page.press("Tab")
    assert page.focused() == "password", "Tab from the login field reaches the password"
    page.type(PASSWORD)
    page.press("Enter")
    page.wait_for("document.body.dataset.state === 'signed-in'")
    assert who["name"] in page.text("#who-name")


def row(payment_id: str) -> str:
    return f'tr[data-payment-id="{payment_id}"]'


def test_the_console_and_its_files_come_from_the_gateway(gateway: Gateway) -> None:
    page = gateway.get(f"{CONSOLE_PATH}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text == (CONSOLE_DIR / "index.html").read_text()
    # Nothing from another origin and no inline script.
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "unsafe" not in policy
    for name, kind in {"console.js": "application/javascript", "console.css": "text/css"}.items():
        asset = gateway.get(f"{CONSOLE_PATH}/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind), name
        assert asset.content == (CONSOLE_DIR / name).read_bytes()
    bare = gateway.get(CONSOLE_PATH, allow_redirects=False)
    assert bare.status_code == 301 and bare.headers["location"].endswith(f"{CONSOLE_PATH}/")
    assert_error(gateway.get(f"{CONSOLE_PATH}/nothing.js"), 404)


@needs_chromium
def test_support_approves_a_payment_in_review_and_the_customer_sees_it_succeed(
    gateway: Gateway, tokens: TokenFactory, browser: Browser, screenshots: Path
) -> None:
    customer = person(gateway, tokens)
    agent = person(gateway, tokens, "ROLE_SUPPORT")
    held = held_top_up(gateway, customer)

    page = browser.page()
    page.goto(gateway.url(f"{CONSOLE_PATH}/"))
    page.wait_for("document.body.dataset.state === 'signed-out'")
    page.screenshot(screenshots / "01-sign-in.png")
    sign_in(page, gateway, agent)
    assert "support" in page.text("#who-roles")
    page.wait_for(f"!!document.querySelector('{row(held['id'])}')")
    shown = page.text(row(held["id"]))
    assert customer["id"] in shown and "500.00 EUR" in shown
    assert "fraud check asked for a review" in shown and "%" in shown  # the score and the hold reason
    # The customer's recent activity, opened with the keyboard (Enter on the focused button).
    page.evaluate(f"document.querySelector('{row(held['id'])} button[data-action=activity]').focus()")
    page.press("Enter")
    page.wait_for(f"!!document.querySelector('#activity-{held['id']} li[data-payment-id=\"{held['id']}\"]')")
    assert "500.00 EUR requires review" in page.text(f"#activity-{held['id']}")
    page.screenshot(screenshots / "02-payments-in-review.png")

    # Without a note nothing is sent; with one, the approval goes out and the row leaves the queue.
    page.click(f'{row(held["id"])} button[data-action="approve"]')
    assert "Write a note" in page.text("#error")
    assert page.focused() == f"note-{held['id']}"
    page.type("verified with the customer by phone")
    page.click(f'{row(held["id"])} button[data-action="approve"]')
    page.wait_for(f"document.getElementById('status').innerText.includes('{held['id']} approved')")
    page.wait_for(f"!document.querySelector('{row(held['id'])}')")
    page.screenshot(screenshots / "03-payment-approved.png")

    seen = gateway.get(f"/api/v1/payments/{held['id']}", token=customer["token"])
    assert seen.status_code == 200, seen.text
    payment = seen.json()["payment"]
    assert payment["status"] == "PAYMENT_STATUS_SUCCEEDED", payment
    assert any(h["reason"] == "verified with the customer by phone" for h in payment["status_history"])

    # Before the access token expires (900 s) the page refreshes it with the refresh token, and
    # goes on working with the new one.
    page.advance_clock(900)
    page.wait_for("document.body.dataset.refreshed === '1'")
    assert page.evaluate("document.body.dataset.state") == "signed-in"
    page.evaluate("delete document.body.dataset.paymentsLoaded")
    page.click("#payments-reload")
    assert page.wait_for("document.body.dataset.paymentsLoaded") != "error"
    assert page.text("#error") == ""

    # Sign out: back to the sign-in form, and the page holds no token any more.
    page.click("#sign-out")
    page.wait_for("document.body.dataset.state === 'signed-out'")
    assert page.visible("#sign-in") and not page.visible("#payments-review")


@needs_chromium
def test_a_customer_sees_no_staff_queue_and_the_services_refuse_one(
    gateway: Gateway, tokens: TokenFactory, browser: Browser, screenshots: Path
) -> None:
    customer = person(gateway, tokens)
    page = browser.page()
    sign_in(page, gateway, customer)
    assert page.visible("#nothing") and not page.visible("#nav")
    assert not page.visible("#payments-review") and not page.visible("#loans-review")
    page.screenshot(screenshots / "04-customer-no-queue.png")

    # What the page does not offer, the services refuse all the same.
    queue = assert_error(
        gateway.get("/api/v1/payments/queues/review", token=customer["token"]), 403, grpc_code=7
    )
    assert "requires one of the roles" in queue["message"]
    held = held_top_up(gateway, customer)
    decided = gateway.request(
        "PUT",
        f"/api/v1/payments/{held['id']}/status",
        token=customer["token"],
        json={"status": "PAYMENT_STATUS_PROCESSING", "reason": "mine", "request_id": uuid.uuid4().hex},
    )
    assert_error(decided, 403, grpc_code=7)
    still = gateway.get(f"/api/v1/payments/{held['id']}", token=customer["token"]).json()["payment"]
    assert still["status"] == "PAYMENT_STATUS_REQUIRES_REVIEW"


def test_the_review_queue_is_oldest_first_and_pages(gateway: Gateway, tokens: TokenFactory) -> None:
    agent = tokens.make("usr_01CONSOLESUPPORT00000000000", ["support"])
    first, second = (held_top_up(gateway, person(gateway, tokens)) for _ in range(2))
    ids: list[str] = []
    token = ""
    while True:
        reply = gateway.get(f"/api/v1/payments/queues/review?page_size=1&page_token={token}", token=agent)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert len(body["payments"]) <= 1
        for p in body["payments"]:
            assert p["status"] == "PAYMENT_STATUS_REQUIRES_REVIEW" and p["status_history"]
            ids.append(p["id"])
        token = body.get("next_page_token", "")
        if not token:
            break
    assert ids == sorted(ids) and ids.index(first["id"]) < ids.index(second["id"])
    assert_error(gateway.get("/api/v1/payments/queues/review?page_token=nope", token=agent), 400, grpc_code=3)
    assert_error(gateway.get("/api/v1/payments/queues/review?page_size=-1", token=agent), 400, grpc_code=3)


@needs_chromium
def test_a_decision_the_service_refuses_is_shown_with_its_reason(
    gateway: Gateway, tokens: TokenFactory, browser: Browser, screenshots: Path
) -> None:
    # Two agents have the same payment open; the second decision comes too late.
    held = held_top_up(gateway, person(gateway, tokens))
    agent = person(gateway, tokens, "ROLE_SUPPORT")
    page = browser.page()
    sign_in(page, gateway, agent)
    page.wait_for(f"!!document.querySelector('{row(held['id'])}')")
    other = tokens.make("usr_01CONSOLEOTHERAGENT00000000", ["support"])
    first = gateway.request(
        "PUT",
        f"/api/v1/payments/{held['id']}/status",
        token=other,
        json={
            "status": "PAYMENT_STATUS_FAILED",
            "reason": "card reported stolen",
            "request_id": uuid.uuid4().hex,
        },
    )
    assert first.status_code == 200, first.text
    page.click(f"#note-{held['id']}")
    page.type("looks fine to me")
    page.click(f'{row(held["id"])} button[data-action="approve"]')
    page.wait_for("document.getElementById('error').innerText.includes('ILLEGAL_STATUS_TRANSITION')")
    assert f"{held['id']} was not approved" in page.text("#error")
    page.screenshot(screenshots / "05-decision-refused.png")
    after = gateway.get(f"/api/v1/payments/{held['id']}", token=other).json()["payment"]
    assert after["status"] == "PAYMENT_STATUS_FAILED"


def referred_application(gateway: Gateway, who: dict[str, str]) -> dict[str, Any]:
    """An application automatic underwriting refers (two months in the job: a rule, not a model)."""
    reply = gateway.post(
        "/api/v1/credit/applications",
        token=who["token"],
        json={
            "user_id": who["id"],
            "request_id": uuid.uuid4().hex,
            "amount": money(600_000),
            "term_months": 12,
            "purpose": "LOAN_PURPOSE_HOME_IMPROVEMENT",
            "financials": {
                "monthly_income": money(500_000),
                "monthly_debt": money(50_000),
                "employment_status": "EMPLOYMENT_STATUS_EMPLOYED",
                "employment_months": 2,
                "total_debt": money(500_000),
                "credit_history_months": 180,
                "utilization_bps": 800,
                "open_accounts": 3,
            },
        },
    )
    assert reply.status_code == 200, reply.text
    application: dict[str, Any] = reply.json()["loan_application"]
    assert application["status"] == "LOAN_APPLICATION_STATUS_UNDER_REVIEW", application
    return application


@needs_chromium
def test_an_underwriter_decides_referred_loans_and_the_applicants_see_the_result(
    gateway: Gateway, tokens: TokenFactory, browser: Browser, screenshots: Path
) -> None:
    applicants = [person(gateway, tokens) for _ in range(2)]
    approved, rejected = (referred_application(gateway, who) for who in applicants)
    underwriter = person(gateway, tokens, "ROLE_UNDERWRITER")
    page = browser.page()
    sign_in(page, gateway, underwriter)
    # Only the queue the role allows: no payments in review for an underwriter.
    assert page.visible("#loans-review") and not page.visible("#payments-review")
    assert page.text("#nav-list").strip() == "Loans to underwrite"
    approved_id, rejected_id = approved["id"], rejected["id"]
    selector = f'tr[data-application-id="{approved_id}"]'
    page.wait_for(f"!!document.querySelector('{selector}')")
    shown = page.text(selector)
    assert "6,000.00 EUR" in shown and "SHORT_EMPLOYMENT_HISTORY" in shown
    assert str(approved["credit_score"]) in shown
    page.screenshot(screenshots / "06-loans-to-underwrite.png")

    page.click(f"#note-{approved['id']}")
    page.type("payslips verified")
    page.click(f'{selector} button[data-action="approve"]')
    page.wait_for(f"document.getElementById('status').innerText.includes('{approved['id']} approved')")
    other = f'tr[data-application-id="{rejected_id}"]'
    page.wait_for(f"!document.querySelector('{selector}') && !!document.querySelector('{other}')")
    page.click(f"#note-{rejected['id']}")
    page.type("employer could not be reached")
    page.click(f'{other} button[data-action="reject"]')
    page.wait_for(f"document.getElementById('status').innerText.includes('{rejected['id']} rejected')")
    page.screenshot(screenshots / "07-loan-decided.png")

    outcomes = [
        (applicants[0], approved, "LOAN_APPLICATION_STATUS_APPROVED"),
        (applicants[1], rejected, "LOAN_APPLICATION_STATUS_REJECTED"),
    ]
    for who, application, status in outcomes:
        seen = gateway.get(f"/api/v1/credit/applications/{application['id']}", token=who["token"])
        assert seen.status_code == 200, seen.text
        body = seen.json()["loan_application"]
        assert body["status"] == status and body["decided_by"] == underwriter["id"], body
    # The applicant may not open the queue the underwriter works.
    refused = gateway.get(
        "/api/v1/credit/applications?statuses=LOAN_APPLICATION_STATUS_UNDER_REVIEW",
        token=applicants[0]["token"],
    )
    assert_error(refused, 403, grpc_code=7)


def extracted_passport(gateway: Gateway, who: dict[str, str]) -> dict[str, Any]:
    """The ICAO specimen's data page uploaded by ``who``, once the service's worker has read its MRZ."""
    image = passport_png(SPECIMEN_MRZ, ["PASSPORT / PASSEPORT", "Utopia", "Surname / Nom"])
    uploaded = gateway.post(
        "/api/v1/documents/upload",
        token=who["token"],
        data=image,
        params={
            "user_id": who["id"],
            "filename": "passport.png",
            "document_type": "DOCUMENT_TYPE_PASSPORT",
            "request_id": uuid.uuid4().hex,
        },
        headers={"content-type": "image/png"},
    )
    assert uploaded.status_code == 200, uploaded.text
    document_id = uploaded.json()["document"]["id"]
    deadline = time.monotonic() + EXTRACTION_DEADLINE_SECONDS
    while True:
        seen = gateway.get(f"/api/v1/documents/{document_id}", token=who["token"])
        assert seen.status_code == 200, seen.text
        document: dict[str, Any] = seen.json()["document"]
        if document["extraction_status"] not in ("EXTRACTION_STATUS_PENDING", "EXTRACTION_STATUS_RUNNING"):
            break
        assert time.monotonic() < deadline, f"extraction still {document['extraction_status']}"
        time.sleep(0.5)
    assert document["extraction_status"] == "EXTRACTION_STATUS_SUCCEEDED", document
    return document


@needs_chromium
def test_compliance_verifies_a_passport_and_the_customer_sees_it_verified(
    gateway: Gateway, tokens: TokenFactory, browser: Browser, screenshots: Path
) -> None:
    customer = person(gateway, tokens)
    passport = extracted_passport(gateway, customer)
    officer = person(gateway, tokens, "ROLE_COMPLIANCE")
    page = browser.page()
    sign_in(page, gateway, officer)
    assert page.visible("#documents-review") and not page.visible("#payments-review")
    assert page.text("#nav-list").split() == ["Documents", "to", "review", "Customers"]
    card = f'article[data-document-id="{passport["id"]}"]'
    page.wait_for(f"!!document.querySelector('{card}')")
    shown = page.text(card)
    assert customer["id"] in shown and "passport.png" in shown
    # The MRZ fields beside the page, and the check-digit result.
    assert page.text(f'{card} tr[data-field="surname"]') == "Surname\tERIKSSON"
    assert page.text(f'{card} tr[data-field="document_number"]') == "Document number\tL898902C3"
    assert page.text(f'{card} tr[data-field="birth_date"]') == "Date of birth\t1974-08-12"
    # The specimen expired in 2012: flagged for the reviewer.
    assert page.text(f'{card} tr[data-field="expiry_date"]') == "Date of expiry (expired)\t2012-04-15"
    assert page.evaluate(f"document.querySelector('{card} .check-digits').dataset.check") == "good"
    assert "check digits valid" in page.text(f"{card} .check-digits")
    # The page image, opened with the keyboard, read through the API with the officer's token.
    page.evaluate(f"document.querySelector('{card} button[data-action=show-page]').focus()")
    page.press("Enter")
    page.wait_for(f"(i => !!i && i.complete && i.naturalWidth === 840)(document.querySelector('{card} img'))")
    page.screenshot(screenshots / "08-documents-to-review.png")

    page.click(f"#note-{passport['id']}")
    page.type("photo page matches the MRZ")
    page.click(f'{card} button[data-action="verify"]')
    page.wait_for(f"document.getElementById('status').innerText.includes('{passport['id']} verified')")
    page.wait_for(f"!document.querySelector('{card}')")
    page.screenshot(screenshots / "09-document-verified.png")

    seen = gateway.get(f"/api/v1/documents/{passport['id']}", token=customer["token"])
    assert seen.status_code == 200, seen.text
    verified = seen.json()["document"]
    assert verified["status"] == "DOCUMENT_STATUS_VERIFIED" and verified["reviewer_id"] == officer["id"]
    # The officer's look at the page and the decision are in the document's access log.
    events = gateway.get(f"/api/v1/documents/{passport['id']}/access-events", token=customer["token"])
    assert events.status_code == 200, events.text
    actions = {(e["action"], e["actor_id"]) for e in events.json()["events"]}
    assert {
        ("DOCUMENT_ACCESS_ACTION_DOWNLOAD", officer["id"]),
        ("DOCUMENT_ACCESS_ACTION_REVIEW", officer["id"]),
    } <= actions
    # The customer may not read the queue.
    assert_error(gateway.get("/api/v1/documents/queues/review", token=customer["token"]), 403, grpc_code=7)


def test_the_document_queue_is_oldest_first_pages_and_checks_its_input(
    gateway: Gateway, tokens: TokenFactory
) -> None:
    officer = tokens.make("usr_01CONSOLECOMPLIANCE000000000", ["compliance"])
    owner = person(gateway, tokens)
    ids = []
    for _ in range(2):
        content = b"%PDF-1.7\n" + b"x" * 400
        statement = gateway.post(
            "/api/v1/documents/upload",
            token=owner["token"],
            data=content,
            params={
                "user_id": owner["id"],
                "filename": "statement.pdf",
                "document_type": "DOCUMENT_TYPE_BANK_STATEMENT",
                "request_id": uuid.uuid4().hex,
            },
            headers={"content-type": "application/pdf"},
        )
        assert statement.status_code == 200, statement.text
        ids.append(statement.json()["document"]["id"])
    seen: list[str] = []
    token = ""
    while True:
        reply = gateway.get(
            "/api/v1/documents/queues/review",
            token=officer,
            params={"page_size": 1, "page_token": token, "document_type": "DOCUMENT_TYPE_BANK_STATEMENT"},
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert len(body.get("documents", [])) <= 1
        for d in body.get("documents", []):
            assert d["document_type"] == "DOCUMENT_TYPE_BANK_STATEMENT"
            assert d["status"] in ("DOCUMENT_STATUS_UPLOADED", "DOCUMENT_STATUS_PROCESSING")
            seen.append(d["id"])
        token = body.get("next_page_token", "")
        if not token:
            break
    assert seen == sorted(seen) and seen.index(ids[0]) < seen.index(ids[1])
    # A deleted document leaves the queue.
    gone = gateway.request("DELETE", f"/api/v1/documents/{ids[0]}", token=owner["token"])
    assert gone.status_code == 200, gone.text
    after = gateway.get(
        "/api/v1/documents/queues/review",
        token=officer,
        params={"document_type": "DOCUMENT_TYPE_BANK_STATEMENT", "page_size": 200},
    )
    listed = [d["id"] for d in after.json().get("documents", [])]
    assert ids[0] not in listed and ids[1] in listed
    for query in ("page_token=nope", "page_size=-1"):
        refused = gateway.get(f"/api/v1/documents/queues/review?{query}", token=officer)
        assert_error(refused, 400, grpc_code=3)
    # An unknown document type the gateway refuses itself, with the same JSON shape.
    assert_error(gateway.get("/api/v1/documents/queues/review?document_type=NOPE", token=officer), 400)
    support = tokens.make("usr_01CONSOLESUPPORT00000000000", ["support"])
    assert_error(gateway.get("/api/v1/documents/queues/review", token=support), 403, grpc_code=7)


def approved_top_up(gateway: Gateway, tokens: TokenFactory, who: dict[str, str]) -> dict[str, Any]:
    """A held top-up approved by a support agent over REST: a pending transfer posted in the ledger."""
    held = held_top_up(gateway, who)
    agent = tokens.make("usr_01CONSOLEBOOKSAGENT00000000", ["support"])
    decided = gateway.request(
        "PUT",
        f"/api/v1/payments/{held['id']}/status",
        token=agent,
        json={"status": "PAYMENT_STATUS_PROCESSING", "reason": "books test", "request_id": uuid.uuid4().hex},
    )
    assert decided.status_code == 200, decided.text
    payment: dict[str, Any] = decided.json()["payment"]
    assert payment["status"] == "PAYMENT_STATUS_SUCCEEDED", payment
    return payment


@needs_chromium
def test_an_admin_reads_the_books(
    gateway: Gateway, tokens: TokenFactory, browser: Browser, screenshots: Path
) -> None:
    customer = person(gateway, tokens)
    approved_top_up(gateway, tokens, customer)
    admin = person(gateway, tokens, "ROLE_ADMIN")
    # Analytics reads the ledger's feed asynchronously: wait until today's volumes include this top-up.
    now = time.time()
    day = {
        "time_range.start_time": time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(now - 86400)),
        "time_range.end_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 60)),
        "currency": "EUR",
    }
    deadline = time.monotonic() + FEED_DEADLINE_SECONDS
    while True:
        volumes = gateway.get("/api/v1/analytics/reports/payment_volumes", token=admin["token"], params=day)
        assert volumes.status_code == 200, volumes.text
        if volumes.json()["report"].get("rows"):
            break
        assert time.monotonic() < deadline, "analytics never saw the top-up"
        time.sleep(0.5)

    page = browser.page()
    sign_in(page, gateway, admin)
    assert "The books" in page.text("#nav-list")
    page.click('#nav-list a[href="#books"]')
    assert page.visible("#books") and not page.visible("#payments-review")
    # The trial balance, per currency, as the ledger reports it over REST.
    page.wait_for("document.body.dataset.trialLoaded && document.body.dataset.trialLoaded !== 'error'")
    trial = gateway.get("/api/v1/ledger/reports/trial-balance", token=admin["token"]).json()
    for totals in trial["totals"]:
        shown = page.text(f'#trial-rows tr[data-currency="{totals["currency"]}"]')
        assert shown.endswith("yes") and totals["balanced"], shown
    assert "EUR" in page.text("#trial-rows")

    page.click("#chain-verify")
    page.wait_for("document.getElementById('chain-result').dataset.valid")
    assert page.evaluate("document.getElementById('chain-result').dataset.valid") == "true"
    assert "The chain is intact" in page.text("#chain-result") and "checked" in page.text("#chain-result")

    # The ledger explorer: the customer's account, its entries with their postings, and the top-up's
    # pending transfer (reserved, then posted) opened with the keyboard.
    page.click("#explorer-account")
    page.type(customer["id"])
    page.press("Enter")
    page.wait_for("document.body.dataset.explorerLoaded && document.body.dataset.explorerLoaded !== 'error'")
    assert "posted 500.00 EUR" in page.text("#explorer-balance")
    entries = page.text("#explorer-entries")
    assert "debit" in entries and "credit" in entries and "500.00 EUR" in entries
    page.evaluate("document.querySelector('#explorer-entries button[data-action=pending]').focus()")
    page.press("Enter")
    page.wait_for("!!document.querySelector('#explorer-entries p.pending')")
    assert page.text("#explorer-entries p.pending").startswith("posted: 500.00 EUR")
    # A time range with nothing in it: the same account, no entry (the range goes to the ledger).
    page.evaluate("document.getElementById('explorer-from').value = '2099-01-01T00:00'")
    page.evaluate("delete document.body.dataset.explorerLoaded")
    page.click("#explorer-form button[type=submit]")
    page.wait_for("document.body.dataset.explorerLoaded === '0'")
    assert "No entry in this range." in page.text("#explorer-result")
    page.evaluate("document.getElementById('explorer-from').value = ''")
    page.click("#explorer-form button[type=submit]")
    page.wait_for("document.body.dataset.explorerLoaded && document.body.dataset.explorerLoaded !== '0'")

    # The charts: payment volumes drawn here from the report, the credit portfolio drawn by analytics.
    page.click("#charts-form button[type=submit]")
    page.wait_for("document.body.dataset.volumesLoaded && document.body.dataset.portfolioLoaded")
    assert page.evaluate("document.body.dataset.volumesLoaded") != "error"
    assert page.evaluate("document.body.dataset.portfolioLoaded") == "7"  # one row per loan status
    assert page.evaluate("document.querySelectorAll('#volumes-chart svg rect.bar').length") >= 1
    page.wait_for(
        "(i => !!i && i.complete && i.naturalWidth > 0)(document.querySelector('#portfolio-chart img'))"
    )
    assert "\tdeposit\t" in page.text("#volumes-rows")  # the top-up, as the ledger types it
    assert page.text('#portfolio-rows tr[data-status="under_review"]').startswith("under review")
    page.screenshot(screenshots / "10-books.png")


def named_customer(gateway: Gateway, first: str, last: str) -> dict[str, str]:
    """A customer registered with a first and last name, signed in."""
    name = "u" + uuid.uuid4().hex[:10]
    registered = gateway.post(
        "/api/v1/auth/register",
        json={
            "username": name,
            "email": f"{name}@example.com",
            "password": PASSWORD,
            "profile": {"first_name": first, "last_name": last},
        },
    )
    assert registered.status_code == 200, registered.text
    login = gateway.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {
        "name": name,
        "id": registered.json()["user"]["id"],
        "token": login.json()["tokens"]["access_token"],
    }


def statement(gateway: Gateway, who: dict[str, str]) -> dict[str, Any]:
    reply = gateway.post(
        "/api/v1/documents/upload",
        token=who["token"],
        data=b"%PDF-1.7\n" + b"y" * 300,
        params={
            "user_id": who["id"],
            "filename": "statement.pdf",
            "document_type": "DOCUMENT_TYPE_BANK_STATEMENT",
            "request_id": uuid.uuid4().hex,
        },
        headers={"content-type": "application/pdf"},
    )
    assert reply.status_code == 200, reply.text
    document: dict[str, Any] = reply.json()["document"]
    return document


@needs_chromium
def test_an_admin_finds_a_customer_reads_the_profile_and_administers_the_account(
    gateway: Gateway, tokens: TokenFactory, browser: Browser, screenshots: Path
) -> None:
    family = "Qx" + uuid.uuid4().hex[:8]
    customer = named_customer(gateway, "Grace", family)
    payment = approved_top_up(gateway, tokens, customer)
    application = referred_application(gateway, customer)
    document = statement(gateway, customer)
    admin = person(gateway, tokens, "ROLE_ADMIN")

    page = browser.page()
    sign_in(page, gateway, admin)
    page.click('#nav-list a[href="#customers"]')
    assert page.focused() == "customer-query"  # the search field is ready for typing
    page.type(f"grace {family.lower()}")
    page.press("Enter")
    page.wait_for("document.body.dataset.searchLoaded === '1'")
    found = page.text(f'#customer-rows tr[data-user-id="{customer["id"]}"]')
    assert f"Grace {family}" in found and f"{customer['name']}@example.com" in found and "active" in found

    page.click(f'#customer-rows tr[data-user-id="{customer["id"]}"] button[data-action=open]')
    page.wait_for(f"document.body.dataset.profileLoaded === '{customer['id']}'")
    assert page.focused() == "profile-title"
    assert "500.00 EUR" in page.text("#profile-accounts")
    assert f"top up 500.00 EUR succeeded ({payment['id']})" in page.text("#profile-payments")
    assert f"6,000.00 EUR over 12 months: under review ({application['id']})" in page.text("#profile-loans")
    assert f"bank statement statement.pdf: uploaded ({document['id']})" in page.text("#profile-documents")
    page.click(f'#profile-documents li[data-id="{document["id"]}"] button[data-action=access-log]')
    page.wait_for("!!document.querySelector('#profile-documents ul.activity li')")
    assert f"upload by {customer['id']}" in page.text("#profile-documents ul.activity")

    # Roles: grant support, then revoke it; the user service says the same over REST.
    page.evaluate("document.getElementById('role-choice').value = 'ROLE_SUPPORT'")
    page.click("#role-grant")
    page.wait_for("document.querySelector('dd[data-fact=roles]').innerText.includes('support')")
    roles = gateway.get(f"/api/v1/users/{customer['id']}", token=admin["token"]).json()["user"]["roles"]
    assert "ROLE_SUPPORT" in roles
    page.screenshot(screenshots / "11-customer-profile.png")
    page.click("#role-revoke")
    page.wait_for("!document.querySelector('dd[data-fact=roles]').innerText.includes('support')")
    roles = gateway.get(f"/api/v1/users/{customer['id']}", token=admin["token"]).json()["user"]["roles"]
    assert "ROLE_SUPPORT" not in roles

    # Deactivation takes two presses; then the customer can no longer sign in.
    page.click("#user-deactivate")
    assert page.text("#user-deactivate").startswith("Confirm")
    page.click("#user-deactivate")
    page.wait_for("document.querySelector('dd[data-fact=status]').innerText === 'deactivated'")
    page.screenshot(screenshots / "12-customer-deactivated.png")
    refused = gateway.post("/api/v1/auth/login", json={"login": customer["name"], "password": PASSWORD})
    assert refused.status_code in (401, 403), refused.text


@needs_chromium
def test_a_support_agent_sees_no_books_no_admin_actions_and_the_services_refuse_them(
    gateway: Gateway, tokens: TokenFactory, browser: Browser, screenshots: Path
) -> None:
    customer = named_customer(gateway, "Hedy", "Qy" + uuid.uuid4().hex[:8])
    referred_application(gateway, customer)
    # A refused and a successful sign-in from a client the access log must name.
    client = {"user-agent": "NexaFiConsoleTest/2.0 (access log)"}
    wrong = gateway.post(
        "/api/v1/auth/login", json={"login": customer["name"], "password": PASSWORD + "?"}, headers=client
    )
    assert wrong.status_code == 401, wrong.text
    signed_in = gateway.post(
        "/api/v1/auth/login", json={"login": customer["name"], "password": PASSWORD}, headers=client
    )
    assert signed_in.status_code == 200, signed_in.text
    agent = person(gateway, tokens, "ROLE_SUPPORT")
    page = browser.page()
    sign_in(page, gateway, agent)
    nav = page.text("#nav-list")
    assert "Customers" in nav and "Payments in review" in nav
    assert "The books" not in nav and "Documents to review" not in nav
    assert not page.visible("#books")
    page.click('#nav-list a[href="#customers"]')
    page.type(customer["id"])
    page.press("Enter")
    page.wait_for("document.body.dataset.searchLoaded === '1'")
    page.click(f'#customer-rows tr[data-user-id="{customer["id"]}"] button[data-action=open]')
    page.wait_for(f"document.body.dataset.profileLoaded === '{customer['id']}'")
    # No administration for support; the loan book is the underwriters', and the page says so.
    assert not page.visible("#profile-admin")
    assert "Not readable with your roles" in page.text("#profile-loans")
    # Support reads the access log: the sign-in just made, newest first, above the refused one and the
    # sign-in of named_customer.
    page.wait_for("document.querySelectorAll('#profile-access li').length === 3")
    events = [line for line in page.text("#profile-access").splitlines() if line.strip()]
    assert "sign in succeeded from 127.0.0.1 (NexaFiConsoleTest/2.0 (access log)" in events[0]
    assert (
        "sign in failed: INVALID_CREDENTIALS from 127.0.0.1 (NexaFiConsoleTest/2.0 (access log)" in events[1]
    )
    assert "sign in succeeded from 127.0.0.1" in events[2]
    session = gateway.get(f"/api/v1/users/{customer['id']}/access-events", token=agent["token"]).json()
    assert f"session {session['access_events'][0]['session_id']}" in events[0]
    page.screenshot(screenshots / "13-support-customer-profile.png")

    # What the page does not offer, the services refuse to a direct call all the same.
    assert_error(gateway.get("/api/v1/ledger/reports/trial-balance", token=agent["token"]), 403, grpc_code=7)
    assert_error(gateway.post("/api/v1/ledger/chain:verify", token=agent["token"], json={}), 403, grpc_code=7)
    granted = gateway.post(
        f"/api/v1/users/{customer['id']}/roles", token=agent["token"], json={"role": "ROLE_ADMIN"}
    )
    assert_error(granted, 403, grpc_code=7)
    assert_error(
        gateway.request("DELETE", f"/api/v1/users/{customer['id']}", token=agent["token"]), 403, grpc_code=7
    )
    assert_error(gateway.get("/api/v1/documents/queues/review", token=agent["token"]), 403, grpc_code=7)


@needs_chromium
def test_staff_cannot_approve_their_own_payment_and_the_page_says_why(
    gateway: Gateway, tokens: TokenFactory, browser: Browser, screenshots: Path
) -> None:
    # A support agent who is also a customer: their own top-up is held for review.
    agent = person(gateway, tokens, "ROLE_SUPPORT")
    own = held_top_up(gateway, agent)
    page = browser.page()
    sign_in(page, gateway, agent)
    page.wait_for(f"!!document.querySelector('{row(own['id'])}')")
    page.click(f"#note-{own['id']}")
    page.type("looks fine to me")
    page.click(f'{row(own["id"])} button[data-action="approve"]')
    page.wait_for("document.getElementById('error').innerText.includes('SELF_DECISION')")
    assert f"{own['id']} was not approved" in page.text("#error")
    # The buttons are usable again (nothing was decided) and the payment is still held.
    approve = f"document.querySelector('{row(own['id'])} button[data-action=approve]')"
    assert page.evaluate(f"{approve}.disabled") is False
    page.screenshot(screenshots / "14-self-decision-refused.png")
    still = gateway.get(f"/api/v1/payments/{own['id']}", token=agent["token"]).json()["payment"]
    assert still["status"] == "PAYMENT_STATUS_REQUIRES_REVIEW"
