// keurmerk PageStyle (anywidget ESM): nothing visible; its stylesheet (dashboard.css) comes with it. It also
// names the page's language for screen readers (the report's words are Dutch).

function render({ el }) {
  el.classList.add("km-pagestyle");
  el.setAttribute("aria-hidden", "true");
  if (!document.documentElement.lang) document.documentElement.lang = "nl";
}

export default { render };
