// keurmerk ChartWidget front end (anywidget ESM).
//
// Renders the Vega-Lite spec in the `spec` traitlet with vega-embed. The Vega runtime (Vega, Vega-Lite,
// vega-embed, vega-tooltip; ~0.9 MB) is NOT part of this module: it is loaded once per page and shared by every
// chart instance through a promise cached on `window`:
//   * in a Voilà page served with the `keurmerk` template, from the URL in
//     <meta name="keurmerk-vega-runtime"> (a local static file, versioned, cacheable; the template also
//     preloads it), so nothing leaves the server the page came from;
//   * elsewhere (JupyterLab, plain notebooks), the kernel sends the bundle once over this widget's comm.
// Setting `spec` again re-renders this chart only. When the new spec differs from the one drawn only in its
// data sets (the top-level `datasets`: ChartWidget names every inline data set by its position, and the chart
// builders keep n labels, sort orders and legend entries in the data), the existing Vega view gets the new
// rows (view.data, then a new layout) instead of a new embed: no spec parsed and compiled again. Parameters
// named "km_…" (a subtitle) are values too: set as the view's signals. Anything else that changed (a title, a
// message instead of a chart) embeds the chart anew; the view it replaces is kept aside, and a later spec of
// its shape (the filter set back) goes to that view as new rows.
//
// Charts on screen draw first: a chart outside the viewport (and 300 px around it) waits until it scrolls
// into view or until the page is idle, and the waiting charts then draw one per idle moment. A dashboard
// holds ~30 charts (~40 ms of Vega each on the main thread); the visitor sees the first screen complete
// before the rest are drawn, and every chart is still drawn without scrolling.
//
// A deferred chart (`pending` > 0, no spec yet: ChartWidget.defer) asks the kernel for its spec at the same
// moment it would have drawn: the page's first widget state carries only the charts of the first screen.

const RUNTIME_KEY = "__keurmerkVegaRuntime";
const COMM_TIMEOUT_MS = 60000;
const ASK_AGAIN_MS = 15000;

// Vega makes a mark's group a "graphics-symbol" without a name when none of its items has a description: a
// layer with no rows in one panel of a faceted chart, a rule drawn from a constant. A screen reader would
// announce an unnamed image (axe: svg-img-alt). Such a group has nothing to say: hidden, as Vega hides a mark
// with aria=false. Vega sets these attributes anew when it draws the mark again, so this follows every draw.
function hideNamelessMarks(root) {
  for (const group of root.querySelectorAll('g.role-mark[role="graphics-symbol"]:not([aria-label])')) {
    group.setAttribute("aria-hidden", "true");
  }
}

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

const IDLE_KEY = "__keurmerkIdleCharts";
const requestIdle = window.requestIdleCallback
  ? (fn) => window.requestIdleCallback(fn, { timeout: 1000 })
  : (fn) => setTimeout(fn, 50);

// One shared queue per page: each idle moment releases the next waiting chart.
function whenIdle(release) {
  const queue = (window[IDLE_KEY] ||= []);
  queue.push(release);
  if (queue.length === 1) requestIdle(releaseNext);
}

function releaseNext() {
  const queue = window[IDLE_KEY];
  const release = queue.shift();
  if (release) release();
  if (queue.length) requestIdle(releaseNext);
}

