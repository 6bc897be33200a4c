// keurmerk ChartWidget front end (anywidget ESM).
//
// Renders the Vega-Lite spec in the `spec` traitlet with vega-embed. The Vega runtime (Vega, Vega-Lite,
// vega-embed, vega-tooltip; ~0.9 MB) is NOT part of this module: it is loaded once per page and shared by every
// chart instance through a promise cached on `window`:
//   * in a Voilà page served with the `keurmerk` template, from the URL in
//     <meta name="keurmerk-vega-runtime"> (a local static file, versioned, cacheable; the template also
//     preloads it), so nothing leaves the server the page came from;
//   * elsewhere (JupyterLab, plain notebooks), the kernel sends the bundle once over this widget's comm.
// Setting `spec` again re-renders this chart only.

const RUNTIME_KEY = "__keurmerkVegaRuntime";
const COMM_TIMEOUT_MS = 60000;

function runtimeUrl() {
  const meta = document.querySelector('meta[name="keurmerk-vega-runtime"]');
  return meta && meta.content ? new URL(meta.content, document.baseURI).href : null;
}

function runtimeOverComm(model) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      model.off("msg:custom", onMessage);
      reject(new Error("keurmerk: the kernel did not send the Vega runtime"));
    }, COMM_TIMEOUT_MS);
    function onMessage(msg) {
      if (!msg || msg.type !== "keurmerk:vega-runtime") return;
      clearTimeout(timer);
      model.off("msg:custom", onMessage);
      const url = URL.createObjectURL(new Blob([msg.code], { type: "text/javascript" }));
      import(/* webpackIgnore: true */ url)
        .then(resolve, reject)
        .finally(() => URL.revokeObjectURL(url));
    }
    model.on("msg:custom", onMessage);
    model.send({ type: "keurmerk:vega-runtime?" });
  });
}

function loadRuntime(model) {
  if (!window[RUNTIME_KEY]) {
    const url = runtimeUrl();
    const pending = url ? import(/* webpackIgnore: true */ url) : runtimeOverComm(model);
    window[RUNTIME_KEY] = pending.catch((error) => {
      delete window[RUNTIME_KEY]; // let the next chart try again
      throw error;
    });
  }
  return window[RUNTIME_KEY];
}

function render({ model, el }) {
  el.classList.add("keurmerk-chart");
  let current = null; // { node, result }
  let generation = 0;

  async function draw() {
    const mine = ++generation;
    const started = performance.now();
    try {
      const { vegaEmbed } = await loadRuntime(model);
      if (mine !== generation) return;
      const node = document.createElement("div");
      node.className = "keurmerk-chart-view";
      const result = await vegaEmbed(node, model.get("spec"), { ...model.get("embed_options") });
      if (mine !== generation) {
        result.finalize();
        return;
      }
      // Swap only when the new view is ready: no flicker, no layout jump while redrawing.
      if (current) {
        current.result.finalize();
        current.node.replaceWith(node);
      } else {
        el.replaceChildren(node);
      }
      current = { node, result };
      el.dataset.renderCount = String(Number(el.dataset.renderCount || 0) + 1);
      el.dispatchEvent(
        new CustomEvent("keurmerk-chart-rendered", {
          bubbles: true,
          detail: { ms: performance.now() - started },
        }),
      );
    } catch (error) {
      console.error("keurmerk chart", error);
      if (mine !== generation) return;
      const message = document.createElement("div");
      message.className = "keurmerk-chart-error";
      message.textContent = "Deze grafiek kon niet worden getoond.";
      el.replaceChildren(message);
      current?.result.finalize();
      current = null;
    }
  }

  model.on("change:spec", draw);
  model.on("change:embed_options", draw);
  draw();
  return () => {
    generation += 1;
    model.off("change:spec", draw);
    model.off("change:embed_options", draw);
    current?.result.finalize();
    current = null;
  };
}

export default { render };
