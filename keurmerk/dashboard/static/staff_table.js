function plain(text) {
  return (text || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

function render({ model, el }) {
  el.classList.add("km-staff-table");
  const bar = document.createElement("div");
  bar.className = "km-table-bar";
  const search = document.createElement("input");
  search.type = "search";
  search.className = "km-search";
  search.placeholder = "Zoek op naam of nummer (P0123)";
  search.setAttribute("aria-label", "Zoek een aanbieder op naam of nummer");
  const count = document.createElement("span");
  count.className = "km-count";
  bar.append(search, count);
  const wrap = document.createElement("div");
  wrap.className = "km-table-wrap";
  const table = document.createElement("table");
  table.className = "km-table km-sortable";
  table.dataset.km = "staff-table";
  wrap.append(table);
  el.append(bar, wrap);
  search.value = model.get("query");

  search.addEventListener("input", () => {
    model.set("query", search.value);
    model.save_changes();
  });

  function sortRows(rows, key, descending) {
    return rows.slice().sort((a, b) => {
      const x = a.sort[key], y = b.sort[key];
      if (x === null || x === undefined) return (y === null || y === undefined) ? plain(a.name).localeCompare(plain(b.name), "nl") : 1;
      if (y === null || y === undefined) return -1;
      let c = typeof x === "string" ? x.localeCompare(y, "nl") : x - y;
      if (descending) c = -c;
      return c || plain(a.name).localeCompare(plain(b.name), "nl");
    });
  }

  function draw() {
    const columns = model.get("columns");
    const rows = model.get("rows");
    const key = model.get("sort_by");
    const descending = model.get("descending");
    const query = plain(model.get("query"));
    const selected = model.get("selected");
    if (search.value !== model.get("query")) search.value = model.get("query");
    const shown = sortRows(rows.filter((r) => !query || plain(r.name).includes(query) || plain(r.id).includes(query)), key, descending);

    const head = document.createElement("thead");
    const hr = document.createElement("tr");
    for (const column of columns) {
      const th = document.createElement("th");
      th.dataset.key = column.key;
      th.className = "km-sort" + (column.align.startsWith("left") ? " km-left" : "");
      th.tabIndex = 0; // sortable by keyboard too (Enter)
      th.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); th.click(); } });
      if (column.title) th.title = column.title;
      const active = column.key === key;
      th.setAttribute("aria-sort", active ? (descending ? "descending" : "ascending") : "none");
      th.textContent = column.label + (active ? (descending ? " ▼" : " ▲") : "");
      th.addEventListener("click", () => {
        if (model.get("sort_by") === column.key) {
          model.set("descending", !model.get("descending"));
        } else {
          model.set("sort_by", column.key);
          model.set("descending", Boolean(column.descending_first));
        }
        model.save_changes();
      });
      hr.append(th);
    }
    head.append(hr);

    const body = document.createElement("tbody");
    for (const row of shown) {
      const tr = document.createElement("tr");
      tr.dataset.id = row.id;
      if (row.id === selected) tr.classList.add("km-selected");
      for (const column of columns) {
        const td = document.createElement("td");
        if (column.align.startsWith("left")) td.classList.add("km-left");
        if (column.align.includes("wrap")) td.classList.add("km-wrap");
        if (column.align.endsWith("small")) td.classList.add("km-small");
        const cls = row.classes && row.classes[column.key];
        if (cls) td.classList.add(...cls.split(" "));
        const title = row.titles && row.titles[column.key];
        if (title) td.title = title;
        if (column.key === "name" && row.link) {
          const a = document.createElement("a");
          a.href = row.link;
          a.target = "_blank";
          a.rel = "noopener noreferrer";
          a.textContent = row.name;
          a.title = "Open het dashboard van " + row.name;
          td.append(a);
        } else {
          td.textContent = row.cells[column.key] ?? "–";
        }
        tr.append(td);
      }
      tr.addEventListener("click", (event) => {
        if (event.target.closest("a")) return;
        model.set("selected", row.id);
        model.save_changes();
      });
      body.append(tr);
    }
    table.replaceChildren(head, body);
    count.textContent = shown.length + " van " + rows.length + " aanbieders";
    el.dataset.shown = String(shown.length);
  }

  const events = ["change:rows", "change:columns", "change:sort_by", "change:descending", "change:query",
                  "change:selected"];
  for (const e of events) model.on(e, draw);
  draw();
  return () => { for (const e of events) model.off(e, draw); };
}

export default { render };
