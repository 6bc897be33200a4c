// The public search: everything happens in the browser on data.json (published grades only, written at every
// publication). Text goes into the page with textContent only, so no name can inject markup.
"use strict";

const PAGE_SIZE = 20;
const nl = new Intl.NumberFormat("nl-NL");
const $ = (id) => document.getElementById(id);

// Case- and accent-insensitive, like keurmerk.metrics.status.search_key ("Fryslân" finds "fryslan").
function searchKey(text) {
  return (text || "").normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().trim().replace(/\s+/g, " ");
}

// Smallest number of edits turning `query` into some substring of `text` (Sellers' algorithm), stopped early
// once it exceeds `limit`: a small typo ("partnr") still finds "partner in werk".
function editsToSubstring(query, text, limit) {
  let previous = new Array(query.length + 1);
  for (let i = 0; i <= query.length; i++) previous[i] = i;
  let best = previous[query.length];
  for (let j = 1; j <= text.length; j++) {
    const current = [0];
    for (let i = 1; i <= query.length; i++) {
      const cost = query[i - 1] === text[j - 1] ? 0 : 1;
      current[i] = Math.min(previous[i - 1] + cost, previous[i] + 1, current[i - 1] + 1);
    }
    best = Math.min(best, current[query.length]);
    if (best === 0) return 0;
    previous = current;
  }
  return best > limit ? limit + 1 : best;
}

function nameMatches(key, query) {
  if (!query || key.includes(query)) return true;
  const limit = query.length >= 8 ? 2 : query.length >= 4 ? 1 : 0;
  return limit > 0 && editsToSubstring(query, key, limit) <= limit;
}

function readState() {
  const q = new URLSearchParams(location.search);
  return {
    naam: q.get("naam") || "",
    dienst: q.get("dienst") || "",
    provincie: q.get("provincie") || "",
    periode: q.get("periode") || "",
    sortering: q.get("sortering") || "naam",
    pagina: Math.max(1, parseInt(q.get("pagina") || "1", 10) || 1),
  };
}

function writeState(state) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) {
    if (v && !(k === "pagina" && v === 1) && !(k === "sortering" && v === "naam")) q.set(k, v);
  }
  const query = q.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

