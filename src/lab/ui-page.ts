/**
 * The web view's single page: nodes, pods and their labels, the live flow list (allowed green,
 * denied red, with the deciding policy rule) and the reachability matrix. Plain HTML and a small
 * script polling the lab's `/api/*` endpoints: nothing to build or fetch from the internet.
 */
export const UI_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>calico-lab</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.4em; margin: 0 0 .5em; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
  table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
  th { background: #f3f3f3; } .label { background: #eef; border-radius: 3px; padding: 0 4px; margin-right: 3px; }
  tr.allow td.action { background: #d8f5d8; color: #075e07; } tr.deny td.action { background: #fbd5d5; color: #8a0c0c; }
  td.ok { background: #d8f5d8; text-align: center; } td.blocked { background: #fbd5d5; text-align: center; }
  .muted { color: #888; } #layout { display: flex; gap: 2em; flex-wrap: wrap; }
</style>
</head>
<body>
<h1>calico-lab</h1>
<div id="layout">
  <section><h2>Nodes</h2><table id="nodes"><thead><tr><th>Node</th><th>Address</th><th>Status</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Pods</h2><table id="pods"><thead><tr><th>Pod</th><th>Node</th><th>IP</th><th>Labels</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Matrix <span class="muted" id="matrix-title"></span></h2><table id="matrix"></table></section>
</div>
<h2>Flows <span class="muted" id="flow-count"></span></h2>
<table id="flows"><thead><tr><th>Time</th><th>Node</th><th>Reporter</th><th>Action</th><th>Source</th><th>Destination</th><th>Proto</th><th>Packets</th><th>Policy</th></tr></thead><tbody></tbody></table>
<script>
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
};
const fill = (id, rows) => document.querySelector('#' + id + ' tbody').replaceChildren(...rows);
const who = (ns, name, ip, port) => (name === '-' ? ip : ns + '/' + name) + (port ? ':' + port : '');
function policy(f) {
  const last = f.policies.all_policies[f.policies.all_policies.length - 1];
  if (!last) return '-';
  const p = last.split('|');
  return p[4] === '-1' ? p[2] : p[2] + ' rule ' + p[4];
}
async function refresh() {
  const s = await (await fetch('/api/state')).json();
  fill('nodes', s.nodes.map((n) => el('tr', { 'data-node': n.name }, el('td', {}, n.name), el('td', {}, n.ip), el('td', {}, n.status))));
  fill('pods', s.pods.map((p) => el('tr', { 'data-pod': p.ref }, el('td', {}, p.ref), el('td', {}, p.node), el('td', {}, p.ips.join(', ')),
    el('td', {}, ...Object.entries(p.labels).map(([k, v]) => el('span', { class: 'label' }, k + '=' + v))))));
  document.getElementById('flow-count').textContent = s.flows.length + ' most recent';
  fill('flows', s.flows.map((f) => el('tr', { class: 'flow ' + f.action, 'data-action': f.action },
    el('td', {}, new Date(f.end_time * 1000).toLocaleTimeString()), el('td', {}, f.host), el('td', {}, f.reporter),
    el('td', { class: 'action' }, f.action), el('td', {}, who(f.source_namespace, f.source_name, f.source_ip, 0)),
    el('td', {}, who(f.dest_namespace, f.dest_name, f.dest_ip, f.dest_port)), el('td', {}, f.proto),
    el('td', {}, String(f.reporter === 'src' ? f.packets_out : f.packets_in)), el('td', { class: 'policy' }, policy(f)))));
}
async function matrix() {
  const m = await (await fetch('/api/matrix')).json();
  document.getElementById('matrix-title').textContent = '(' + m.protocol + '/' + m.port + ', rows: from, columns: to)';
  const pods = [...new Set(m.cells.flatMap((c) => [c.from, c.to]))].sort();
  const head = el('tr', {}, el('th', {}, ''), ...pods.map((p) => el('th', {}, p)));
  const rows = pods.map((from) => el('tr', {}, el('th', {}, from), ...pods.map((to) => {
    if (to === from) return el('td', { class: 'muted' }, '.');
    const ok = m.cells.some((c) => c.from === from && c.to === to && c.result === 'open');
    return el('td', { class: ok ? 'ok' : 'blocked', 'data-cell': from + '>' + to }, ok ? 'ok' : '--');
  })));
  document.getElementById('matrix').replaceChildren(head, ...rows);
}
refresh().catch(() => undefined);
matrix().catch(() => undefined);
setInterval(() => refresh().catch(() => undefined), 2000);
setInterval(() => matrix().catch(() => undefined), 15000);
</script>
</body>
</html>
`;
