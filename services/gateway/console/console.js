// The NexaFi staff console: plain ES module, no build step, no third-party code.
//
// Signs in with the user service over the public REST API and keeps the tokens in this module's
// memory only (never in storage a script injected elsewhere could read; a reload signs out). The
// access token is refreshed with the refresh token before it expires. What the page shows follows
// the roles in the access token's claims, but that is only a courtesy: every call is authorized by
// the services, and a refusal is shown with its reason.

const API = "/api/v1";
// Refresh this long before the access token expires, so a decision never goes out with a stale token.
const REFRESH_MARGIN_SECONDS = 30;

const session = { access: "", refresh: "", roles: [], subject: "", timer: 0 };

// Each queue: who may see it (the services decide who may act) and how it is drawn.
const QUEUES = [
  { id: "payments-review", title: "Payments in review", roles: ["admin", "support"], load: loadPayments },
  { id: "loans-review", title: "Loans to underwrite", roles: ["admin", "underwriter"], load: loadLoans },
  { id: "documents-review", title: "Documents to review", roles: ["admin", "compliance"], load: loadDocuments },
  { id: "books", title: "The books", roles: ["admin"], load: loadBooks },
  { id: "customers", title: "Customers", roles: ["admin", "support", "compliance"], load: loadCustomers },
];

const $ = (id) => document.getElementById(id);

function say(message) { $("status").textContent = message; $("error").textContent = ""; }
function fail(message) { $("error").textContent = message; $("status").textContent = ""; }

class ApiError extends Error {
  constructor(status, body) {
    const reason = errorReason(body);
    super(`${body.message || `HTTP ${status}`}${reason ? ` (${reason})` : ""}`);
    this.status = status;
    this.reason = reason;
  }
}

function errorReason(body) {
  for (const detail of body.details || []) {
    if ((detail["@type"] || "").endsWith("google.rpc.ErrorInfo")) return detail.reason || "";
  }
  return "";
}

async function call(method, path, body, { auth = true } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth) headers.authorization = `Bearer ${session.access}`;
  const reply = await fetch(API + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit", cache: "no-store",
  });
  const data = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new ApiError(reply.status, data);
  return data;
}

// The access token's claims; the signature is the gateway's and the services' to check.
function claims(token) {
  const part = token.split(".")[1] || "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(json);
}

function adopt(tokens) {
  session.access = tokens.access_token;
  session.refresh = tokens.refresh_token;
  const c = claims(session.access);
  session.roles = Array.isArray(c.roles) ? c.roles : [];
  session.subject = c.sub || "";
  clearTimeout(session.timer);
  const seconds = Math.max(5, Number(tokens.expires_in || 0) - REFRESH_MARGIN_SECONDS);
  session.timer = setTimeout(refresh, seconds * 1000);
}

async function refresh() {
  try {
    const reply = await call("POST", "/auth/refresh", { refresh_token: session.refresh }, { auth: false });
    adopt(reply.tokens);
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } catch (error) {
    signedOut(`Your session ended: ${error.message}. Please sign in again.`);
  }
}

async function signIn(event) {
  event.preventDefault();
  const login = $("login").value.trim();
  const password = $("password").value;
  if (!login || !password) { fail("Enter your username or e-mail and your password."); return; }
  try {
    const reply = await call("POST", "/auth/login", { login, password }, { auth: false });
    $("password").value = "";
    adopt(reply.tokens);
    $("who-name").textContent = reply.user.username;
    show();
  } catch (error) {
    fail(`Sign-in refused: ${error.message}`);
  }
}

async function signOut() {
  try { await call("POST", "/auth/logout", { refresh_token: session.refresh }); } catch { /* ends anyway */ }
  signedOut("You are signed out.");
}

function signedOut(message) {
  clearTimeout(session.timer);
  Object.assign(session, { access: "", refresh: "", roles: [], subject: "", timer: 0 });
  for (const q of QUEUES) $(q.id).hidden = true;
  $("nothing").hidden = true; $("nav").hidden = true; $("who").hidden = true;
  $("sign-in").hidden = false;
  document.body.dataset.state = "signed-out";
  say(message);
  $("login").focus();
}

function allowed() { return QUEUES.filter((q) => q.roles.some((r) => session.roles.includes(r))); }

function show() {
  $("sign-in").hidden = true;
  $("who").hidden = false;
  $("who-roles").textContent = `roles: ${session.roles.join(", ") || "none"}`;
  const queues = allowed();
  const list = $("nav-list");
  list.replaceChildren(...queues.map((q) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#${q.id}`; link.textContent = q.title;
    link.addEventListener("click", (event) => { event.preventDefault(); open(q); });
    item.append(link);
    return item;
  }));
  $("nav").hidden = queues.length === 0;
  $("nothing").hidden = queues.length > 0;
  document.body.dataset.state = "signed-in";
  say(`Signed in as ${$("who-name").textContent}.`);
  if (queues.length) open(queues[0]);
  else $("main").focus();
}

