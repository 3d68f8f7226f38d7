/// The coordinator's dashboard: one self-contained page (no external assets) that polls the
/// API every 5 s and draws SVG charts of lag per group and events/s per service over the last
/// hour, the error rates, the components and the recent alerts.
enum Dashboard {
    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>logship</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
header{display:flex;gap:16px;align-items:center;padding:12px 20px;background:#1d2430;color:#fff}
header h1{font-size:18px;margin:0}#status{padding:2px 10px;border-radius:10px;font-weight:600}
.healthy{background:#2e8b57}.degraded{background:#d98e04}.down{background:#c0392b}.starting{background:#777}
main{display:grid;grid-template-columns:1fr 1fr;gap:16px;padding:16px 20px}
section{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px #0002}
section.wide{grid-column:1/3}h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:3px 8px;border-bottom:1px solid #eee}
.up{color:#2e8b57}.stale,.stalled{color:#c0392b;font-weight:600}.stopped{color:#777}svg{width:100%;height:200px}
#reasons li{color:#c0392b}#reasons li.ok{color:#2e8b57}.legend span{margin-right:12px}
</style></head>
<body>
<header><h1>logship</h1><span id="status" class="starting">starting</span><span id="updated"></span></header>
<main>
<section class="wide"><h2>Reasons</h2><ul id="reasons"><li>—</li></ul><div id="advice"></div></section>
<section><h2>Lag per group (last hour)</h2><svg id="lagChart" viewBox="0 0 600 200" preserveAspectRatio="none"></svg><div class="legend" id="lagLegend"></div></section>
<section><h2>Events/s per service (last hour)</h2><svg id="rateChart" viewBox="0 0 600 200" preserveAspectRatio="none"></svg><div class="legend" id="rateLegend"></div></section>
<section><h2>Services</h2><table id="services"><tr><th>service</th><th>events/s</th><th>error %</th><th>owner</th></tr></table></section>
<section><h2>Consumer groups</h2><table id="groups"><tr><th>group</th><th>members</th><th>partitions</th><th>lag</th><th>status</th></tr></table></section>
<section><h2>Components</h2><table id="components"><tr><th>id</th><th>role</th><th>host</th><th>status</th><th>last seen</th></tr></table></section>
<section><h2>Recent alerts</h2><table id="alerts"><tr><th>window end</th><th>service</th><th>rule</th><th>state</th><th>severity</th></tr></table></section>
</main>
<script>
const colors = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#17becf"];
let token = new URLSearchParams(location.search).get("token") || localStorage.getItem("logshipToken") || "";
async function get(path) {
  const r = await fetch(path, {headers: token ? {Authorization: "Bearer " + token} : {}});
  if (r.status === 401) { token = prompt("Coordinator API token") || ""; localStorage.setItem("logshipToken", token); throw new Error("token"); }
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}
function esc(s) { return String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c])); }
function rows(id, header, list, cells) {
  const table = document.getElementById(id);
  table.innerHTML = header + list.map(x => "<tr>" + cells(x).map(c => "<td>" + c + "</td>").join("") + "</tr>").join("");
}
function chart(id, legendId, history, pick) {
  const svg = document.getElementById(id), names = new Set();
  history.forEach(p => Object.keys(pick(p) || {}).forEach(n => names.add(n)));
  const series = [...names].sort(), max = Math.max(1, ...history.flatMap(p => Object.values(pick(p) || {})));
  const x = i => history.length < 2 ? 600 : i * 600 / (history.length - 1), y = v => 195 - v * 185 / max;
  let out = '<rect x="0" y="0" width="600" height="200" fill="#fbfcfd" stroke="#e3e6ea"/>';
  series.forEach((name, k) => {
    const pts = history.map((p, i) => x(i).toFixed(1) + "," + y((pick(p) || {})[name] || 0).toFixed(1)).join(" ");
    out += '<polyline fill="none" stroke-width="2" stroke="' + colors[k % colors.length] + '" points="' + pts + '"/>';
  });
  out += '<text x="4" y="14" font-size="12" fill="#555">max ' + max.toFixed(max < 10 ? 1 : 0) + '</text>';
  svg.innerHTML = out;
  document.getElementById(legendId).innerHTML = series.map((n, k) => '<span style="color:' + colors[k % colors.length] + '">■ ' + esc(n) + '</span>').join("");
}
async function refresh() {
  try {
    const [cluster, components, alerts, history] = await Promise.all(
      ["/api/v1/cluster", "/api/v1/components", "/api/v1/alerts", "/api/v1/history"].map(get));
    const status = document.getElementById("status");
    status.textContent = cluster.status; status.className = cluster.status;
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.getElementById("reasons").innerHTML = cluster.reasons.length
      ? cluster.reasons.map(r => "<li>" + esc(r) + "</li>").join("") : '<li class="ok">all good</li>';
    document.getElementById("advice").innerHTML = cluster.groups.filter(g => g.advice).map(g => "<p>" + esc(g.advice) + "</p>").join("");
    rows("services", "<tr><th>service</th><th>events/s</th><th>error %</th><th>owner</th></tr>", cluster.services,
         s => [esc(s.name), s.events_per_second.toFixed(1), s.error_pct.toFixed(2), esc(s.owner || "")]);
    rows("groups", "<tr><th>group</th><th>members</th><th>partitions</th><th>lag</th><th>status</th></tr>", cluster.groups,
         g => [esc(g.name), g.members, g.partitions, g.lag, esc(g.status)]);
    rows("components", "<tr><th>id</th><th>role</th><th>host</th><th>status</th><th>last seen</th></tr>", components,
         c => [esc(c.id), esc(c.role), esc(c.host), '<span class="' + esc(c.status) + '">' + esc(c.status) + "</span>", esc(c.last_seen)]);
    rows("alerts", "<tr><th>window end</th><th>service</th><th>rule</th><th>state</th><th>severity</th></tr>", alerts.slice(-20).reverse(),
         a => [esc(a.window.end), esc(a.service), esc(a.rule), esc(a.state), esc(a.severity)]);
    chart("lagChart", "lagLegend", history, p => p.lag);
    chart("rateChart", "rateLegend", history, p => p.events_per_second);
  } catch (e) { document.getElementById("updated").textContent = "cannot reach the coordinator: " + e.message; }
}
refresh(); setInterval(refresh, 5000);
</script>
</body></html>
"""#
}
