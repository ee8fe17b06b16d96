// The operator console: signs in once, then follows /console/stream and renders what it says.
const strings = JSON.parse(document.getElementById("strings").textContent);
const t = (key) => strings[key] ?? key;
const $ = (id) => document.getElementById(id);
const BOARD_STATUSES = [
  "opened", "triaged", "investigating", "waiting_on_customer", "development",
  "fix_in_progress", "testing", "deployed", "awaiting_confirmation",
];
const CLOCKS = ["first_response_due", "next_update_due", "resolution_due"];

const state = { tickets: new Map(), stream: null, announced: new Set() };

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function announce(message) {
  $("announcer").textContent = message;
}

// --- signing in --------------------------------------------------------------------------

async function checkSession() {
  const response = await fetch("/console/session", { credentials: "same-origin" });
  if (response.ok) return (await response.json()).name;
  return null;
}

function showSignIn() {
  $("console").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  $("api-key").focus();
}

function showConsole(name) {
  $("sign-in").hidden = true;
  $("who").hidden = false;
  $("console").hidden = false;
  $("agent-name").textContent = name;
  connect();
}

async function signIn(event) {
  event.preventDefault();
  const input = $("api-key");
  const response = await fetch("/console/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-API-Key": input.value },
  });
  input.value = "";
  if (!response.ok) {
    $("sign-in-error").textContent = t("refused");
    input.focus();
    return;
  }
  $("sign-in-error").textContent = "";
  showConsole(await checkSession());
}

async function signOut() {
  await fetch("/console/session", { method: "DELETE", credentials: "same-origin" });
  state.stream?.close();
  state.stream = null;
  showSignIn();
}

// --- the live feed -----------------------------------------------------------------------

function connect() {
  state.stream?.close();
  const stream = new EventSource("/console/stream");
  state.stream = stream;
  stream.addEventListener("open", () => { $("connection").textContent = t("live"); });
  stream.addEventListener("error", async () => {
    $("connection").textContent = t("reconnecting");
    if (stream.readyState === EventSource.CLOSED && !(await checkSession())) {
      showSignIn();
    }
  });
  stream.addEventListener("board", (event) => {
    const { tickets } = JSON.parse(event.data);
    state.tickets = new Map(tickets.map((ticket) => [ticket.ticket_id, ticket]));
    renderBoard();
  });
  stream.addEventListener("ticket", (event) => applyTicket(JSON.parse(event.data)));
  stream.addEventListener("incidents", (event) => renderIncidents(JSON.parse(event.data)));
  stream.addEventListener("dead-letters", (event) => renderDeadLetters(JSON.parse(event.data)));
  stream.addEventListener("lag", (event) => renderLag(JSON.parse(event.data)));
}

function applyTicket(ticket) {
  const shown = state.tickets.get(ticket.ticket_id);
  if (shown && shown.updated_at > ticket.updated_at) return; // an older read arrived late
  if (BOARD_STATUSES.includes(ticket.status)) state.tickets.set(ticket.ticket_id, ticket);
  else state.tickets.delete(ticket.ticket_id);
  if (!shown) announce(`${t("ticket")} ${ticket.ticket_id}: ${t(`status.${ticket.status}`)}`);
  renderBoard();
}

// --- the board ---------------------------------------------------------------------------

function nextDeadline(ticket) {
  const due = CLOCKS.filter((clock) => ticket[clock]).map((clock) => [clock, ticket[clock]]);
  due.sort((a, b) => a[1].localeCompare(b[1]));
  return due[0] ?? null;
}

function renderBoard() {
  const priority = $("filter-priority").value;
  const team = $("filter-team").value;
  const shown = [...state.tickets.values()].filter(
    (ticket) => (!priority || ticket.priority === priority) && (!team || ticket.team === team),
  );
  $("board-count").textContent = `(${shown.length})`;
  const columns = $("board-columns");
  if (!shown.length) {
    columns.replaceChildren(el("p", { text: t("no_tickets") }));
    return;
  }
  columns.replaceChildren(
    ...BOARD_STATUSES.map((status) => [status, shown.filter((ticket) => ticket.status === status)])
      .filter(([, tickets]) => tickets.length)
      .map(([status, tickets]) => column(status, tickets)),
  );
  tickClocks();
}

