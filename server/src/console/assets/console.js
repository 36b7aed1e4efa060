// SeqPulse console: progressive enhancement only. Every page works without this script; it adds
// local time zones, charts, and live updates of running deployments.
(() => {
  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  const charts = {};
  window.SeqPulseCharts = charts;

  function localTimes(root) {
    for (const element of root.querySelectorAll("time[datetime]")) {
      const date = new Date(element.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) continue;
      element.title = element.getAttribute("datetime");
      element.textContent = timeFormat.format(date);
    }
  }

  function cssColor(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
  }

  function formatValue(unit, value) {
    if (value === null || value === undefined) return "—";
    if (unit === "ratio") return `${(value * 100).toFixed(2)} %`;
    if (unit === "ms") return `${Math.round(value)} ms`;
    if (unit === "req/s") return `${Number(value.toPrecision(4))} req/s`;
    // Custom metrics: their unit is the application's, shown as the number it sent.
    return `${Number(value.toPrecision(4))}`;
  }

  function drawCharts(root) {
    const data = root.querySelector("#chart-data");
    if (!data || typeof window.uPlot !== "function") return;
    for (const key of Object.keys(charts)) {
      charts[key].destroy();
      delete charts[key];
    }
    for (const chart of JSON.parse(data.textContent)) {
      const target = root.querySelector(`[data-chart="${chart.id}"]`);
      if (!target) continue;
      const constant = (value) => chart.x.map(() => value);
      const series = [
        {},
        {
          label: "Baseline",
          stroke: cssColor("--chart-baseline"),
          width: 2,
          points: { show: true, size: 7 },
          value: (_, v) => formatValue(chart.unit, v),
        },
        {
          label: "Post",
          stroke: cssColor("--chart-post"),
          width: 2,
          points: { show: true, size: 5 },
          value: (_, v) => formatValue(chart.unit, v),
        },
      ];
      const values = [chart.x, chart.baseline, chart.post];
      if (chart.limit !== null) {
        series.push({
          label: "Limit",
          stroke: cssColor("--chart-limit"),
          width: 2,
          dash: [6, 4],
          points: { show: false },
          value: (_, v) => formatValue(chart.unit, v),
        });
        values.push(constant(chart.limit));
      }
      if (chart.regression !== null) {
        series.push({
          label: chart.regressionLabel,
          stroke: cssColor("--chart-regression"),
          width: 1.5,
          dash: [2, 3],
          points: { show: false },
          value: (_, v) => formatValue(chart.unit, v),
        });
        values.push(constant(chart.regression));
      }
      const width = Math.max(260, target.clientWidth || 360);
      const axisColor = cssColor("--muted");
      const gridColor = cssColor("--border");
      const plot = new window.uPlot(
        {
          width,
          height: 200,
          series,
          scales: { y: { range: (_, min, max) => [Math.min(0, min), max > 0 ? max * 1.15 : 1] } },
          axes: [
            { stroke: axisColor, grid: { stroke: gridColor } },
            {
              stroke: axisColor,
              grid: { stroke: gridColor },
              size: 84,
              values: (_, ticks) => ticks.map((v) => formatValue(chart.unit, v)),
            },
          ],
          legend: { live: true },
        },
        values,
        target,
      );
      charts[chart.id] = plot;
    }
  }

  function enhance(root) {
    localTimes(root);
    drawCharts(root);
  }

  // A live page asks the server for its content again every few seconds and swaps in what
  // changed (the regions marked data-live-region, or all of main); a deployment page stops once
  // the deployment reached a state that no longer changes. An error answer (429 over the rate
  // limit, 5xx) slows the polling down: the wait doubles per failure, up to a minute, and is never
  // shorter than the answer's Retry-After. A redirect means the session ended: polling stops.
  function live() {
    const main = document.getElementById("main");
    if (main?.dataset.live !== "true") return;
    const status = document.querySelector(".live-status");
    const interval = Number(main.dataset.refreshMs) || 3000;
    const swap = (html) => {
      const fresh = document.createElement("template");
      fresh.innerHTML = html;
      const regions = main.querySelectorAll("[data-live-region]");
      if (regions.length === 0) {
        main.replaceChildren(fresh.content);
      } else {
        for (const region of regions) {
          const replacement = fresh.content.getElementById(region.id);
          if (replacement) region.replaceWith(replacement);
        }
      }
      enhance(main);
      if (status) status.textContent = `Updated ${timeFormat.format(new Date())}`;
    };
    let failures = 0;
    const failed = (retryAfterSeconds) => {
      failures += 1;
      const backoff = Math.min(60_000, interval * 2 ** failures);
      return Math.max(backoff, Number.isFinite(retryAfterSeconds) ? retryAfterSeconds * 1000 : 0);
    };
    const poll = async () => {
      let wait = interval;
      if (!document.hidden) {
        try {
          const url = new URL(location.href);
          url.searchParams.set("fragment", "1");
          const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
          if (response.redirected) {
            main.dataset.live = "false";
            if (status)
              status.textContent =
                "Live updates stopped: the session ended. Reload the page to sign in again.";
            return;
          }
          if (!response.ok) {
            wait = failed(Number(response.headers.get("Retry-After") ?? Number.NaN));
            if (status && response.status === 429)
              status.textContent = "Live updates paused: too many requests";
          } else {
            failures = 0;
            const version = response.headers.get("X-SeqPulse-Version") ?? "";
            const stillLive = response.headers.get("X-SeqPulse-Live") === "true";
            if (version !== main.dataset.version || !stillLive) {
              swap(await response.text());
              main.dataset.version = version;
            }
            if (!stillLive) {
              main.dataset.live = "false";
              return;
            }
          }
        } catch {
          // Offline for a moment: try again, later each time.
          wait = failed(Number.NaN);
        }
      }
      setTimeout(poll, wait);
    };
    setTimeout(poll, interval);
  }

  const start = () => {
    enhance(document);
    live();
    // The charts take their colours from the page's; redraw them when the system theme changes.
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => drawCharts(document));
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
