// keurmerk DownloadButton (anywidget ESM): a real <button>; on click the kernel makes the file and sends it
// back over this widget's comm; the browser saves it (a Blob, so nothing is fetched from anywhere).
// With `action` = "print" the kernel first builds every chapter; the page is printed once every chart is drawn.

const PRINT_WAIT_MS = 90000;

function save(filename, mime, buffer) {
  const blob = new Blob([buffer], { type: mime });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.style.display = "none";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function chartsDrawn(expected) {
  const charts = [...document.querySelectorAll(".km-figure .keurmerk-chart")];
  return charts.length >= expected && charts.every((c) => c.querySelector("svg, .keurmerk-chart-error"));
}

// The chapters just built reach the page over the widget comm: wait for all `expected` charts, drawn.
function printWhenDrawn(expected, started = performance.now()) {
  if (chartsDrawn(expected) || performance.now() - started > PRINT_WAIT_MS) {
    window.print();
    return;
  }
  setTimeout(() => printWhenDrawn(expected, started), 250);
}

function render({ model, el }) {
  el.classList.add("km-download");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "km-button";
  const status = document.createElement("span");
  status.className = "km-download-status";
  status.setAttribute("role", "status");
  el.append(button, status);

  function idle() {
    button.disabled = false;
    button.textContent = model.get("label");
  }

  button.addEventListener("click", () => {
    button.disabled = true;
    status.textContent = model.get("action") === "print" ? "Alle hoofdstukken worden klaargezet…" : "Het bestand wordt gemaakt…";
    model.send({ type: "keurmerk:file?" });
  });

  function onMessage(msg, buffers) {
    if (!msg || typeof msg.type !== "string") return;
    if (msg.type === "keurmerk:file" && buffers && buffers.length) {
      save(msg.filename, msg.mime, buffers[0].buffer || buffers[0]);
      status.textContent = `${msg.filename} is gedownload.`;
    } else if (msg.type === "keurmerk:print") {
      status.textContent = "";
      printWhenDrawn(msg.charts || 0);
    } else if (msg.type === "keurmerk:error") {
      status.textContent = msg.message;
    } else {
      return;
    }
    idle();
  }

  model.on("msg:custom", onMessage);
  model.on("change:label", idle);
  idle();
  return () => {
    model.off("msg:custom", onMessage);
    model.off("change:label", idle);
  };
}

export default { render };