function open(queue) {
  for (const q of QUEUES) $(q.id).hidden = q !== queue;
  for (const link of $("nav-list").querySelectorAll("a")) {
    if (link.getAttribute("href") === `#${queue.id}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  queue.load();
}

// Integer minor units to text without floating point: 50000 EUR -> "500.00 EUR".
function money(m) {
  if (!m) return "";
  let digits = 2;
  try { digits = new Intl.NumberFormat("en", { style: "currency", currency: m.currency })
    .resolvedOptions().maximumFractionDigits; } catch { /* unknown code: two decimals */ }
  const minor = BigInt(m.amount_minor || "0");
  const sign = minor < 0n ? "-" : "";
  const abs = minor < 0n ? -minor : minor;
  const scale = 10n ** BigInt(digits);
  const whole = (abs / scale).toLocaleString("en");
  const fraction = digits ? "." + (abs % scale).toString().padStart(digits, "0") : "";
  return `${sign}${whole}${fraction} ${m.currency}`;
}

const short = (value, prefix) => (value || "").replace(prefix, "");
// An enum value as words: PAYMENT_STATUS_REQUIRES_REVIEW -> "requires review".
const words = (value, prefix) => short(value, prefix).toLowerCase().replaceAll("_", " ");

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function loadPayments() {
  const rows = $("payments-rows");
  try {
    const reply = await call("GET", "/payments/queues/review?page_size=100");
    const payments = reply.payments || [];
    rows.replaceChildren(...payments.map(paymentRow));
    $("payments-empty").hidden = payments.length > 0;
    $("payments-table").hidden = payments.length === 0;
    document.body.dataset.paymentsLoaded = String(payments.length);
  } catch (error) {
    rows.replaceChildren();
    fail(`The review queue could not be read: ${error.message}`);
    document.body.dataset.paymentsLoaded = "error";
  }
}

function paymentRow(p) {
  const tr = document.createElement("tr");
  tr.dataset.paymentId = p.id;
  const score = Number(p.fraud_score_bps || 0);
  const held = (p.status_history || []).filter((h) => h.to_status === "PAYMENT_STATUS_REQUIRES_REVIEW").pop();
  tr.append(
    cell(p.id, "id"), cell(p.user_id, "id"), cell(words(p.kind, "PAYMENT_KIND_")),
    cell(money(p.amount), "num"),
    cell(`${(score / 100).toFixed(2)} % (${short(p.fraud_decision, "FRAUD_DECISION_").toLowerCase()})`,
      score >= 5000 ? "num score-high" : "num"),
    cell(held ? held.reason : ""), cell(p.create_time ? new Date(p.create_time).toLocaleString("en-GB") : ""),
  );
  tr.cells[1].append(activityToggle(p.user_id, p.id));
  tr.append(decisionCell(p.id, [
    ["approve", "Approve", "", (note) => decide(p, "PAYMENT_STATUS_PROCESSING", note)],
    ["decline", "Decline", "danger", (note) => decide(p, "PAYMENT_STATUS_FAILED", note)],
  ]));
  return tr;
}

// The customer's recent payments, on demand, under their id (the same public API: ListPayments).
function activityToggle(userId, paymentId) {
  const box = document.createElement("div");
  const button = document.createElement("button");
  button.type = "button"; button.className = "secondary small"; button.textContent = "Recent activity";
  button.dataset.action = "activity";
  const listId = `activity-${paymentId}`;
  button.setAttribute("aria-expanded", "false"); button.setAttribute("aria-controls", listId);
  const list = document.createElement("ul");
  list.id = listId; list.className = "activity"; list.hidden = true;
  button.addEventListener("click", async () => {
    const open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", String(!open));
    list.hidden = open;
    if (open) return;
    try {
      const reply = await call("GET", `/payments/users/${encodeURIComponent(userId)}?page_size=10&include_incoming=true`);
      const payments = reply.payments || [];
      list.replaceChildren(...payments.map((q) => {
        const item = document.createElement("li");
        item.dataset.paymentId = q.id;
        const when = q.create_time ? new Date(q.create_time).toLocaleDateString("en-GB") : "";
        item.textContent = `${when} ${words(q.kind, "PAYMENT_KIND_")} ${money(q.amount)} ` +
          words(q.status, "PAYMENT_STATUS_");
        return item;
      }));
      if (!payments.length) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "none" }));
    } catch (error) {
      list.replaceChildren(Object.assign(document.createElement("li"), { textContent: `not readable: ${error.message}` }));
    }
  });
  box.append(button, list);
  return box;
}

// A labelled note and one button per action; a button is disabled while its call is under way.
function decisionCell(id, actions) {
  const td = document.createElement("td");
  const box = document.createElement("div");
  box.className = "decision";
  const label = document.createElement("label");
  const noteId = `note-${id}`;
  label.htmlFor = noteId; label.textContent = "Note";
  const whose = document.createElement("span");
  whose.className = "visually-hidden"; whose.textContent = ` for ${id}`;
  label.append(whose);
  const note = document.createElement("input");
  note.id = noteId; note.name = "note"; note.required = true; note.autocomplete = "off";
  const buttons = document.createElement("div");
  buttons.className = "buttons";
  const all = actions.map(([action, text, className, run]) => {
    const button = document.createElement("button");
    button.type = "button"; button.textContent = text; button.dataset.action = action;
    if (className) button.className = className;
    button.setAttribute("aria-label", `${text} ${id}`);
    button.addEventListener("click", async () => {
      const reason = note.value.trim();
      if (!reason) { fail(`Write a note for ${id} before deciding.`); note.focus(); return; }
      all.forEach((b) => { b.disabled = true; });
      const done = await run(reason);
      if (!done) all.forEach((b) => { b.disabled = false; });
    });
    return button;
  });
  buttons.append(...all);
  box.append(label, note, buttons);
  td.append(box);
  return td;
}

async function decide(payment, status, reason) {
  const verb = status === "PAYMENT_STATUS_PROCESSING" ? "approved" : "declined";
  try {
    // One idempotency key per click: a retried request cannot decide twice.
    const reply = await call("PUT", `/payments/${encodeURIComponent(payment.id)}/status`,
      { status, reason, request_id: crypto.randomUUID() });
    say(`Payment ${payment.id} ${verb}: now ${short(reply.payment.status, "PAYMENT_STATUS_")}.`);
    await loadPayments();
    $("payments-review-title").focus();
    return true;
  } catch (error) {
    fail(`Payment ${payment.id} was not ${verb}: ${error.message}`);
    return false;
  }
}

async function loadLoans() {
  const rows = $("loans-rows");
  try {
    const reply = await call("GET", "/credit/applications?statuses=LOAN_APPLICATION_STATUS_UNDER_REVIEW&page_size=100");
    const applications = reply.loan_applications || [];
    rows.replaceChildren(...applications.map(loanRow));
    $("loans-empty").hidden = applications.length > 0;
    $("loans-table").hidden = applications.length === 0;
    document.body.dataset.loansLoaded = String(applications.length);
  } catch (error) {
    rows.replaceChildren();
    fail(`The underwriting queue could not be read: ${error.message}`);
    document.body.dataset.loansLoaded = "error";
  }
}

function loanRow(a) {
  const tr = document.createElement("tr");
  tr.dataset.applicationId = a.id;
  const reasons = a.decision_reasons || [];
  const why = document.createElement("td");
  const list = document.createElement("ul");
  list.className = "reasons";
  list.replaceChildren(...reasons.map((r) => {
    const item = document.createElement("li");
    item.textContent = r.description ? `${r.code}: ${r.description}` : r.code;
    return item;
  }));
  why.append(list);
  tr.append(
    cell(a.id, "id"), cell(a.user_id, "id"), cell(money(a.amount), "num"), cell(`${a.term_months} months`, "num"),
    cell(String(a.credit_score || ""), "num"),
    cell(`${(Number(a.debt_to_income_bps || 0) / 100).toFixed(2)} %`, "num"), why,
    decisionCell(a.id, [
      ["approve", "Approve", "", (note) => underwrite(a, "LOAN_DECISION_APPROVE", note)],
      ["reject", "Reject", "danger", (note) => underwrite(a, "LOAN_DECISION_REJECT", note)],
    ]),
  );
  return tr;
}

async function underwrite(application, decision, note) {
  const verb = decision === "LOAN_DECISION_APPROVE" ? "approved" : "rejected";
  const body = { decision, note, request_id: crypto.randomUUID() };
  // A rejection states its reasons: those the referral gave.
  if (decision === "LOAN_DECISION_REJECT") {
    body.reasons = (application.decision_reasons || []).map((r) => ({ code: r.code, description: r.description }));
  }
  try {
    const reply = await call("POST", `/credit/applications/${encodeURIComponent(application.id)}/decide`, body);
    const status = short(reply.loan_application.status, "LOAN_APPLICATION_STATUS_");
    say(`Application ${application.id} ${verb}: now ${status}.`);
    await loadLoans();
    $("loans-review-title").focus();
    return true;
  } catch (error) {
    fail(`Application ${application.id} was not ${verb}: ${error.message}`);
    return false;
  }
}

// -- documents pending review (compliance) -------------------------------------------------------

// The MRZ fields in the order a passport prints them, with the words a reviewer reads.
const MRZ_FIELDS = [
  ["surname", "Surname"], ["given_names", "Given names"], ["document_number", "Document number"],
  ["nationality", "Nationality"], ["birth_date", "Date of birth"], ["sex", "Sex"],
  ["expiry_date", "Date of expiry"], ["issuing_country", "Issuing country"],
  ["personal_number", "Personal number"], ["document_type", "Document code"],
];

async function loadDocuments() {
  const list = $("documents-list");
  try {
    const reply = await call("GET", "/documents/queues/review?page_size=50");
    const documents = reply.documents || [];
    list.replaceChildren(...documents.map(documentCard));
    $("documents-empty").hidden = documents.length > 0;
    document.body.dataset.documentsLoaded = String(documents.length);
  } catch (error) {
    list.replaceChildren();
    fail(`The document queue could not be read: ${error.message}`);
    document.body.dataset.documentsLoaded = "error";
  }
}

// What the check digits say: all valid, which one failed, or why nothing could be checked.
function checkDigits(d) {
  const status = short(d.extraction_status, "EXTRACTION_STATUS_");
  const fields = d.extracted_fields || {};
  if (status === "SUCCEEDED") {
    return fields.mrz_check_digits_valid === "true"
      ? ["good", "MRZ check digits valid (document number, dates, personal number, composite)"]
      : ["bad", "MRZ check digits not confirmed"];
  }
  if (status === "FAILED") {
    const error = d.extraction_error || "";
    if (error.startsWith("CHECK_DIGIT_MISMATCH:")) {
      return ["bad", `Check digit mismatch: ${error.split(":")[1].replaceAll("_", " ")}`];
    }
    return ["bad", `Extraction failed: ${error}`];
  }
  if (status === "NOT_APPLICABLE") return ["", "No machine-readable zone is read for this document type"];
  return ["", `Extraction ${status.toLowerCase()}: reload the queue to see its result`];
}

function documentCard(d) {
  const card = document.createElement("article");
  card.className = "document";
  card.dataset.documentId = d.id;
  const titleId = `document-title-${d.id}`;
  card.setAttribute("aria-labelledby", titleId);
  const title = document.createElement("h3");
  title.id = titleId;
  title.textContent = `${words(d.document_type, "DOCUMENT_TYPE_")} ${d.id} (version ${d.version})`;
  const meta = document.createElement("p");
  meta.className = "hint";
  const when = d.create_time ? new Date(d.create_time).toLocaleString("en-GB") : "";
  meta.textContent = `Customer ${d.user_id}, ${d.filename}, uploaded ${when}`;

  const figure = document.createElement("figure");
  figure.className = "page-image";
  const caption = document.createElement("figcaption");
  caption.textContent = "The uploaded page";
  const view = document.createElement("button");
  view.type = "button"; view.className = "secondary small"; view.dataset.action = "show-page";
  view.textContent = "Show the page"; view.setAttribute("aria-label", `Show the page of ${d.id}`);
  view.addEventListener("click", () => showPage(d, figure, view));
  figure.append(caption, view);

  const fields = d.extracted_fields || {};
  const table = document.createElement("table");
  table.className = "mrz";
  const cap = document.createElement("caption");
  cap.textContent = "Read from the machine-readable zone";
  const body = document.createElement("tbody");
  body.replaceChildren(...MRZ_FIELDS.filter(([key]) => key in fields).map(([key, label]) => {
    const tr = document.createElement("tr");
    tr.dataset.field = key;
    const th = document.createElement("th");
    th.scope = "row"; th.textContent = label;
    tr.append(th, cell(fields[key] || "(none)"));
    return tr;
  }));
  table.append(cap, body);
  // An expired passport is worth a second look whatever the check digits say (the browser's
  // date: this is a hint for the reviewer, the decision is theirs).
  const expired = fields.expiry_date && fields.expiry_date < new Date().toISOString().slice(0, 10);
  if (expired) {
    const row = body.querySelector('tr[data-field="expiry_date"]');
    if (row) { row.cells[0].textContent += " (expired)"; row.classList.add("expired"); }
  }
  const [tone, text] = checkDigits(d);
  const digits = document.createElement("p");
  digits.className = `check-digits ${tone}`;
  digits.dataset.check = tone || "none";
  digits.textContent = text;

  const decision = document.createElement("div");
  decision.className = "document-decision";
  // decisionCell draws a table cell; here its content stands in the card instead.
  decision.append(...decisionCell(d.id, [
    ["verify", "Verify", "", (note) => review(d, "REVIEW_DECISION_APPROVE", note)],
    ["reject", "Reject", "danger", (note) => review(d, "REVIEW_DECISION_REJECT", note)],
  ]).childNodes);

  const side = document.createElement("div");
  side.className = "mrz-side";
  side.append(table, digits, decision);
  const columns = document.createElement("div");
  columns.className = "document-columns";
  columns.append(figure, side);
  card.append(title, meta, columns);
  return card;
}

// The page image, read through the public API with the staff token (DownloadDocument, which the
// service writes to the document's access log) and shown as a data: URL (the page's policy allows
// no other image source).
async function showPage(d, figure, button) {
  button.disabled = true;
  try {
    const reply = await fetch(`${API}/documents/${encodeURIComponent(d.id)}/content`, {
      headers: { authorization: `Bearer ${session.access}` }, credentials: "omit", cache: "no-store" });
    if (!reply.ok) throw new ApiError(reply.status, await reply.json().catch(() => ({})));
    const type = (reply.headers.get("content-type") || "").split(";")[0];
    if (type !== "image/png" && type !== "image/jpeg") {
      const note = document.createElement("p");
      note.textContent = `The content is ${type}, which the console does not display.`;
      figure.append(note);
      button.remove();
      return;
    }
    const url = await dataUrl(reply);
    const image = document.createElement("img");
    image.alt = `The uploaded page of ${d.id}, for comparison with the fields beside it`;
    image.src = url;
    figure.append(image);
    button.remove();
  } catch (error) {
    button.disabled = false;
    fail(`The page of ${d.id} could not be read: ${error.message}`);
  }
}

// A fetched image as a data: URL (the page's policy allows no other image source than its own).
async function dataUrl(reply) {
  const blob = await reply.blob();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

async function review(d, decision, note) {
  const verb = decision === "REVIEW_DECISION_APPROVE" ? "verified" : "rejected";
  try {
    const reply = await call("POST", `/documents/${encodeURIComponent(d.id)}/review`,
      { decision, reason: note, version: d.version, request_id: crypto.randomUUID() });
    say(`Document ${d.id} ${verb}: now ${short(reply.document.status, "DOCUMENT_STATUS_")}.`);
    await loadDocuments();
    $("documents-review-title").focus();
    return true;
  } catch (error) {
    fail(`Document ${d.id} was not ${verb}: ${error.message}`);
    return false;
  }
}

// -- the books (admin) ----------------------------------------------------------------------------

function loadBooks() {
  loadTrialBalance();
}

async function loadTrialBalance() {
  const rows = $("trial-rows");
  try {
    const reply = await call("GET", "/ledger/reports/trial-balance");
    const totals = reply.totals || [];
    rows.replaceChildren(...totals.map((t) => {
      const tr = document.createElement("tr");
      tr.dataset.currency = t.currency;
      tr.append(cell(t.currency),
        cell(money({ amount_minor: t.total_debits_minor, currency: t.currency }), "num"),
        cell(money({ amount_minor: t.total_credits_minor, currency: t.currency }), "num"),
        cell(t.balanced ? "yes" : "NO: debits and credits differ", t.balanced ? "good" : "bad"));
      return tr;
    }));
    document.body.dataset.trialLoaded = String(totals.length);
  } catch (error) {
    rows.replaceChildren();
    fail(`The trial balance could not be read: ${error.message}`);
    document.body.dataset.trialLoaded = "error";
  }
}

async function verifyChain() {
  const out = $("chain-result");
  out.className = "result"; out.textContent = "Verifying…";
  try {
    const r = await call("POST", "/ledger/chain:verify", {});
    if (r.valid) {
      out.className = "result good";
      const n = Number(r.entries_checked || 0);
      out.textContent = `The chain is intact: ${n} ${n === 1 ? "entry" : "entries"} checked.`;
    } else {
      out.className = "result bad";
      out.textContent = `The chain is broken at entry ${r.first_broken_transaction_id} (sequence ` +
        `${r.first_broken_sequence}), after ${r.entries_checked || 0} entries checked: ${r.detail}`;
    }
    out.dataset.valid = String(!!r.valid);
  } catch (error) {
    out.className = "result bad"; out.textContent = "";
    fail(`The chain could not be verified: ${error.message}`);
  }
}

// datetime-local gives "2026-12-07T10:30" with no zone; the form says UTC.
const utc = (value) => (value ? `${value}:00Z` : "");

function rangeQuery(from, to) {
  const query = new URLSearchParams();
  if (from) query.set("time_range.start_time", from);
  if (to) query.set("time_range.end_time", to);
  return query;
}

async function explore(event) {
  event.preventDefault();
  const target = $("explorer-account").value.trim();
  const choices = $("explorer-accounts");
  choices.replaceChildren();
  $("explorer-result").replaceChildren();
  if (!target) { fail("Enter an account id or a customer id."); $("explorer-account").focus(); return; }
  if (!target.startsWith("usr_")) { await showAccount(target); return; }
  // A customer: their accounts to choose from.
  try {
    const reply = await call("GET", `/ledger/accounts?owner_id=${encodeURIComponent(target)}&page_size=50`);
    const accounts = reply.accounts || [];
    choices.replaceChildren(...accounts.map((a) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button"; button.className = "secondary small"; button.dataset.accountId = a.id;
      button.textContent = `${a.name || a.id} (${a.currency}): ${money(a.balance && a.balance.posted)}`;
      button.addEventListener("click", () => showAccount(a.id));
      item.append(button);
      return item;
    }));
    if (!accounts.length) say(`${target} has no ledger account.`);
    else if (accounts.length === 1) await showAccount(accounts[0].id);
  } catch (error) {
    fail(`The accounts of ${target} could not be read: ${error.message}`);
  }
}

async function showAccount(accountId) {
  const out = $("explorer-result");
  const query = rangeQuery(utc($("explorer-from").value), utc($("explorer-to").value));
  query.set("page_size", "50");
  try {
    const [{ account }, listed] = await Promise.all([
      call("GET", `/ledger/accounts/${encodeURIComponent(accountId)}`),
      call("GET", `/ledger/accounts/${encodeURIComponent(accountId)}/transactions?${query}`),
    ]);
    const b = account.balance || {};
    const summary = document.createElement("p");
    summary.id = "explorer-balance";
    summary.textContent = `${account.name || account.id} (${account.id}, owner ${account.owner_id || "platform"}): ` +
      `posted ${money(b.posted)}, pending out ${money(b.pending_debits)}, pending in ` +
      `${money(b.pending_credits)}, available ${money(b.available)}`;
    const table = document.createElement("table");
    table.id = "explorer-entries";
    const cap = document.createElement("caption");
    cap.className = "visually-hidden"; cap.textContent = `Entries touching ${account.id}, newest first`;
    const head = document.createElement("thead");
    head.innerHTML = "<tr><th scope=\"col\">Entry</th><th scope=\"col\">Time</th><th scope=\"col\">Type</th>" +
      "<th scope=\"col\">Postings</th><th scope=\"col\">Pending transfer</th></tr>";
    const body = document.createElement("tbody");
    const entries = listed.transactions || [];
    body.replaceChildren(...entries.map(entryRow));
    table.append(cap, head, body);
    const none = document.createElement("p");
    none.textContent = "No entry in this range.";
    none.hidden = entries.length > 0;
    out.replaceChildren(summary, table, none);
    document.body.dataset.explorerLoaded = String(entries.length);
  } catch (error) {
    out.replaceChildren();
    fail(`The account ${accountId} could not be read: ${error.message}`);
    document.body.dataset.explorerLoaded = "error";
  }
}

function entryRow(t) {
  const tr = document.createElement("tr");
  tr.dataset.transactionId = t.id;
  const postings = document.createElement("ul");
  postings.className = "reasons";
  postings.replaceChildren(...(t.postings || []).map((p) => {
    const item = document.createElement("li");
    item.textContent = `${words(p.direction, "POSTING_DIRECTION_")} ${p.account_id} ${money(p.amount)}`;
    return item;
  }));
  const postingsCell = document.createElement("td");
  postingsCell.append(postings);
  const pending = document.createElement("td");
  if (t.pending_transfer_id) {
    const button = document.createElement("button");
    button.type = "button"; button.className = "secondary small"; button.dataset.action = "pending";
    button.textContent = t.pending_transfer_id;
    button.setAttribute("aria-label", `Show pending transfer ${t.pending_transfer_id}`);
    button.addEventListener("click", async () => {
      try {
        const { pending_transfer: p } = await call("GET",
          `/ledger/pending-transfers/${encodeURIComponent(t.pending_transfer_id)}`);
        const text = document.createElement("p");
        text.className = "pending";
        text.textContent = `${words(p.status, "PENDING_TRANSFER_STATUS_")}: ${money(p.amount)} from ` +
          `${p.debit_account_id} to ${p.credit_account_id}` +
          (p.posted_amount ? `, posted ${money(p.posted_amount)}` : "");
        button.replaceWith(text);
      } catch (error) {
        fail(`The pending transfer could not be read: ${error.message}`);
      }
    });
    pending.append(button);
  }
  tr.append(cell(`${t.id} (#${t.sequence})`, "id"),
    cell(t.timestamp ? new Date(t.timestamp).toISOString().replace("T", " ").slice(0, 19) : ""),
    cell(`${words(t.type, "TRANSACTION_TYPE_")} ${money(t.amount)}${t.description ? `: ${t.description}` : ""}`),
    postingsCell, pending);
  return tr;
}

// A report cell's value: money, integer, text or time.
function cellValue(c) {
  if (!c) return "";
  if (c.money_value) return c.money_value;
  if (c.int_value !== undefined) return Number(c.int_value);
  if (c.time_value) return c.time_value;
  return c.string_value || "";
}

async function drawCharts(event) {
  if (event) event.preventDefault();
  const currency = $("charts-currency").value.trim().toUpperCase();
  const days = Math.min(365, Math.max(1, Number($("charts-days").value) || 30));
  const end = new Date();
  const start = new Date(end.getTime() - days * 86400000);
  const query = rangeQuery(start.toISOString(), end.toISOString());
  query.set("currency", currency);
  await Promise.all([drawVolumes(query, currency), drawPortfolio(query)]);
}

async function drawVolumes(query, currency) {
  try {
    const { report } = await call("GET", `/analytics/reports/payment_volumes?${query}`);
    const rows = (report.rows || []).map((r) => r.cells.map(cellValue));
    $("volumes-rows").replaceChildren(...rows.map(([day, type, count, volume]) => {
      const tr = document.createElement("tr");
      tr.append(cell(String(day).slice(0, 10)), cell(type), cell(String(count), "num"), cell(money(volume), "num"));
      return tr;
    }));
    // One bar per day (every type summed), drawn here from the report's figures.
    const perDay = new Map();
    for (const [day, , , volume] of rows) {
      const key = String(day).slice(0, 10);
      perDay.set(key, (perDay.get(key) || 0n) + BigInt(volume.amount_minor || "0"));
    }
    $("volumes-chart").replaceChildren(barChart([...perDay.entries()].sort(), currency));
    document.body.dataset.volumesLoaded = String(rows.length);
  } catch (error) {
    fail(`Payment volumes could not be read: ${error.message}`);
    document.body.dataset.volumesLoaded = "error";
  }
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// A labelled bar chart of (day, minor units) pairs; heights scale to the largest bar.
function barChart(points, currency) {
  const width = 720, height = 240, left = 8, bottom = 40, top = 20;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "bars",
    "aria-label": points.length
      ? `Volume per day in ${currency}: ` + points.map(([d, v]) => `${d} ${money({ amount_minor: String(v), currency })}`).join("; ")
      : `No ${currency} volume in the range` });
  const largest = points.reduce((m, [, v]) => (v > m ? v : m), 0n) || 1n;
  const slot = (width - left) / Math.max(points.length, 1);
  points.forEach(([day, value], i) => {
    const h = Number((value * BigInt(height - bottom - top)) / largest);
    const x = left + i * slot + slot * 0.15;
    const bar = svg("rect", { x, y: height - bottom - h, width: slot * 0.7, height: Math.max(h, 1), class: "bar" });
    bar.append(svg("title", {}, `${day}: ${money({ amount_minor: String(value), currency })}`));
    chart.append(bar,
      svg("text", { x: x + slot * 0.35, y: height - bottom + 16, "text-anchor": "middle", class: "axis" }, day.slice(5)),
      svg("text", { x: x + slot * 0.35, y: height - bottom - h - 4, "text-anchor": "middle", class: "axis" },
        money({ amount_minor: String(value), currency }).split(" ")[0]));
  });
  chart.append(svg("line", { x1: left, x2: width, y1: height - bottom, y2: height - bottom, class: "axis-line" }));
  return chart;
}

async function drawPortfolio(query) {
  try {
    const chart = new URLSearchParams(query);
    chart.set("image_format", "IMAGE_FORMAT_PNG");
    const [imageReply, { report }] = await Promise.all([
      fetch(`${API}/analytics/charts/CHART_KIND_CREDIT_PORTFOLIO?${chart}`, {
        headers: { authorization: `Bearer ${session.access}` }, credentials: "omit", cache: "no-store" }),
      call("GET", `/analytics/reports/credit_portfolio?${query}`),
    ]);
    if (!imageReply.ok) throw new ApiError(imageReply.status, await imageReply.json().catch(() => ({})));
    const rows = (report.rows || []).map((r) => r.cells.map(cellValue));
    $("portfolio-rows").replaceChildren(...rows.map(([status, count, approved, disbursed, outstanding]) => {
      const tr = document.createElement("tr");
      tr.dataset.status = status;
      tr.append(cell(status.replaceAll("_", " ")), cell(String(count), "num"), cell(money(approved), "num"),
        cell(money(disbursed), "num"), cell(money(outstanding), "num"));
      return tr;
    }));
    const image = document.createElement("img");
    image.alt = "The credit portfolio by status: " +
      rows.map(([status, count]) => `${status.replaceAll("_", " ")} ${count}`).join(", ");
    image.src = await dataUrl(imageReply);
    $("portfolio-chart").replaceChildren(image);
    document.body.dataset.portfolioLoaded = String(rows.length);
  } catch (error) {
    fail(`The credit portfolio could not be read: ${error.message}`);
    document.body.dataset.portfolioLoaded = "error";
  }
}

// -- customers (admin, support, compliance) --------------------------------------------------------

const customer = { user: null };

function loadCustomers() {
  $("customer-query").focus();
}

const roleNames = (user) => (user.roles || []).map((r) => words(r, "ROLE_")).join(", ");
const fullName = (user) => [user.profile?.first_name, user.profile?.last_name].filter(Boolean).join(" ");

async function searchCustomers(event) {
  event.preventDefault();
  const query = $("customer-query").value.trim();
  if (query.length < 2) { fail("Enter at least two characters of a name, an e-mail or a user id."); return; }
  try {
    const reply = await call("GET", `/users/search?query=${encodeURIComponent(query)}&page_size=50`);
    const users = reply.users || [];
    $("customer-rows").replaceChildren(...users.map((u) => {
      const tr = document.createElement("tr");
      tr.dataset.userId = u.id;
      const open = document.createElement("button");
      open.type = "button"; open.className = "secondary small"; open.dataset.action = "open";
      open.textContent = u.username; open.setAttribute("aria-label", `Open the profile of ${u.username}`);
      open.addEventListener("click", () => openProfile(u.id));
      const first = document.createElement("td");
      first.append(open, document.createTextNode(` ${u.id}`));
      first.className = "id";
      tr.append(first, cell(fullName(u)), cell(u.email), cell(roleNames(u)), cell(words(u.status, "USER_STATUS_")));
      return tr;
    }));
    $("customer-results").hidden = users.length === 0;
    $("customer-none").hidden = users.length > 0;
    $("profile").hidden = true;
    say(`${users.length} ${users.length === 1 ? "user matches" : "users match"} “${query}”.`);
    document.body.dataset.searchLoaded = String(users.length);
  } catch (error) {
    fail(`The search failed: ${error.message}`);
    document.body.dataset.searchLoaded = "error";
  }
}

// One part of the profile: its own call, shown where it belongs, or why it could not be read (a
// role may read some parts and not others: the services decide).
async function part(id, load, render) {
  const box = $(id);
  box.replaceChildren(Object.assign(document.createElement("p"), { textContent: "Loading…" }));
  try {
    const nodes = render(await load());
    box.replaceChildren(...nodes);
  } catch (error) {
    const refused = document.createElement("p");
    refused.className = "refused";
    refused.textContent = `Not readable with your roles or not available: ${error.message}`;
    box.replaceChildren(refused);
  }
}

function list(items, text, empty) {
  if (!items.length) return [Object.assign(document.createElement("p"), { textContent: empty })];
  const ul = document.createElement("ul");
  ul.className = "plain";
  ul.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    const [content, key] = text(item);
    li.textContent = content;
    if (key) li.dataset.id = key;
    return li;
  }));
  return [ul];
}