function column(status, tickets) {
  const headingId = `column-${status}`;
  tickets.sort((a, b) => b.created_at.localeCompare(a.created_at));
  return el(
    "section", { class: "column", "aria-labelledby": headingId },
    el("h3", { id: headingId, text: `${t(`status.${status}`)} (${tickets.length})` }),
    el("ul", { class: "cards" }, ...tickets.map(card)),
  );
}

function card(ticket) {
  const deadline = nextDeadline(ticket);
  const clock = deadline
    ? el("time", { datetime: deadline[1], "data-due": deadline[1], class: "clock" })
    : null;
  return el(
    "li", { class: `card priority-${ticket.priority ?? "none"}${ticket.breached ? " breached" : ""}`,
      "data-ticket": ticket.ticket_id },
    el("button", { type: "button", class: "open-timeline", onclick: () => openTimeline(ticket) },
      el("span", { class: "ticket-id", text: ticket.ticket_id })),
    el("span", { class: "badge", text: t(`priority.${ticket.priority}`) }),
    ticket.breached ? el("strong", { class: "breach", text: t("breached") }) : null,
    el("p", { class: "summary", text: ticket.summary }),
    el("p", { class: "meta", text: `${t("customer")}: ${ticket.customer_id} · ${t("team")}: ${
      ticket.team ? t(`team.${ticket.team}`) : "—"}` }),
    deadline
      ? el("p", { class: "meta" }, `${t("due")} (${t(deadline[0])}): `, clock)
      : null,
  );
}

function countdown(ms) {
  const total = Math.floor(Math.abs(ms) / 1000);
  const [d, h, m, s] = [
    Math.floor(total / 86400), Math.floor(total / 3600) % 24,
    Math.floor(total / 60) % 60, total % 60,
  ];
  const text = (d ? `${d}d ` : "") + `${h}h ${String(m).padStart(2, "0")}m ${
    String(s).padStart(2, "0")}s`;
  return ms < 0 ? `${t("overdue")} ${text}` : text;
}

function tickClocks() {
  const now = Date.now();
  for (const clock of document.querySelectorAll("time[data-due]")) {
    const left = Date.parse(clock.dataset.due) - now;
    clock.textContent = countdown(left);
    clock.classList.toggle("overdue", left < 0);
    clock.closest(".card")?.classList.toggle("late", left < 0);
  }
}

// --- incidents, dead letters, lag ---------------------------------------------------------

function renderIncidents(incidents) {
  const box = $("incidents");
  if (!incidents.length) {
    box.replaceChildren(el("p", { text: t("no_incidents") }));
    return;
  }
  for (const incident of incidents) {
    if (!state.announced.has(incident.incident_id)) {
      state.announced.add(incident.incident_id);
      announce(`${t("incidents")}: ${incident.title}`);
    }
  }
  box.replaceChildren(...incidents.map(incidentCard));
}

function incidentCard(incident) {
  const counts = incident.counts;
  const total = Math.max(counts.recipients, 1);
  const row = (key) => el("div", { class: "count-row" },
    el("dt", { text: t(key) }),
    el("dd", { "data-count": key, text: String(counts[key]) }));
  return el(
    "article", { class: `incident severity-${incident.severity}`, id: `incident-${incident.incident_id}`,
      "aria-labelledby": `incident-title-${incident.incident_id}` },
    el("h3", { id: `incident-title-${incident.incident_id}`, text: incident.title }),
    el("p", { class: "meta" }, el("span", { class: "badge", text: t(`severity.${incident.severity}`) }),
      ` ${incident.incident_id} · ${t("declared")} `,
      el("time", { datetime: incident.declared_at, text: new Date(incident.declared_at).toLocaleString(document.documentElement.lang) })),
    el("p", { text: incident.message }),
    el("dl", { class: "counts" }, ...["affected", "notified", "delivered", "failed", "pending"].map(row)),
    el("label", { for: `progress-${incident.incident_id}`, text: `${t("delivered")}: ${counts.delivered} / ${counts.recipients}` }),
    el("progress", { id: `progress-${incident.incident_id}`, max: String(total), value: String(counts.delivered) }),
  );
}

