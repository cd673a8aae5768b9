// Insights charts, drawn with the vendored Chart.js from the numbers the server put in the page
// (the same numbers as the table below them and the CSV).
"use strict";

const PALETTE = ["#0b5cad", "#d1495b", "#2e933c", "#edae49", "#6f42c1", "#00798c", "#8c564b"];

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function rate(counts) {
  const votes = (counts.up || 0) + (counts.down || 0);
  return votes ? counts.up / votes : null;
}

function percentAxis(words) {
  return {
    min: 0, max: 1,
    title: { display: true, text: words["insights.rate_axis"] },
    ticks: { callback: (v) => Math.round(v * 100) + " %" },
  };
}

// Thumbs-up rate over time for each name in one breakdown ("by_prompt_version", "by_language",
// "by_origin", or "by_country" of the split by country the server adds "no country" to);
// with no time series, one bar per name for the whole range.
function rateChart(canvas, data, breakdown, words, shownAs) {
  const series = data.series || [];
  const names = Object.keys(data[breakdown] || {});
  const label = (name) => (shownAs || {})[name] || name;
  if (series.length) {
    const datasets = names.map((name, i) => ({
      label: label(name),
      data: series.map((bucket) => {
        const counts = (bucket[breakdown] || {})[name];
        return counts ? rate(counts) : null;
      }),
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length],
      spanGaps: true,
    }));
    return new Chart(canvas, {
      type: "line",
      data: { labels: series.map((b) => b.start.slice(0, 10)), datasets },
      options: { animation: false, maintainAspectRatio: false, scales: { y: percentAxis(words) } },
    });
  }
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: names.map(label),
      datasets: [{
        label: words["insights.up_rate"],
        data: names.map((name) => rate(data[breakdown][name])),
        backgroundColor: PALETTE[0],
      }],
    },
    options: { animation: false, maintainAspectRatio: false, scales: { y: percentAxis(words) } },
  });
}

function countChart(canvas, labels, values, words, color) {
  return new Chart(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label: words["insights.count_axis"], data: values, backgroundColor: color }] },
    options: {
      animation: false, maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const data = readJson("insights-data");
  const words = readJson("insights-words") || {};
  if (!data || typeof Chart === "undefined") return;
  const byId = (id) => document.getElementById(id);
  if (byId("chart-version")) rateChart(byId("chart-version"), data, "by_prompt_version", words);
  const labels = JSON.parse(byId("insights-labels").textContent);
  if (byId("chart-language")) {
    rateChart(byId("chart-language"), data, "by_language", words, labels.languages);
  }
  if (byId("chart-origin")) {
    rateChart(byId("chart-origin"), data, "by_origin", words, labels.origins);
  }
  const countries = readJson("insights-countries");
  if (byId("chart-country") && countries) {
    rateChart(byId("chart-country"), countries, "by_country", words, labels.countries);
  }
  // Only the reasons a thumbs down can carry: "helpful" goes with thumbs up.
  const reasons = data.down_reasons || {};
  const reasonNames = labels.down_reasons.filter((r) => r in reasons);
  if (byId("chart-reasons")) {
    countChart(byId("chart-reasons"),
      reasonNames.map((r) => words["feedback.reason." + r] || r),
      reasonNames.map((r) => reasons[r]), words, PALETTE[1]);
  }
  const edits = data.edit_ratio_histogram || {};
  if (byId("chart-edits")) {
    countChart(byId("chart-edits"), Object.keys(edits), Object.values(edits), words, PALETTE[2]);
  }
  const generations = data.generations_histogram || {};
  if (byId("chart-generations")) {
    countChart(byId("chart-generations"), Object.keys(generations), Object.values(generations),
      words, PALETTE[3]);
  }
  const series = data.series || [];
  if (byId("chart-published")) {
    new Chart(byId("chart-published"), {
      type: "bar",
      data: {
        labels: series.map((b) => b.start.slice(0, 10)),
        datasets: [
          { label: words["insights.published"], data: series.map((b) => b.published), backgroundColor: PALETTE[0] },
          { label: words["insights.unedited"], data: series.map((b) => b.unedited), backgroundColor: PALETTE[2] },
        ],
      },
      options: {
        animation: false, maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }
  document.body.dataset.chartsReady = "true";
});