const day = (stamp) => (stamp ? new Date(stamp).toISOString().slice(0, 10) : "");

async function openProfile(userId) {
  let user;
  try {
    user = (await call("GET", `/users/${encodeURIComponent(userId)}`)).user;
  } catch (error) {
    fail(`The profile of ${userId} could not be read: ${error.message}`);
    return;
  }
  customer.user = user;
  drawFacts(user);
  $("profile").hidden = false;
  $("profile-admin").hidden = !session.roles.includes("admin");
  disarm();
  $("profile-title").focus();
  const id = encodeURIComponent(user.id);
  await Promise.all([
    part("profile-accounts", () => call("GET", `/ledger/accounts?owner_id=${id}&page_size=50`),
      (r) => list(r.accounts || [], (a) => [`${a.name || a.id} (${a.id}): posted ${money(a.balance?.posted)}, ` +
        `available ${money(a.balance?.available)}`, a.id], "No ledger account.")),
    part("profile-payments", () => call("GET", `/payments/users/${id}?page_size=20&include_incoming=true`),
      (r) => list(r.payments || [], (p) => [`${day(p.create_time)} ${words(p.kind, "PAYMENT_KIND_")} ` +
        `${money(p.amount)} ${words(p.status, "PAYMENT_STATUS_")} (${p.id})`, p.id], "No payment.")),
    part("profile-loans", () => call("GET", `/credit/applications?user_id=${id}&page_size=20`),
      (r) => list(r.loan_applications || [], (a) => [`${day(a.create_time)} ${money(a.amount)} over ` +
        `${a.term_months} months: ${words(a.status, "LOAN_APPLICATION_STATUS_")} (${a.id})`, a.id],
      "No loan application.")),
    part("profile-access", () => call("GET", `/users/${id}/access-events?page_size=50`),
      (r) => list(r.access_events || [], (e) => [accessLine(e), e.id], "No access event.")),
    part("profile-documents", () => call("GET", `/documents/user/${id}?page_size=20`),
      (r) => documentsWithLog(r.documents || [])),
  ]);
  document.body.dataset.profileLoaded = user.id;
}

