/*
 * Generic chart drawing with the vendored Chart.js (static/vendor/chartjs/chart.umd.min.js,
 * loaded with a plain <script defer> before this module).
 *
 * Contract — any page can use it without changing this file:
 *   <canvas data-chart-json="ID">  reads the JSON from <script type="application/json" id="ID">
 *                                  (Django's `{{ data|json_script:"ID" }}`);
 *   <canvas data-chart-src="URL">  fetches the JSON from URL (same origin, cookies sent).
 * JSON shape:
 *   {"type": "line" | "bar",
 *    "labels": ["…", …],
 *    "datasets": [{"label": "…", "data": [number | null, …]}, …],
 *    "y_max": 100,          // optional upper bound of the y axis (0 is always the minimum)
 *    "stacked": false}      // optional; stacks bars/lines
 * Charts are only pictures: every chart must have a text alternative. Charts fed by
 * data-chart-json carry a server-rendered table; for data-chart-src this module adds a
 * "Show as a table" block after the chart unless the canvas has data-chart-no-table.
 * Charts inside content swapped in by htmx are drawn after the swap.
 */

// Distinguishable for common colour-vision deficiencies, and each line also has its own
// point shape and dash so colour is never the only cue.
const COLOURS = ["#0b61a4", "#c1540c", "#2e7d32", "#7b3fa0", "#5d4037", "#00838f"];
const POINTS = ["circle", "rect", "triangle", "rectRot", "crossRot", "star"];
const DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3]];

function options(spec) {
  const stacked = Boolean(spec.stacked);
  const y = { beginAtZero: true, stacked };
  // Scores have a fixed 0–100 scale; anything else is a count, drawn with whole-number ticks.
  if (typeof spec.y_max === "number") y.max = spec.y_max;
  else y.ticks = { precision: 0 };
  return {
    responsive: true,
    maintainAspectRatio: false,
    // Drawn at once: an animated chart misleads anyone (or any screenshot) reading it early.
    animation: false,
    interaction: { mode: "index", intersect: false },
    spanGaps: true,
    // Room for points at 100 (otherwise cut in half at the top edge).
    layout: { padding: { top: 8, right: 8 } },
    // A single attempt would sit on the y axis: centre it instead.
    scales: { x: { stacked, offset: spec.type === "bar" || (spec.labels || []).length < 2 }, y },
    plugins: { legend: { position: "bottom", labels: { usePointStyle: true } } },
  };
}

function config(spec) {
  const type = spec.type === "bar" ? "bar" : "line";
  const datasets = (spec.datasets || []).map((dataset, index) => {
    const colour = COLOURS[index % COLOURS.length];
    return {
      label: dataset.label,
      data: dataset.data,
      borderColor: colour,
      backgroundColor: type === "bar" ? `${colour}cc` : colour,
      pointStyle: POINTS[index % POINTS.length],
      pointRadius: 4,
      clip: false,
      borderDash: type === "line" ? DASHES[index % DASHES.length] : undefined,
    };
  });
  return { type, data: { labels: spec.labels || [], datasets }, options: options(spec) };
}

function appendTable(canvas, spec) {
  if (canvas.hasAttribute("data-chart-no-table")) return;
  const details = document.createElement("details");
  details.className = "chart-table";
  const summary = document.createElement("summary");
  summary.textContent = "Show as a table";
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  const corner = document.createElement("th");
  corner.scope = "col";
  corner.textContent = "";
  head.appendChild(corner);
  for (const dataset of spec.datasets || []) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = dataset.label;
    head.appendChild(th);
  }
  const body = table.createTBody();
  (spec.labels || []).forEach((label, row) => {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = label;
    tr.appendChild(th);
    for (const dataset of spec.datasets || []) {
      const value = dataset.data[row];
      tr.insertCell().textContent = value === null || value === undefined ? "–" : String(Math.round(value));
    }
  });
  details.append(summary, table);
  (canvas.closest(".chart-box") || canvas).after(details);
}

async function loadSpec(canvas) {
  if (canvas.dataset.chartJson) {
    const block = document.getElementById(canvas.dataset.chartJson);
    return block ? JSON.parse(block.textContent) : null;
  }
  const response = await fetch(canvas.dataset.chartSrc, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error(`Chart data: HTTP ${response.status}`);
  const spec = await response.json();
  if (!isEmpty(spec)) appendTable(canvas, spec);
  return spec;
}

// Nothing to draw: no numbers at all, or (for counts) only zeros.
function isEmpty(spec) {
  const counts = typeof spec.y_max !== "number";
  return !(spec.datasets || []).some((dataset) =>
    (dataset.data || []).some((value) => typeof value === "number" && (!counts || value !== 0)),
  );
}

function showEmpty(canvas) {
  const box = canvas.closest(".chart-box");
  const message = document.createElement("p");
  message.className = "chart-empty";
  message.textContent = canvas.dataset.chartEmpty || "Nothing to show yet.";
  canvas.hidden = true;
  if (box) box.classList.add("chart-box--empty");
  (box || canvas).after(message);
}

async function draw(canvas) {
  if (canvas.dataset.chartDrawn) return;
  canvas.dataset.chartDrawn = "1";
  try {
    const spec = await loadSpec(canvas);
    if (spec && isEmpty(spec)) {
      showEmpty(canvas);
      return;
    }
    if (!spec || !window.Chart) return; // the table (or nothing) remains
    new window.Chart(canvas, config(spec));
  } catch (error) {
    canvas.dataset.chartError = "1";
    console.warn(error);
  }
}

export function drawCharts(root = document) {
  root.querySelectorAll("canvas[data-chart-json], canvas[data-chart-src]").forEach(draw);
}

function start() {
  drawCharts();
  // After htmx swaps, rescan the whole page: drawing is idempotent per canvas.
  document.body.addEventListener("htmx:afterSettle", () => drawCharts());
}

// Chart.js is a deferred classic script; modules run after it, but wait for the page anyway.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