function table(caption, headers, rows) {
  return el("table", {},
    el("caption", { class: "visually-hidden", text: caption }),
    el("thead", {}, el("tr", {}, ...headers.map((header) => el("th", { scope: "col", text: header })))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((cell) => el("td", { text: cell }))))));
}

function renderDeadLetters(letters) {
  const box = $("dead-letters");
  if (!letters.length) {
    box.replaceChildren(el("p", { text: t("no_dead_letters") }));
    return;
  }
  const newest = [...letters].reverse();
  box.replaceChildren(table(t("dead_letters"),
    [t("offset"), t("when"), t("source"), t("type"), t("error")],
    newest.map((letter) => [String(letter.offset), new Date(letter.at).toLocaleTimeString(),
      letter.source_topic.replace("switchboard.", ""), letter.type, letter.error])));
}

function renderLag(groups) {
  const box = $("lag");
  if (!groups.length) {
    box.replaceChildren(el("p", { text: t("no_groups") }));
    return;
  }
  box.replaceChildren(table(t("lag"), [t("group"), t("topic"), t("behind")],
    groups.map((group) => [group.group, group.topic.replace("switchboard.", ""), String(group.lag)])));
}

// --- a ticket's timeline -----------------------------------------------------------------

async function openTimeline(ticket) {
  const panel = $("timeline-panel");
  $("timeline-title").textContent = `${t("timeline")}: ${ticket.ticket_id}`;
  const response = await fetch(`/console/tickets/${encodeURIComponent(ticket.ticket_id)}/timeline`,
    { credentials: "same-origin" });
  const items = response.ok ? await response.json() : [];
  $("timeline").replaceChildren(...items.map(timelineItem));
  panel.hidden = false;
  panel.dataset.ticket = ticket.ticket_id;
  panel.focus();
}

function timelineItem(item) {
  const when = el("time", { datetime: item.occurred_at,
    text: new Date(item.occurred_at).toLocaleString(document.documentElement.lang) });
  if (item.kind === "delivery") {
    const outcome = item.type.replace("Notification", "");
    return el("li", { class: `delivery delivery-${outcome.toLowerCase()}` }, when,
      ` ${t("delivery")}: ${item.channel} → ${outcome}`,
      item.error ? ` (${item.error.message ?? JSON.stringify(item.error)})` : "");
  }
  return el("li", { class: "event" }, when, " ", el("strong", { text: item.type }),
    item.to_status ? ` → ${t(`status.${item.to_status}`)}` : "",
    item.reason ? ` — ${item.reason}` : "");
}

function closeTimeline() {
  const panel = $("timeline-panel");
  const ticket = panel.dataset.ticket;
  panel.hidden = true;
  document.querySelector(`[data-ticket="${ticket}"] button`)?.focus();
}

// --- start ---------------------------------------------------------------------------------

function fillFilters() {
  const priorities = Object.keys(strings).filter((key) => key.startsWith("priority."));
  const teams = Object.keys(strings).filter((key) => key.startsWith("team."));
  for (const [select, keys] of [[$("filter-priority"), priorities], [$("filter-team"), teams]]) {
    select.append(...keys.map((key) => el("option", { value: key.split(".")[1], text: t(key) })));
    select.addEventListener("change", renderBoard);
  }
}

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
$("timeline-close").addEventListener("click", closeTimeline);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("timeline-panel").hidden) closeTimeline();
});
fillFilters();
setInterval(tickClocks, 1000);
const name = await checkSession();
if (name) showConsole(name);
else showSignIn();