const instant = (stamp) => new Date(stamp).toISOString().replace("T", " ").slice(0, 19);

// One event of the user service's access log, newest first: what, from where, in which session, by whom.
function accessLine(e) {
  let text = `${instant(e.create_time)} ${words(e.kind, "ACCESS_EVENT_KIND_")}`;
  if (e.detail) text += `: ${e.detail}`;
  if (e.client_address) text += ` from ${e.client_address}`;
  if (e.user_agent) text += ` (${e.user_agent})`;
  if (e.session_id) text += `, session ${e.session_id}`;
  if (e.actor_id) text += `, by ${e.actor_id}`;
  return text;
}

function drawFacts(user) {
  $("profile-title").textContent = `${user.username} (${user.id})`;
  const facts = [["Name", fullName(user) || "(none given)"], ["E-mail", user.email],
    ["Roles", roleNames(user)], ["Status", words(user.status, "USER_STATUS_")],
    ["Since", day(user.create_time)]];
  $("profile-facts").replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v; dd.dataset.fact = k.toLowerCase();
    return [dt, dd];
  }));
}

function documentsWithLog(documents) {
  if (!documents.length) return [Object.assign(document.createElement("p"), { textContent: "No document." })];
  const ul = document.createElement("ul");
  ul.className = "plain";
  ul.replaceChildren(...documents.map((d) => {
    const li = document.createElement("li");
    li.dataset.id = d.id;
    li.append(`${words(d.document_type, "DOCUMENT_TYPE_")} ${d.filename}: ${words(d.status, "DOCUMENT_STATUS_")} (${d.id}) `);
    const button = document.createElement("button");
    button.type = "button"; button.className = "secondary small"; button.dataset.action = "access-log";
    button.textContent = "Access log"; button.setAttribute("aria-label", `Access log of ${d.id}`);
    button.addEventListener("click", async () => {
      const log = document.createElement("ul");
      log.className = "activity";
      try {
        const reply = await call("GET", `/documents/${encodeURIComponent(d.id)}/access-events?page_size=50`);
        log.replaceChildren(...(reply.events || []).map((e) => Object.assign(document.createElement("li"), {
          textContent: `${instant(e.create_time)} ` +
            `${words(e.action, "DOCUMENT_ACCESS_ACTION_")} by ${e.actor_id}` })));
      } catch (error) {
        log.replaceChildren(Object.assign(document.createElement("li"), {
          textContent: `not readable: ${error.message}` }));
      }
      button.replaceWith(log);
    });
    li.append(button);
    return li;
  }));
  return [ul];
}