function option(select, value, label) {
  const o = document.createElement("option");
  o.value = String(value);
  o.textContent = label;
  select.append(o);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function row(label, value, n, className) {
  const tr = el("tr", className || "");
  tr.append(el("td", "label", label));
  if (value === null) {
    const why = el("td", "why", n);
    why.colSpan = 2;
    tr.append(why);
  } else {
    tr.append(el("td", "grade", value.text));
    tr.append(el("td", "n", `n = ${value.nText}`));
  }
  return tr;
}

function card(p, data) {
  const li = el("li", "card");
  li.dataset.km = "result";
  li.append(el("h2", "", p.name));
  const area = p.provinces.map((code) => data.provinceNames[code] || code).join(", ") || "–";
  li.append(el("div", "sub", `Meetperiode ${p.period} · werkgebied: ${area}`));
  const reason = (key) => `niet gepubliceerd: ${data.reasons[key] || key}`;

  li.append(el("h3", "", "Cliënten: rapportcijfer per dienst"));
  const clients = el("table", "grades");
  for (const g of p.grades) clients.append(row(g.label, g, null));
  for (const u of p.unpublished) clients.append(row(u.label, null, reason(u.reason), "unpublished"));
  if (p.total) clients.append(row("Totaal cliënten", p.total, null, "total"));
  else if (p.totalReason) clients.append(row("Totaal cliënten", null, reason(p.totalReason), "total"));
  li.append(clients);

  li.append(el("h3", "", "Opdrachtgevers"));
  const commissioners = el("table", "grades");
  if (p.commissioners) commissioners.append(row("Rapportcijfer", p.commissioners, null));
  else commissioners.append(row("Rapportcijfer", null, reason(p.commissionersReason)));
  li.append(commissioners);
  return li;
}

function gradeFor(p, sort, dienst) {
  if (sort === "opdrachtgevers") return p.commissioners ? p.commissioners.grade : null;
  if (dienst) {
    const g = p.grades.find((x) => String(x.service) === dienst);
    return g ? g.grade : null;
  }
  return p.total ? p.total.grade : null;
}

function render(data, state) {
  const query = searchKey(state.naam);
  let found = data.providers.filter(
    (p) =>
      String(p.period) === state.periode &&
      (!state.dienst || p.services.includes(Number(state.dienst))) &&
      (!state.provincie || p.provinces.includes(state.provincie)) &&
      nameMatches(p.key, query),
  );
  if (state.sortering === "naam") {
    found.sort((a, b) => a.key.localeCompare(b.key, "nl"));
  } else {
    const graded = found.map((p) => [gradeFor(p, state.sortering, state.dienst), p]);
    graded.sort((a, b) => (b[0] ?? -1) - (a[0] ?? -1) || a[1].key.localeCompare(b[1].key, "nl"));
    found = graded.map((x) => x[1]);
  }
  const pages = Math.max(1, Math.ceil(found.length / PAGE_SIZE));
  state.pagina = Math.min(state.pagina, pages);
  const shown = found.slice((state.pagina - 1) * PAGE_SIZE, state.pagina * PAGE_SIZE);

  const list = $("resultaten");
  list.replaceChildren(...shown.map((p) => card(p, data)));
  $("aantal").dataset.km = "count";
  $("aantal").textContent = found.length
    ? `${nl.format(found.length)} keurmerkhouder${found.length === 1 ? "" : "s"} gevonden`
    : "Geen keurmerkhouders gevonden. Probeer een andere naam, dienst of provincie.";
  $("paginas").hidden = pages <= 1;
  $("pagina").textContent = `Pagina ${nl.format(state.pagina)} van ${nl.format(pages)}`;
  $("vorige").disabled = state.pagina <= 1;
  $("volgende").disabled = state.pagina >= pages;
  writeState(state);
}

async function main() {
  const response = await fetch("data.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`data.json: ${response.status}`);
  const data = await response.json();
  data.provinceNames = Object.fromEntries(data.provinces.map((p) => [p.code, p.name]));
  for (const s of data.services) option($("dienst"), s.code, s.label);
  for (const p of data.provinces) option($("provincie"), p.code, p.name);
  for (const period of data.periods) option($("periode"), period, String(period));
  $("regel").textContent = data.rule;
  $("bijgewerkt").textContent = `Bijgewerkt: ${new Date(data.written).toLocaleDateString("nl-NL")}`;

  const state = readState();
  if (!data.periods.map(String).includes(state.periode)) state.periode = String(data.periods[0] ?? "");
  for (const key of ["naam", "dienst", "provincie", "periode", "sortering"]) $(key).value = state[key];
  for (const key of ["dienst", "provincie", "periode"]) {
    if ($(key).value !== state[key]) state[key] = $(key).value; // an unknown value in the URL
  }

  const update = (key) => () => {
    state[key] = $(key).value;
    state.pagina = 1;
    render(data, state);
  };
  let typing;
  $("naam").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(update("naam"), 120);
  });
  for (const key of ["dienst", "provincie", "periode", "sortering"]) $(key).addEventListener("change", update(key));
  $("zoek").addEventListener("submit", (event) => {
    event.preventDefault();
    update("naam")();
  });
  const go = (step) => () => {
    state.pagina += step;
    render(data, state);
    $("aantal").scrollIntoView({ block: "start" });
  };
  $("vorige").addEventListener("click", go(-1));
  $("volgende").addEventListener("click", go(1));
  render(data, state);
}

main().catch(() => {
  $("aantal").textContent = "De gegevens konden niet worden geladen. Probeer het later opnieuw.";
});
