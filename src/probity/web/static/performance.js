// Performance dashboard: one ECharts line chart per figure (violation rate, bonus-eligible
// share, refusal ratio) per cycle and series; with a split day, a bar chart of before vs after.
const data = JSON.parse(document.getElementById("perf-data").textContent);
const labels = JSON.parse(document.getElementById("perf-labels").textContent);
const FIGURES = ["violation_rate", "eligible_share", "refusal_ratio"];

function draw() {
  if (!window.echarts) return;
  for (const figure of FIGURES) {
    const el = document.getElementById(`chart-${figure}`);
    if (!el) continue;
    el.style.height = "280px"; // set from script: the CSP refuses inline style attributes
    const chart = window.echarts.init(el, null, { locale: labels.locale });
    const percent = { type: "value", min: 0, max: 1,
      axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } };
    let option;
    if (data.split) {
      option = {
        tooltip: { trigger: "axis" }, legend: { top: 0 },
        xAxis: { type: "category", data: data.series.map((s) => s.name) }, yAxis: percent,
        series: ["before", "after"].map((half) => ({
          name: `${labels[half]} ${data.split}`, type: "bar",
          data: data.series.map((s) => s[half][figure]),
        })),
      };
    } else {
      option = {
        tooltip: { trigger: "axis" }, legend: { top: 0, type: "scroll" },
        xAxis: { type: "category", data: data.cycles.map((c) => c.name) }, yAxis: percent,
        series: data.series.map((s) => ({
          name: s.name, type: "line", connectNulls: true,
          data: data.cycles.map((c) => {
            const p = s.points.find((x) => x.cycle_id === c.id);
            return p ? p[figure] : null;
          }),
        })),
      };
    }
    chart.setOption(option);
    window.addEventListener("resize", () => chart.resize());
  }
}

if (document.readyState === "complete") draw();
else window.addEventListener("load", draw);