// Deactivation takes two presses: the first arms the button, the second acts.
function disarm() {
  const button = $("user-deactivate");
  delete button.dataset.armed;
  button.textContent = "Deactivate";
}

async function adminAction(run, done) {
  const user = customer.user;
  try {
    const reply = await run(encodeURIComponent(user.id));
    customer.user = reply.user || user;
    drawFacts(customer.user);
    say(done(customer.user));
  } catch (error) {
    fail(`Refused: ${error.message}`);
  }
}

function grantRole() {
  const role = $("role-choice").value;
  adminAction((id) => call("POST", `/users/${id}/roles`, { role }),
    (u) => `${u.username} now has the roles ${roleNames(u)}.`);
}

function revokeRole() {
  const role = $("role-choice").value;
  adminAction((id) => call("DELETE", `/users/${id}/roles/${role}`),
    (u) => `${u.username} now has the roles ${roleNames(u)}.`);
}

function deactivate() {
  const button = $("user-deactivate");
  if (!button.dataset.armed) {
    button.dataset.armed = "1";
    button.textContent = `Confirm: deactivate ${customer.user.username}`;
    say("Press again to deactivate: sign-in is refused and every session ends; the records stay.");
    return;
  }
  disarm();
  adminAction((id) => call("DELETE", `/users/${id}`),
    (u) => `${u.username} is ${words(u.status, "USER_STATUS_")}.`);
}

$("sign-in-form").addEventListener("submit", signIn);
$("customer-search").addEventListener("submit", searchCustomers);
$("role-grant").addEventListener("click", grantRole);
$("role-revoke").addEventListener("click", revokeRole);
$("user-deactivate").addEventListener("click", deactivate);
$("trial-reload").addEventListener("click", () => loadTrialBalance());
$("chain-verify").addEventListener("click", () => verifyChain());
$("explorer-form").addEventListener("submit", explore);
$("charts-form").addEventListener("submit", drawCharts);
$("documents-reload").addEventListener("click", () => loadDocuments());
$("sign-out").addEventListener("click", signOut);
$("payments-reload").addEventListener("click", () => loadPayments());
$("loans-reload").addEventListener("click", () => loadLoans());
document.body.dataset.state = "signed-out";
