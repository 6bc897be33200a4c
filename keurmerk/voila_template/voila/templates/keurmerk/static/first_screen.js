// keurmerk: the provider page's first screen, drawn from the HTML the kernel streamed with the page
// (keurmerk/dashboard/first_screen.py) before Voilà's front end has run, then replaced by the live widgets.
// Imported from the page's head (index.html.j2) with chart_widget.js and the Vega runtime, so that the snapshot
// is drawn as soon as it is parsed, before the parser reaches Voilà's own scripts.
//
// The snapshot is the widgets' own HTML (same classes, the page's stylesheets plus the widget styles Voilà's
// scripts would inject later: static/widgets.css) in a closed shadow root: nothing in the document matches it,
// so the page's scripts, its tests and screen readers' later view see only the live widgets; it is inert
// (clicks pass through). Its charts are drawn by the chart widget's own front end (chart_widget.js) from the
// specs the widgets hold. Once the live dashboard appears it is laid out, hidden, in the snapshot's place until
// every live chart in the viewport is drawn; then the snapshot goes and the live page shows, with nothing moving.
//
// For bench/dashboard.py: window.__kmFirstScreen = { root, drawn, live } (the shadow root; when its charts in
// view were drawn and when the live widgets replaced it, performance.timeOrigin-based ms), and the event
// "keurmerk-first-screen" on the document once the root is there.

const LIVE_TIMEOUT_MS = 20000; // the live page is shown after this even if a chart in view never draws

const now = () => performance.timeOrigin + performance.now();

// a model for chart_widget.js's render(): the state the kernel wrote, nothing sent back
function staticModel({ spec, embed_options }) {
  const values = { spec, embed_options, pending: 0, in_view: false, _dom_classes: [], draw_at_once: true };
  return {
    get: (name) => values[name],
    set: (name, value) => { values[name] = value; },
    save_changes() {},
    on() {},
    off() {},
    send() {},
  };
}

// Voilà shows its cells (#rendered_cells) once its scripts have run (its theme plugin): the snapshot is the only
// output shown on this page, and its charts are fitted to their card's width, so the cells are shown now.
function showCells() {
  const cells = document.getElementById("rendered_cells");
  if (cells) cells.style.display = "";
  const spinner = document.getElementById("loading");
  if (spinner) spinner.style.display = "none";
}

// the page's stylesheets (widgets.css included: what Voilà's scripts inject later) for the shadow root, at once:
// the same <link> and <style> elements again, which the browser does not parse a second time (it shares a sheet
// between elements of the same text or URL)
function sheets() {
  return Array.from(document.querySelectorAll('link[rel="stylesheet"], style'), (node) => node.cloneNode(true));
}

// Every figure of the first tab is there with its chart's element (`charts` of them: the live widgets make
// theirs a moment after their figures), and each one inside the viewport has its chart drawn (on a phone the
// viewport may hold none: then the figures being there is enough).
function inViewDrawn(root, figures, charts) {
  const all = [...root.querySelectorAll(".km-tabs .km-figure")];
  if (all.length < figures || root.querySelectorAll(".km-tabs .km-figure .keurmerk-chart").length < charts) {
    return false;
  }
  return all.filter((el) => {
    const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.height > 0 && el.querySelector(".keurmerk-chart");
  }).every((el) => el.querySelector(".keurmerk-chart svg, .keurmerk-chart-error"));
}

function whenTrue(test, root, timeout) {
  return new Promise((resolve) => {
    let frame = 0;
    const done = () => {
      observer.disconnect();
      clearTimeout(timer);
      resolve();
    };
    const observer = new MutationObserver(() => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        if (test()) done();
      });
    });
    const timer = timeout ? setTimeout(done, timeout) : 0;
    observer.observe(root, { childList: true, subtree: true });
    if (test()) done();
  });
}

// Resolves once `test()` holds, checked at the next frame after a chart under `target` is drawn (the chart
// widget's "keurmerk-chart-rendered") and every half second (a chart that failed says nothing): not at every
// change of the page, as whenTrue does, since the test measures boxes and so lays the page out. In the frame the
// page is laid out anyway: charts drawn in one frame are checked once, and none waits for a layout of its own.
export function whenDrawn(test, target, timeout) {
  return new Promise((resolve) => {
    let frame = 0;
    const check = () => {
      frame = 0;
      if (test()) done();
    };
    const drawn = () => {
      if (!frame) frame = requestAnimationFrame(check);
    };
    const done = () => {
      target.removeEventListener("keurmerk-chart-rendered", drawn);
      cancelAnimationFrame(frame);
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    };
    target.addEventListener("keurmerk-chart-rendered", drawn);
    const poll = setInterval(check, 500);
    const timer = timeout ? setTimeout(done, timeout) : 0;
    check();
  });
}

