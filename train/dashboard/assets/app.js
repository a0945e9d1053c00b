// The shoshin training dashboard: follows the Server-Sent Events stream
// of api/events and draws each run's curves as SVG. No dependencies.
'use strict';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const OWN = new Set(['lr', 'throughput', 'batch_loss', 'epoch_seconds']);
const runs = new Map(); // id -> run: status fields, confusion, samples, stepPts, epochPts
const hidden = new Set();
let events = 0;

// --- data ---------------------------------------------------------------

// merge and halve mirror the server's downsampling (series.go).
function merge(a, b) {
  const wa = a.n || 1, wb = b.n || 1, w = wa + wb, v = {};
  for (const k in a.v) v[k] = k in b.v ? (a.v[k] * wa + b.v[k] * wb) / w : a.v[k];
  for (const k in b.v) if (!(k in a.v)) v[k] = b.v[k];
  return { x: (a.x * wa + b.x * wb) / w, t: (a.t * wa + b.t * wb) / w, v, n: w };
}

function add(pts, p, max) {
  pts.push(p);
  if (pts.length <= max) return;
  const out = [];
  for (let i = 0; i < pts.length; i += 2) out.push(i + 1 < pts.length ? merge(pts[i], pts[i + 1]) : pts[i]);
  pts.length = 0;
  for (const q of out) pts.push(q);
}

function upsert(s) {
  let r = runs.get(s.id);
  if (!r) { r = { stepPts: [], epochPts: [] }; runs.set(s.id, r); }
  Object.assign(r, s);
  r.received = performance.now();
  return r;
}

function onSnapshot(e) {
  const s = JSON.parse(e.data);
  runs.clear();
  for (const r of s.runs) {
    const stepPts = r.step_logs || [], epochPts = r.epoch_logs || [];
    delete r.step_logs; delete r.epoch_logs;
    Object.assign(upsert(r), { stepPts, epochPts });
  }
  changed();
}

function onPoint(kind) {
  return e => {
    const ev = JSON.parse(e.data);
    const r = upsert(ev.status);
    add(kind === 'step' ? r.stepPts : r.epochPts, ev.point, r.max_points || 2000);
    changed();
  };
}

function connect() {
  const es = new EventSource('api/events');
  const conn = document.getElementById('conn');
  es.onopen = () => { conn.textContent = 'live'; conn.className = 'conn'; };
  es.onerror = () => { conn.textContent = 'disconnected'; conn.className = 'conn off'; };
  es.addEventListener('snapshot', onSnapshot);
  es.addEventListener('run', e => { upsert(JSON.parse(e.data)); changed(); });
  es.addEventListener('step', onPoint('step'));
  es.addEventListener('epoch', onPoint('epoch'));
}

// --- drawing ------------------------------------------------------------

let pending = false, lastDraw = 0;
function changed() {
  events++;
  document.body.dataset.events = events;
  schedule();
}

// schedule draws soon, at most five times a second.
function schedule() {
  if (pending) return;
  pending = true;
  const wait = Math.max(0, 200 - (performance.now() - lastDraw));
  setTimeout(() => requestAnimationFrame(draw), wait);
}

function draw() {
  pending = false;
  lastDraw = performance.now();
  drawRuns();
  drawCharts();
  drawResults();
}

function color(r) { return COLORS[(r.id - 1) % COLORS.length]; }
function esc(s) { return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }

function num(v) {
  if (v === undefined || v === null || !isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e3) return Math.round(v).toLocaleString('en-US');
  if (Number.isInteger(v)) return String(v);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1e-2) return v.toFixed(4).replace(/\.?0+$/, '');
  return v.toExponential(2).replace(/\.?0+e/, 'e');
}

function dur(s) {
  if (s === undefined || s < 0 || !isFinite(s)) return '–';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60;
  return h ? `${h}h ${String(m).padStart(2, '0')}m` : m ? `${m}m ${String(x).padStart(2, '0')}s` : `${x}s`;
}

function elapsed(r) {
  return r.state === 'running' ? r.elapsed + (performance.now() - r.received) / 1000 : r.elapsed;
}