// A chart fills its card: a single view takes its container's width when it is drawn, and follows the card
// when it grows or shrinks (a ResizeObserver sets the view's width: no new embed). Concatenated or faceted views
// keep their own width (Vega-Lite cannot fit them) and shrink with the card through CSS; so does a chart drawn
// while its container has no width (a chapter built for printing while its tab is hidden).
const COMPOSED = ["hconcat", "vconcat", "concat", "facet", "repeat"];
const MIN_FIT = 50; // narrower than this the container is hidden or not laid out yet: nothing to fit
const RESIZE_STEP = 2; // changes below this are rounding (and a scrollbar coming and going): no loop
// A chart in a hidden tab (a chapter built in the background) has no width of its own: it is drawn at the width
// of the last chart fitted on screen, as a dashboard's cards share one width, so that it is ready when its tab
// is opened (shown at another width, its view takes that width: refit).
let screenWidth = 0;
// The figure's caption becomes the chart's description, which Vega writes as the SVG's aria-label.
function fitted(spec, el) {
  const caption = el.closest(".km-figure")?.querySelector(".km-caption")?.textContent?.trim();
  if (caption && !spec.description) spec = { ...spec, description: caption };
  const own = Math.floor(el.clientWidth);
  if (own >= MIN_FIT) screenWidth = own;
  const width = own >= MIN_FIT ? own : screenWidth;
  if (COMPOSED.some((key) => key in spec) || width < MIN_FIT) return spec;
  // the width in pixels, not "container": the view is drawn in a node that joins the page only when ready
  const fit = { ...spec, width, autosize: { type: "fit-x", contains: "padding" } };
  if (isNarrow(width)) {
    // a phone: legend entries one below the other, and no label wider than the room right of where the legend
    // starts (the plot's left edge; the y axis' labels take the room left of it), for the legends that are
    // not drawn in HTML (htmlLegends)
    const legend = { ...spec.config?.legend, direction: "vertical", labelLimit: { expr: "max(48, width - 16)" } };
    // an x axis' title is centred on the plot: no wider than the plot, or it runs off the card's right edge
    const axisX = { ...spec.config?.axisX, titleLimit: { expr: "max(48, width)" } };
    fit.config = { ...spec.config, legend, axisX };
  }
  return fit;
}

// In a fitted chart a legend of categories (an ordinal colour scale, squares) leaves the Vega view and is
// drawn as an HTML list under the chart: a Vega legend begins at the plot's left edge, right of the y axis'
// labels, where a phone (or a card beside another, with long labels) leaves too little room for
// "Alle deelnemers (n = 2.763)"; the list wraps within the card.
function htmlLegends(taken) {
  return (vgSpec) => {
    const scales = new Map((vgSpec.scales || []).map((s) => [s.name, s]));
    vgSpec.legends = (vgSpec.legends || []).filter((legend) => {
      const name = legend.fill || legend.stroke;
      const plain = !legend.shape && !legend.strokeDash && !legend.size && !legend.opacity && !legend.values
        && !legend.encode?.labels?.update?.text; // the labels are the scale's values as they are
      if (!name || !plain || scales.get(name)?.type !== "ordinal") return true;
      taken.push(name);
      return false;
    });
    return vgSpec;
  };
}

function drawLegends(view, names, box) {
  box.replaceChildren();
  for (const name of names) {
    const scale = view.scale(name);
    if (!scale) continue;
    const list = document.createElement("ul");
    list.className = "keurmerk-legend";
    for (const value of scale.domain()) {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "keurmerk-legend-swatch";
      swatch.style.background = scale(value);
      swatch.setAttribute("aria-hidden", "true");
      item.append(swatch, String(value));
      list.append(item);
    }
    box.append(list);
  }
}

const NARROW = 480;
function isNarrow(width) {
  return width < NARROW;
}

// Top-level parameters named "km_…" are values that change with a filter (a subtitle): like the rows, they are
// set in the view that is there (view.signal).
const VALUE_PARAM = /^km_/;
function valueParams(spec) {
  return (spec.params || []).filter((p) => VALUE_PARAM.test(p.name || "") && "value" in p);
}

// The spec without its data: `datasets` left out, the value parameters without their values, and every data
// set's name replaced by its position, so two specs that differ only in their rows give the same text. Also
// the data sets' names in that order.
function shapeOf(spec) {
  const names = Object.keys(spec.datasets || {});
  const params = spec.params?.map((p) => (VALUE_PARAM.test(p.name || "") ? { ...p, value: undefined } : p));
  let text = JSON.stringify({ ...spec, datasets: undefined, params });
  names.forEach((name, i) => {
    text = text.split(JSON.stringify(name)).join(`"\u0000dataset ${i}"`);
  });
  return { text, names };
}

// The data sets the view can take as they are: sources of the compiled Vega spec without a format to parse.
function plainSources(result, names) {
  const data = new Map((result.vgSpec?.data || []).map((d) => [d.name, d]));
  return names.every((name) => data.has(name) && !data.get(name).format && !data.get(name).transform);
}

