// keurmerk CheckPicker (anywidget ESM): a <details> whose summary says what is chosen ("Alle diensten" when
// nothing is ticked) around real checkboxes, so keyboard and screen readers work as with any form.

let counter = 0;

function render({ model, el }) {
  el.classList.add("km-picker");
  const id = `km-picker-${++counter}`;
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  const fieldset = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.className = "km-visually-hidden";
  const list = document.createElement("div");
  list.className = "km-picker-options";
  list.id = id;
  fieldset.append(legend, list);
  details.append(summary, fieldset);
  el.append(details);

  function summaryText() {
    const chosen = new Set(model.get("chosen").map(String));
    const picked = model.get("items").filter((o) => chosen.has(String(o.value)));
    if (!picked.length) return model.get("all_label");
    if (picked.length <= 2) return picked.map((o) => o.short).join(", ");
    return `${picked.length} gekozen`;
  }

  function draw() {
    const chosen = new Set(model.get("chosen").map(String));
    legend.textContent = model.get("label");
    summary.replaceChildren();
    const name = document.createElement("span");
    name.className = "km-picker-label";
    name.textContent = model.get("label") + ": ";
    const value = document.createElement("span");
    value.className = "km-picker-value";
    value.textContent = summaryText();
    summary.append(name, value);
    list.replaceChildren();
    for (const option of model.get("items")) {
      const label = document.createElement("label");
      label.className = "km-chip";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = String(option.value);
      box.checked = chosen.has(String(option.value));
      box.addEventListener("change", () => {
        const now = new Set(model.get("chosen").map(String));
        if (box.checked) now.add(String(option.value));
        else now.delete(String(option.value));
        model.set("chosen", model.get("items").filter((o) => now.has(String(o.value))).map((o) => o.value));
        model.save_changes();
      });
      const text = document.createElement("span");
      text.textContent = option.label;
      label.append(box, text);
      list.append(label);
    }
  }

  // a tick only updates the boxes and the summary: rebuilding them would take the keyboard focus away
  function sync() {
    const chosen = new Set(model.get("chosen").map(String));
    for (const box of list.querySelectorAll("input")) box.checked = chosen.has(box.value);
    summary.querySelector(".km-picker-value").textContent = summaryText();
  }

  model.on("change:chosen", sync);
  model.on("change:items", draw);
  draw();
  return () => {
    model.off("change:chosen", sync);
    model.off("change:items", draw);
  };
}

export default { render };
