// Risk analytics charts (ECharts, served locally): weekday × hour heat-map, violation rate by
// tenure band with 95% intervals, team league table, daily trends. Every cell/bar opens the
// alerts behind it (/analytics/alerts with the page's filters).
const data = JSON.parse(document.getElementById("analytics-data").textContent);
const labels = JSON.parse(document.getElementById("analytics-labels").textContent);
const query = new URLSearchParams(labels.params || {});

function drill(extra) {
  const q = new URLSearchParams(query);
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  window.location.assign(`/analytics/alerts?${q.toString()}`);
}

function chartIn(id, height) {
  const el = document.getElementById(id);
  if (!el) return null;
  el.style.height = `${height}px`; // set from script: the CSP refuses inline style attributes
  const chart = window.echarts.init(el, null, { locale: labels.locale });
  window.addEventListener("resize", () => chart.resize());
  return chart;
}

const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(2)}%`);

function heatmap() {
  if (!data.heatmap) return;
  const chart = chartIn("chart-heatmap", 320);
  if (!chart) return;
  const hours = Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, "0")}`);
  const cells = data.heatmap.cells;
  const select = document.getElementById("heat-metric");
  // Attempt rate: warn/block per message (any sender); violation rate: the agents' own
  // warn/block per agent message.
  // Attempts per agent-hour: attempts over the rota's agent-hours on shift in the cell.
  const draw = (metric) => {
    const violation = metric === "violation_rate";
    const perHour = metric === "attempts_per_agent_hour";
    const fmt = perHour ? (v) => (v === null || v === undefined ? "—" : v.toFixed(2)) : pct;
    const values = cells.map((c) => [c.local_hour, c.local_dow, c[metric] ?? 0,
      violation ? c.agent_messages : perHour ? c.agent_hours : c.messages,
      violation ? c.violations : c.attempts]);
    const max = Math.max(0.0001, ...values.map((v) => v[2]));
    const rate = violation ? labels.violation_rate
      : perHour ? labels.attempts_per_agent_hour : labels.attempt_rate;
    const events = violation ? labels.violations : labels.attempts;
    const volume = violation ? labels.agent_messages
      : perHour ? labels.agent_hours : labels.messages;
    chart.setOption({
      tooltip: {
        formatter: (p) => `${labels.days[p.value[1]]} ${hours[p.value[0]]}:00<br>` +
          `${rate}: ${fmt(p.value[2])}<br>${events}: ${p.value[4]} / ${volume}: ${p.value[3]}`,
      },
      grid: { left: 40, right: 10, top: 10, bottom: 60 },
      xAxis: { type: "category", data: hours, splitArea: { show: true } },
      yAxis: { type: "category", data: labels.days, splitArea: { show: true } },
      visualMap: { min: 0, max, calculable: true, orient: "horizontal", left: "center",
        bottom: 0, formatter: (v) => fmt(v) },
      series: [{ type: "heatmap", name: rate, data: values,
        emphasis: { itemStyle: { borderWidth: 1 } } }],
    });
    chart.getDom().dataset.metric = metric;
  };
  draw(select ? select.value : "attempt_rate");
  if (select) select.addEventListener("change", () => draw(select.value));
  chart.on("click", (p) => drill({ dow: p.value[1], hour: p.value[0] }));
}

function errorBars(bands) {
  return {
    type: "custom", name: labels.ci, silent: true,
    renderItem: (params, api) => {
      const lo = api.coord([api.value(0), api.value(1)]);
      const hi = api.coord([api.value(0), api.value(2)]);
      const w = 6;
      const style = { stroke: "#333", lineWidth: 1.5 };
      return { type: "group", children: [
        { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style },
        { type: "line", shape: { x1: lo[0] - w, y1: lo[1], x2: lo[0] + w, y2: lo[1] }, style },
        { type: "line", shape: { x1: hi[0] - w, y1: hi[1], x2: hi[0] + w, y2: hi[1] }, style },
      ] };
    },
    data: bands.map((b, i) => [i, b.ci_low, b.ci_high]),
    z: 10,
  };
}

function tenure() {
  if (!data.tenure) return;
  const chart = chartIn("chart-tenure", 260);
  if (!chart) return;
  const bands = data.tenure.bands;
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: pct },
    grid: { left: 60, right: 10, top: 10, bottom: 30 },
    xAxis: { type: "category", data: bands.map((b) => labels.bands[b.tenure_band]) },
    yAxis: { type: "value", axisLabel: { formatter: pct } },
    series: [{ type: "bar", name: labels.violation_rate,
      data: bands.map((b) => b.violation_rate ?? 0) }, errorBars(bands)],
  });
  chart.on("click", (p) => { if (p.seriesType === "bar") drill({ band: bands[p.dataIndex].tenure_band }); });
}

function league() {
  if (!data.league) return;
  const teams = data.league.teams.filter((t) => t.team_id).slice(0, 15).reverse();
  const chart = chartIn("chart-league", Math.max(200, 28 * teams.length + 40));
  if (!chart) return;
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: pct },
    grid: { left: 120, right: 20, top: 10, bottom: 30 },
    yAxis: { type: "category", data: teams.map((t) => t.name) },
    xAxis: { type: "value", axisLabel: { formatter: pct } },
    series: [{ type: "bar", name: labels.violation_rate,
      data: teams.map((t) => t.violation_rate ?? 0) }],
  });
  chart.on("click", (p) => drill({ team: teams[p.dataIndex].team_id }));
}

function trends() {
  if (!data.trends) return;
  const chart = chartIn("chart-trends", 260);
  if (!chart) return;
  const days = data.trends.days;
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: pct },
    legend: { top: 0 },
    grid: { left: 60, right: 10, top: 30, bottom: 30 },
    xAxis: { type: "category", data: days.map((d) => d.day) },
    yAxis: { type: "value", axisLabel: { formatter: pct } },
    series: [
      { type: "line", name: labels.attempt_rate, connectNulls: true,
        data: days.map((d) => d.attempt_rate) },
      { type: "line", name: labels.violation_rate, connectNulls: true,
        data: days.map((d) => d.violation_rate) },
    ],
  });
}

function draw() {
  if (!window.echarts) return;
  heatmap();
  tenure();
  league();
  trends();
}

if (document.readyState === "complete") draw();
else window.addEventListener("load", draw);
