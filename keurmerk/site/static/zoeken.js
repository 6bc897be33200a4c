// The public search: everything happens in the browser on the published grades (written at every publication):
// data.json is the index, each period's listing is a file of its own, loaded when that period is first shown
// (keurmerk/site/__init__.py describes the compact entries). Text goes into the page with textContent only, so no
// name can inject markup.
"use strict";

const PAGE_SIZE = 20;
const nl = new Intl.NumberFormat("nl-NL");
// grades come rounded to one decimal (half away from zero); this only writes them the Dutch way
const oneDecimal = new Intl.NumberFormat("nl-NL", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
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

function row(label, value, why, className) {
  const tr = el("tr", className || "");
  tr.append(el("td", "label", label));
  if (value === null) {
    const cell = el("td", "why", why);
    cell.colSpan = 2;
    tr.append(cell);
  } else {
    tr.append(el("td", "grade", oneDecimal.format(value[0])));
    tr.append(el("td", "n", `n = ${nl.format(value[1])}`));
  }
  return tr;
}

// a listing names a dienst by its code, a form that is not split per dienst by its name
const labelOf = (what, data) => (typeof what === "number" ? data.serviceNames[what] || String(what) : what);
// [grade, n] when shown; otherwise the key of the reason
const shown = (value) => (Array.isArray(value) ? value : null);

function card(p, data) {
  const li = el("li", "card");
  li.dataset.km = "result";
  li.append(el("h2", "", p.name));
  const area = p.p.map((code) => data.provinceNames[code] || code).join(", ") || "–";
  li.append(el("div", "sub", `Meetperiode ${p.period} · werkgebied: ${area}`));
  const reason = (key) => `niet gepubliceerd: ${data.reasons[key] || key}`;

  li.append(el("h3", "", "Cliënten: rapportcijfer per dienst"));
  const clients = el("table", "grades");
  for (const [what, grade, n] of p.g) clients.append(row(labelOf(what, data), [grade, n], null));
  for (const [what, why] of p.u) clients.append(row(labelOf(what, data), null, reason(why), "unpublished"));
  if (p.t !== undefined) clients.append(row("Totaal cliënten", shown(p.t), shown(p.t) ? null : reason(p.t), "total"));
  li.append(clients);

  li.append(el("h3", "", "Opdrachtgevers"));
  const commissioners = el("table", "grades");
  commissioners.append(row("Rapportcijfer", shown(p.c), shown(p.c) ? null : reason(p.c)));
  li.append(commissioners);
  return li;
}

function gradeFor(p, sort, dienst) {
  if (sort === "opdrachtgevers") return shown(p.c) ? p.c[0] : null;
  if (dienst) {
    const g = p.g.find((x) => String(x[0]) === dienst);
    return g ? g[1] : null;
  }
  return shown(p.t) ? p.t[0] : null;
}

function render(data, state) {
  const query = searchKey(state.naam);
  let found = (data.listings.get(state.periode) || []).filter(
    (p) =>
      (!state.dienst || p.s.includes(Number(state.dienst))) &&
      (!state.provincie || p.p.includes(state.provincie)) &&
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

// The listing of one period, fetched once: its file name changes with its content, so the browser may keep it.
async function listing(data, period) {
  if (!data.listings.has(period)) {
    const file = data.files[period];
    const response = await fetch(file);
    if (!response.ok) throw new Error(`${file}: ${response.status}`);
    const body = await response.json();
    for (const p of body.providers) {
      p.period = body.period;
      p.key = searchKey(p.name);
    }
    data.listings.set(period, body.providers);
  }
  return data.listings.get(period);
}

function failed() {
  $("aantal").textContent = "De gegevens konden niet worden geladen. Probeer het later opnieuw.";
}

async function main() {
  const response = await fetch("data.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`data.json: ${response.status}`);
  const data = await response.json();
  data.listings = new Map();
  data.provinceNames = Object.fromEntries(data.provinces.map((p) => [p.code, p.name]));
  data.serviceNames = Object.fromEntries(data.services.map((s) => [s.code, s.label]));
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
  if (state.periode) await listing(data, state.periode);

  const update = (key) => async () => {
    state[key] = $(key).value;
    state.pagina = 1;
    if (key === "periode") {
      $("aantal").textContent = "Gegevens laden…";
      try {
        await listing(data, state.periode);
      } catch {
        return failed();
      }
      if (state.periode !== $("periode").value) return; // another period was chosen meanwhile
    }
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

main().catch(failed);