function drawRuns() {
  const box = document.getElementById('runs');
  if (runs.size === 0) return;
  const html = [];
  for (const r of runs.values()) {
    const total = r.epochs * r.steps;
    const done = r.epoch * r.steps + r.step;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const last = r.epochPts.length ? r.epochPts[r.epochPts.length - 1].v : null;
    const logs = last ? Object.keys(last).filter(k => k !== 'epoch_seconds').sort()
      .map(k => `<span>${esc(k)}</span><b>${num(last[k])}</b>`).join('') : '';
    html.push(`<div class="run" data-run="${r.id}" style="--c:${color(r)}">
      <label><input type="checkbox" data-toggle="${r.id}" ${hidden.has(r.id) ? '' : 'checked'}> ${esc(r.name)}
        <span class="state ${r.state}">${r.state}</span></label>
      <div class="bar"><div style="width:${(frac * 100).toFixed(1)}%"></div></div>
      <div class="facts">
        <span>epoch</span><b>${Math.min(r.epoch + 1, r.epochs) || 0} / ${r.epochs} · step ${r.step} / ${r.steps}</b>
        <span>elapsed</span><b class="elapsed">${dur(elapsed(r))}</b>
        <span>remaining</span><b>${r.state === 'running' ? dur(r.remaining) : '–'}</b>
        <span>throughput</span><b>${num(r.throughput)} ${r.unit}/s</b>
        ${logs}
      </div>
      ${r.error ? `<div class="err">${esc(r.error)}</div>` : ''}
      ${(r.warnings || []).map(w => `<div class="err">${esc(w)}</div>`).join('')}
    </div>`);
  }
  box.innerHTML = html.join('');
}

document.addEventListener('change', e => {
  const id = e.target.dataset && e.target.dataset.toggle;
  if (!id) return;
  if (e.target.checked) hidden.delete(+id); else hidden.add(+id);
  draw();
});

// charts returns one chart per quantity: "loss", each metric, then the
// learning rate and the throughput.
function charts() {
  const bases = new Set();
  for (const r of runs.values()) {
    for (const pts of [r.stepPts, r.epochPts]) {
      const seen = new Set();
      for (let i = pts.length - 1; i >= 0 && i >= pts.length - 50; i--) for (const k in pts[i].v) seen.add(k);
      if (pts.length) for (const k in pts[0].v) seen.add(k);
      for (const k of seen) if (!OWN.has(k)) bases.add(k.startsWith('val_') ? k.slice(4) : k);
    }
  }
  const list = [...bases].sort((a, b) => (a !== 'loss') - (b !== 'loss') || a.localeCompare(b));
  const unit = runs.size ? [...runs.values()][0].unit : 'examples';
  return list.map(b => ({ key: b, title: b }))
    .concat([{ key: 'lr', title: 'learning rate' }, { key: 'throughput', title: `throughput (${unit}/s)` }]);
}

function lines(chart) {
  const out = [];
  for (const r of runs.values()) {
    if (hidden.has(r.id)) continue;
    const c = color(r), b = chart.key;
    const pick = (pts, k) => pts.filter(p => k in p.v).map(p => [p.x, p.v[k]]);
    if (b === 'loss') out.push({ run: r.id, key: 'batch_loss', pts: pick(r.stepPts, 'batch_loss'), c, w: 1, op: 0.22 });
    const step = pick(r.stepPts, b);
    out.push({ run: r.id, key: b, pts: step, c, w: 1.2, op: 0.7 });
    if (b === 'lr' || b === 'throughput') {
      if (!step.length) out.push({ run: r.id, key: 'epoch ' + b, pts: pick(r.epochPts, b), c, w: 2, marks: true });
      continue;
    }
    out.push({ run: r.id, key: 'epoch ' + b, pts: pick(r.epochPts, b), c, w: 2.2, marks: true });
    out.push({ run: r.id, key: 'val_' + b, pts: pick(r.epochPts, 'val_' + b), c, w: 2.2, dash: '5 3', marks: true });
  }
  return out.filter(l => l.pts.length);
}