// The browser compiles Vega's code the first time it runs: the first screen's charts drawn cold take about twice
// as long as drawn again. While the page waits for the kernel's snapshot, one small chart of each kind the first
// screen shows (bars with a rule and labels, a tick over a scale with a big number, an arc, a map) is drawn out
// of sight by the same chart widget and thrown away.
const XY = { x: { field: "v", type: "quantitative" }, y: { field: "k", type: "nominal" } };
const WARM_UP = [
  { data: { values: [{ k: "a", v: 3 }, { k: "b", v: 5 }] }, layer: [
    { mark: "bar", encoding: XY },
    { mark: "rule", encoding: { x: XY.x } },
    { mark: { type: "text", align: "left", dx: 3 }, encoding: { ...XY, text: { field: "v" } } },
  ] },
  { data: { values: [{ v: 7.5 }] }, vconcat: [
    { mark: "tick", encoding: { x: XY.x } },
    { mark: { type: "text", fontSize: 44 }, encoding: { text: { field: "v", format: ".1f" } } },
  ] },
  { data: { values: [{ k: "a", v: 3 }, { k: "b", v: 5 }] }, mark: "arc",
    encoding: { theta: { field: "v", type: "quantitative" }, color: { field: "k", type: "nominal" } } },
  { data: { values: [{ type: "Feature", properties: { v: 1 },
                       geometry: { type: "Polygon", coordinates: [[[4, 52], [5, 52], [5, 53], [4, 52]]] } }] },
    projection: { type: "mercator" }, mark: "geoshape",
    encoding: { color: { field: "properties.v", type: "quantitative" } } },
];
const WARM_UP_OPTIONS = { renderer: "svg", actions: false, tooltip: false };
const WARM_UP_TIMEOUT_MS = 5000;

// Called by the template's script as soon as the chart widget's module is there (before the page's body).
// window.__kmWarmUp = { drawn, done }: the charts drawn, and when the warm-up ended (null: skipped or running).
export async function warmUp(chart) {
  const state = { drawn: 0, done: null };
  window.__kmWarmUp = state;
  await window.__keurmerkVegaRuntime;
  while (!document.body) await new Promise((resolve) => setTimeout(resolve, 10)); // the page's body is parsed
  // the snapshot came first (drawn, or streamed and waiting for these modules): it warms Vega itself
  const streamed = () => window.__kmFirstScreen || document.querySelector(".km-first-screen");
  const host = document.createElement("div");
  host.setAttribute("aria-hidden", "true");
  Object.assign(host.style, { position: "absolute", left: "-10000px", top: "0", width: "480px" });
  // One chart at a time, each after a turn of the event loop: the page's parser goes on in between, so a snapshot
  // streamed meanwhile (or already there, further down the body) is parsed and drawn at once instead of after
  // the whole warm-up, and what is left of the warm-up is then not drawn.
  for (const spec of WARM_UP) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (streamed()) break;
    if (!host.isConnected) document.body.append(host);
    const el = document.createElement("div");
    host.append(el);
    const done = new Promise((resolve) => {
      el.addEventListener("keurmerk-chart-rendered", () => {
        state.drawn += 1;
        resolve();
      }, { once: true });
      setTimeout(resolve, WARM_UP_TIMEOUT_MS);
    });
    const cleanup = chart.default.render({ model: staticModel({ spec, embed_options: WARM_UP_OPTIONS }), el });
    await done;
    cleanup?.();
  }
  host.remove();
  if (state.drawn) state.done = now();
}

// Called by the template's script right after the snapshot (with chart_widget.js's module): draws it at once.
export async function show(box, chart) {
  const template = box.querySelector('template[data-km="first-screen"]');
  const specs = JSON.parse(box.querySelector('script[data-km="first-screen-specs"]').textContent);
  const host = document.createElement("div");
  host.className = "km-first-screen-host";
  host.inert = true;
  const root = host.attachShadow({ mode: "closed" });
  // the page's stylesheets, then the snapshot's own (dashboard.css, chart_widget.css: its first child), as the
  // live page injects them; those in the document too, as the live page has them there: they lay out the page
  // around it (a phone's margins)
  root.append(...sheets(), template.content.cloneNode(true));
  for (const style of template.content.querySelectorAll("style")) document.head.append(style.cloneNode(true));
  box.append(host);
  const state = { root, drawn: null, live: null };
  Object.defineProperty(window, "__kmFirstScreen", { value: state, configurable: true });
  document.dispatchEvent(new CustomEvent("keurmerk-first-screen"));
  showCells();
  for (const el of root.querySelectorAll("[data-km-chart]")) {
    const model = staticModel(specs[Number(el.dataset.kmChart)]);
    chart.default.render({ model, el });
  }
  const figures = root.querySelectorAll(".km-tabs .km-figure").length;
  const charts = root.querySelectorAll(".km-tabs .km-figure [data-km-chart]").length;
  whenDrawn(() => inViewDrawn(root, figures, charts), root).then(() => { state.drawn = now(); });

  // the live dashboard: laid out hidden in the snapshot's place until its charts in view are drawn, then shown
  // there as the snapshot goes (nothing moves: a newly visible box is no layout shift)
  // (the same cell's output, or a later cell's when the snapshot was one kept from an earlier visit: the
  // snapshot's and the live page's outermost boxes below the element that holds both)
  await whenTrue(() => document.querySelector(".km-dashboard"), document.body);
  const live = document.querySelector(".km-dashboard");
  let mine = box;
  while (mine.parentElement && !mine.parentElement.contains(live)) mine = mine.parentElement;
  const area = mine.parentElement;
  let theirs = live;
  while (theirs.parentElement && theirs.parentElement !== area) theirs = theirs.parentElement;
  area.style.position = "relative";
  Object.assign(theirs.style, { position: "absolute", top: `${mine.offsetTop}px`, left: "0", right: "0",
    visibility: "hidden" });
  await whenDrawn(() => inViewDrawn(document, figures, charts), document, LIVE_TIMEOUT_MS);
  mine.remove();
  Object.assign(theirs.style, { position: "", top: "", left: "", right: "", visibility: "" });
  area.style.position = "";
  state.live = now();
}