function render({ model, el }) {
  el.classList.add("keurmerk-chart");
  // the widget's classes (add_class in the kernel: "km-collapsed" hides a chart under a notice) on this element
  let classes = [];
  const syncClasses = () => {
    el.classList.remove(...classes);
    classes = [...(model.get("_dom_classes") || [])];
    el.classList.add(...classes);
  };
  syncClasses();
  model.on("change:_dom_classes", syncClasses);
  let current = null; // { node, result, shape, updatable, fitWidth (a single view's width, else null), … }
  // The view drawn before the current one, kept out of the page: a filter often goes back and forth between
  // two shapes of a figure (a chart and the message that its group is too small; one dienst or all of them),
  // and going back is then new rows in that view, not a new embed.
  let spare = null;
  let forcing = false; // the next draw embeds anew (the card's width class changed)
  let generation = 0;
  let onScreen = false;
  let wake = null; // resolves the draw that waits for its turn

  const observer = new IntersectionObserver(
    (entries) => {
      onScreen = entries[entries.length - 1].isIntersecting;
      if (onScreen && wake) wake();
    },
    { rootMargin: "300px 0px" },
  );
  observer.observe(el);
  // The kernel builds the charts in view first after a filter change: it learns which ones are (the viewport
  // itself, without the margin above).
  const reporter = new IntersectionObserver((entries) => {
    const inView = entries[entries.length - 1].isIntersecting;
    if (model.get("in_view") === inView) return;
    model.set("in_view", inView);
    model.save_changes?.();
  });
  reporter.observe(el);

  // The card grew or shrank: a fitted view takes the new width, once per frame at most.
  let resizeFrame = 0;
  const resizer = new ResizeObserver(() => {
    if (resizeFrame) return;
    resizeFrame = requestAnimationFrame(() => {
      resizeFrame = 0;
      refit();
    });
  });
  resizer.observe(el);

  function refit() {
    const width = Math.floor(el.clientWidth);
    if (!current || width < MIN_FIT) return;
    if (current.fitWidth == null) {
      // drawn while its card had no width (a hidden tab, a collapsed figure): a single view is fitted now, in a
      // new embed, once the page is idle: a filter change that shows the card brings its new spec first
      if (current.fittable && !current.fitPending) {
        const entry = current;
        entry.fitPending = true;
        requestIdle(() => {
          if (current === entry && !disposed && el.clientWidth >= MIN_FIT) forceEmbed(false);
        });
      }
      return;
    }
    if (Math.abs(width - current.fitWidth) < RESIZE_STEP) return;
    if (isNarrow(width) !== isNarrow(current.fitWidth)) {
      forceEmbed(); // from a wide card to a phone's or back: the legend's layout changes with it
      return;
    }
    current.fitWidth = width;
    current.result.view.width(width).resize().runAsync()
      .then(() => {
        hideNamelessMarks(el);
        el.dataset.resizeCount = String(Number(el.dataset.resizeCount || 0) + 1);
      })
      .catch((error) => console.error("keurmerk chart resize", error));
  }

  // Resolves when this chart should draw: at once on screen, else when it comes into view or the page is idle.
  function turn() {
    // `draw_at_once`: a first screen drawn before the page's widgets exist (first_screen.js) waits for nothing
    if (onScreen || model.get("draw_at_once")) return Promise.resolve();
    return new Promise((resolve) => {
      const release = () => {
        if (wake === release) wake = null;
        resolve();
      };
      wake = release;
      whenIdle(release);
    });
  }

  // Draw the current spec anew (fitted to the card as it is now). `other` the card's width class changed: the
  // view kept aside was drawn for the other class as well.
  function forceEmbed(other = true) {
    current.fittable = false; // once
    current.shape = { text: null, names: current.shape.names };
    if (other) {
      spare?.result.finalize();
      spare = null;
      forcing = true;
    }
    draw();
  }

  let askedFor = 0; // the `pending` count this view asked the kernel for
  let disposed = false;

  async function ask() {
    const wanted = model.get("pending");
    if (!wanted || wanted <= askedFor) return;
    await turn();
    if (wanted <= askedFor) return;
    askedFor = wanted;
    model.send({ type: "keurmerk:spec?" });
    // Nothing lost on a busy server: no spec after a while, ask again (the kernel resends what it has).
    setTimeout(() => {
      const spec = model.get("spec");
      if (!disposed && askedFor === wanted && (!spec || Object.keys(spec).length === 0)) {
        askedFor = 0;
        ask();
      }
    }, ASK_AGAIN_MS);
  }

  function drawn(started, how) {
    hideNamelessMarks(el);
    el.dataset.renderCount = String(Number(el.dataset.renderCount || 0) + 1);
    el.dispatchEvent(
      new CustomEvent("keurmerk-chart-rendered", {
        bubbles: true,
        detail: { ms: performance.now() - started, how },
      }),
    );
  }

  // New rows in the view that is there, under the names it was embedded with.
  async function update(spec, shape) {
    const { view } = current.result;
    current.shape.names.forEach((name, i) => view.data(name, structuredClone(spec.datasets[shape.names[i]])));
    for (const param of valueParams(spec)) view.signal(param.name, param.value);
    // new labels (an n in a legend) may take other room: lay the view out anew, as an embed would
    await view.resize().runAsync();
    if (current.legends.length) drawLegends(view, current.legends, current.legendBox);
    // Vega writes a title's aria-label when it is embedded: a title set by a signal reads as it is drawn now
    for (const title of current.node.querySelectorAll(".role-title-text[aria-label]")) {
      const text = Array.from(title.querySelectorAll("text"), (t) => t.textContent).join(" ");
      title.setAttribute("aria-label", `Title text '${text}'`);
    }
  }

  // The view shown goes aside, where a later spec of its shape takes it back (the one aside before is let go).
  function setAside() {
    spare?.result.finalize();
    spare = current;
  }

  function letGo() {
    current?.result.finalize();
    spare?.result.finalize();
    current = spare = null;
  }

  async function draw() {
    const spec = model.get("spec");
    if (!spec || Object.keys(spec).length === 0) {
      // deferred: nothing to draw yet; a chart withdrawn (ChartWidget.defer) leaves the card until its new spec
      // comes, kept aside for it
      if (current) {
        generation += 1;
        setAside();
        current = null;
        spare.node.remove();
      }
      return ask();
    }
    const mine = ++generation;
    try {
      const [{ vegaEmbed }] = await Promise.all([loadRuntime(model), turn()]);
      if (mine !== generation) return;
      const started = performance.now();
      const shape = shapeOf(spec);
      if (current && current.updatable && current.shape.text === shape.text) {
        await update(spec, shape);
        if (mine === generation) drawn(started, "data");
        return;
      }
      if (spare && !forcing && spare.updatable && spare.shape.text === shape.text) {
        [current, spare] = [spare, current];
        if (spare) spare.node.replaceWith(current.node);
        else el.replaceChildren(current.node);
        await update(spec, shape);
        if (mine === generation) drawn(started, "data");
        refit(); // the card may have changed while this view was kept aside
        return;
      }
      forcing = false;
      const node = document.createElement("div");
      node.className = "keurmerk-chart-view";
      const drawnSpec = fitted(spec, el);
      const legends = [];
      const options = { ...model.get("embed_options") };
      if (drawnSpec.autosize) options.patch = htmlLegends(legends);
      const result = await vegaEmbed(node, drawnSpec, options);
      const legendBox = document.createElement("div");
      legendBox.className = "keurmerk-legends";
      if (legends.length) {
        drawLegends(result.view, legends, legendBox);
        node.append(legendBox);
      }
      el.dataset.embedCount = String(Number(el.dataset.embedCount || 0) + 1);
      if (mine !== generation) {
        result.finalize();
        return;
      }
      // Swap only when the new view is ready: no flicker, no layout jump while redrawing.
      if (current) {
        setAside();
        current.node.replaceWith(node);
      } else {
        el.replaceChildren(node);
      }
      const fitWidth = drawnSpec.autosize?.type === "fit-x" ? drawnSpec.width : null;
      const fittable = fitWidth == null && !COMPOSED.some((key) => key in spec);
      current = { node, result, shape, updatable: plainSources(result, shape.names), fitWidth, fittable, legends,
        legendBox };
      drawn(started, "embed");
      refit(); // the card may have changed while the chart was being drawn
    } catch (error) {
      console.error("keurmerk chart", error);
      if (mine !== generation) return;
      const message = document.createElement("div");
      message.className = "keurmerk-chart-error";
      message.textContent = "Deze grafiek kon niet worden getoond.";
      el.replaceChildren(message);
      letGo();
    }
  }

  model.on("change:spec", draw);
  model.on("change:embed_options", draw);
  model.on("change:pending", ask);
  draw();
  return () => {
    disposed = true;
    generation += 1;
    observer.disconnect();
    reporter.disconnect();
    resizer.disconnect();
    cancelAnimationFrame(resizeFrame);
    wake?.();
    model.off("change:spec", draw);
    model.off("change:embed_options", draw);
    model.off("change:pending", ask);
    model.off("change:_dom_classes", syncClasses);
    letGo();
  };
}

export default { render };