function ticks(lo, hi, n) {
  const span = hi - lo, raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => span / s <= n) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function plot(chart, ls, width) {
  const H = 210, L = 54, R = 10, T = 8, B = 24, W = Math.max(width, 200);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const l of ls) for (const [x, y] of l.pts) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  x0 = Math.min(x0, 0);
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const sx = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const sy = y => T + (y1 - y) / (y1 - y0) * (H - T - B);
  const s = [`<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${esc(chart.title)}">`];
  for (const v of ticks(y0, y1, 5)) {
    s.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}"/>`);
    s.push(`<text x="${L - 4}" y="${(sy(v) + 3).toFixed(1)}" text-anchor="end">${num(v)}</text>`);
  }
  for (const v of ticks(x0, x1, 6)) {
    s.push(`<text x="${sx(v).toFixed(1)}" y="${H - 8}" text-anchor="middle">${num(v)}</text>`);
  }
  // Epoch boundaries of the first visible run.
  const first = [...runs.values()].find(r => !hidden.has(r.id));
  if (first && first.steps > 0 && x1 / first.steps <= 60) {
    for (let e = first.steps; e < x1; e += first.steps) s.push(`<line class="epochline" x1="${sx(e).toFixed(1)}" x2="${sx(e).toFixed(1)}" y1="${T}" y2="${H - B}"/>`);
  }
  s.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/><text x="${W - R}" y="${H - 8}" text-anchor="end" dy="-10">step</text>`);
  for (const l of ls) {
    const pts = l.pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    s.push(`<polyline class="curve" data-run="${l.run}" data-key="${esc(l.key)}" data-n="${l.pts.length}" points="${pts}" stroke="${l.c}" stroke-width="${l.w}"` +
      `${l.op ? ` stroke-opacity="${l.op}"` : ''}${l.dash ? ` stroke-dasharray="${l.dash}"` : ''} vector-effect="non-scaling-stroke"/>`);
    if (l.marks && l.pts.length <= 120) {
      for (const [x, y] of l.pts) s.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.6" fill="${l.dash ? '#fff' : l.c}" stroke="${l.c}" stroke-width="1.4"><title>${esc(l.key)} ${num(y)} at step ${num(x)}</title></circle>`);
    }
  }
  s.push('</svg>');
  return s.join('');
}

function drawCharts() {
  const box = document.getElementById('charts');
  const list = charts();
  const have = new Map([...box.children].map(el => [el.dataset.chart, el]));
  const width = box.firstElementChild ? box.firstElementChild.clientWidth - 20 : 420;
  let any = false;
  for (const ch of list) {
    const ls = lines(ch);
    let el = have.get(ch.key);
    if (!ls.length) { if (el) el.remove(); continue; }
    any = true;
    if (!el) {
      el = document.createElement('div');
      el.className = 'chart';
      el.dataset.chart = ch.key;
      box.appendChild(el);
    }
    el.innerHTML = `<h2>${esc(ch.title)}</h2>` + plot(ch, ls, width > 100 ? width : 420);
  }
  document.getElementById('legend').hidden = !any;
}

function drawResults() {
  const box = document.getElementById('results');
  const html = [];
  for (const r of runs.values()) {
    if (r.confusion) {
      const cm = r.confusion, max = Math.max(1, ...cm.counts.flat());
      const rows = cm.counts.map((row, i) => {
        const sum = row.reduce((a, b) => a + b, 0) || 1;
        return `<tr><th>${esc(cm.labels[i])}</th>` + row.map((n, j) => {
          const a = (n / sum).toFixed(3);
          const bg = i === j ? `rgba(27,122,58,${a})` : `rgba(168,39,27,${a})`;
          return `<td style="background:${bg};color:${n / sum > 0.55 ? '#fff' : 'inherit'}" title="${n} of class ${esc(cm.labels[i])} predicted as ${esc(cm.labels[j])}">${n}</td>`;
        }).join('') + '</tr>';
      }).join('');
      const total = cm.counts.flat().reduce((a, b) => a + b, 0);
      const right = cm.counts.reduce((a, row, i) => a + row[i], 0);
      html.push(`<div class="result" style="--c:${color(r)}"><h2>${esc(r.name)}: confusion matrix</h2>
        <div class="axislabel">rows: true class, columns: predicted; accuracy ${num(right / total)} over ${total.toLocaleString('en-US')} (max cell ${max})</div>
        <table class="confusion"><tr><th></th>${cm.labels.map(l => `<th>${esc(l)}</th>`).join('')}</tr>${rows}</table></div>`);
    }
    if (r.samples && r.samples.length) {
      html.push(`<div class="result" style="--c:${color(r)}"><h2>${esc(r.name)}: samples</h2>` +
        r.samples.map(s => `<pre class="sample"><b>${esc(s.prompt)}</b>${esc(s.text)}</pre>`).join('') + '</div>');
    }
  }
  box.innerHTML = html.join('');
}

setInterval(() => {
  for (const el of document.querySelectorAll('.run')) {
    const r = runs.get(+el.dataset.run);
    const e = el.querySelector('.elapsed');
    if (r && e && r.state === 'running') e.textContent = dur(elapsed(r));
  }
}, 1000);

window.addEventListener('resize', schedule);
connect();
