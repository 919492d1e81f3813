// Pronto's web console: one page over the server's own APIs (OIP v2 REST, /v1 chat, /v2/models/stats, /v2/jobs).
// No framework and nothing from a CDN. Every view renders through track(), so a test (or a script) can await
// window.pronto.idle() for the page to settle instead of guessing with timers.
'use strict';

const params = new URLSearchParams(location.search);
const state = {
  apiKey: sessionStorage.getItem('pronto.apiKey') || '',
  adminKey: sessionStorage.getItem('pronto.adminKey') || '',
  pending: 0,
  waiters: [],
  samples: [],            // [{t, models: {name: {count, success, ns}}}] for the live plots
  pollMs: Number(params.get('poll') ?? 2000),
  timer: null,
  chats: {},              // model -> [{role, content}]
};
const MaxSamples = 60;

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function track(promise) {
  state.pending++;
  return promise.finally(() => {
    if (--state.pending === 0) state.waiters.splice(0).forEach(resolve => resolve());
  });
}

window.pronto = {
  idle: () => (state.pending === 0 ? Promise.resolve() : new Promise(resolve => state.waiters.push(resolve))),
  sample: () => track(sampleStats()),
  show: () => track(route()),
};

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

function svg(tag, attrs = {}) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function authHeaders(admin) {
  const key = admin ? state.adminKey : (state.apiKey || state.adminKey);
  return key ? { Authorization: 'Bearer ' + key } : {};
}

// The API's own message: OIP v2 errors are {"error": "..."}, OpenAI's {"error": {"message": ...}}.
async function failure(response) {
  const text = await response.text();
  let message = text;
  try {
    const json = JSON.parse(text);
    message = typeof json.error === 'string' ? json.error : (json.error?.message ?? text);
  } catch { /* not JSON: the text itself */ }
  return new ApiError(response.status, message || response.statusText);
}

async function api(path, { method = 'GET', body, admin = false } = {}) {
  const headers = authHeaders(admin);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  const text = await response.text();
  return text ? JSON.parse(text) : {};
}

function errorBox(e) {
  return h('div', { class: 'error', role: 'alert' }, e instanceof ApiError ? `${e.status}: ${e.message}` : String(e.message ?? e));
}

function showError(target, e) {
  target.replaceChildren(errorBox(e));
}

// ---- models ----------------------------------------------------------------------------------------------------

async function modelList() {
  if (state.adminKey) {
    try {
      const index = await api('/v2/repository/index', { method: 'POST', body: {}, admin: true });
      return index.map(m => ({ name: m.name, version: m.version ?? '', state: m.state ?? '', reason: m.reason ?? '' }));
    } catch (e) {
      if (e.status !== 403) throw e;
    }
  }
  // Without the admin API: the ready versions, from the statistics every API key may read.
  const stats = await api('/v2/models/stats');
  return stats.model_stats.map(s => ({ name: s.name, version: s.version, state: 'READY', reason: '' }));
}

function param(config, key) {
  return config?.parameters?.[key]?.string_value;
}

function kindOf(config) {
  if (!config) return 'unknown';
  if (param(config, 'pronto.generative') === 'true') return 'generative';
  const prepare = param(config, 'pronto.prepare');
  const produce = param(config, 'pronto.produce');
  return prepare && produce ? `${prepare} → ${produce}` : 'raw tensors';
}

async function renderModels(view) {
  const models = await modelList();
  const rows = await Promise.all(models.map(async m => {
    let meta = null;
    let config = null;
    if (m.state === 'READY') {
      [meta, config] = await Promise.all([api(`/v2/models/${encodeURIComponent(m.name)}`), api(`/v2/models/${encodeURIComponent(m.name)}/config`)]);
    }
    return { ...m, meta, config };
  }));
  const table = h('table', { id: 'models' },
    h('thead', {}, h('tr', {}, ['Model', 'Versions', 'State', 'Kind', 'Inputs', 'Outputs', ''].map(t => h('th', { text: t })))),
    h('tbody', {}, rows.map(m => h('tr', { 'data-model': m.name },
      h('td', {}, m.state === 'READY' ? h('a', { href: `#/models/${encodeURIComponent(m.name)}`, text: m.name }) : m.name),
      h('td', { text: m.meta ? m.meta.versions.join(', ') : m.version }),
      h('td', { class: `state state-${m.state}`, title: m.reason, text: m.state || 'UNKNOWN' }),
      h('td', { class: 'kind', text: kindOf(m.config) }),
      h('td', { text: m.meta ? m.meta.inputs.map(t => `${t.name} ${t.datatype} [${t.shape}]`).join('; ') : '' }),
      h('td', { text: m.meta ? m.meta.outputs.map(t => `${t.name} ${t.datatype} [${t.shape}]`).join('; ') : '' }),
      h('td', {}, state.adminKey ? adminButtons(m) : null)))));
  view.replaceChildren(h('h2', { text: 'Models' }),
    state.adminKey ? null : h('p', { class: 'muted', text: 'Ready models. Type an admin key (Keys) to see every model of the repository and load or unload them.' }),
    h('div', { id: 'models-error' }), table);
}

function adminButtons(m) {
  const act = action => () => track((async () => {
    const box = document.getElementById('models-error');
    try {
      await api(`/v2/repository/models/${encodeURIComponent(m.name)}/${action}`, { method: 'POST', body: {}, admin: true });
      await route();
    } catch (e) {
      showError(box, e);
    }
  })());
  return m.state === 'READY'
    ? h('button', { 'data-action': 'unload', onclick: act('unload'), text: 'Unload' })
    : h('button', { 'data-action': 'load', onclick: act('load'), text: 'Load' });
}

// ---- one model: details and try-it -------------------------------------------------------------------------------

async function renderModel(view, name) {
  const path = `/v2/models/${encodeURIComponent(name)}`;
  const [meta, config] = await Promise.all([api(path), api(`${path}/config`)]);
  const kind = kindOf(config);
  const tensors = list => h('table', {}, h('tbody', {}, list.map(t => h('tr', {}, h('td', { text: t.name }), h('td', { text: t.datatype }), h('td', { text: `[${t.shape}]` })))));
  const pronto = Object.entries(config.parameters ?? {}).filter(([k]) => k.startsWith('pronto.')).map(([k, v]) => `${k}: ${v.string_value}`);
  view.replaceChildren(
    h('h2', { id: 'model-name', text: meta.name }),
    h('p', { class: 'muted', text: `platform ${meta.platform} · versions ${meta.versions.join(', ')} · ${kind}` }),
    h('div', { class: 'charts' },
      h('div', {}, h('h3', { text: 'Inputs' }), tensors(meta.inputs)),
      h('div', {}, h('h3', { text: 'Outputs' }), tensors(meta.outputs))),
    pronto.length ? h('pre', { class: 'processing', text: pronto.join('\n') }) : null,
    h('div', { class: 'panel', id: 'try' }, h('h3', { text: 'Try it' }), tryPanel(meta, config)));
}

function tryPanel(meta, config) {
  if (param(config, 'pronto.generative') === 'true') return chatPanel(meta.name);
  const prepare = param(config, 'pronto.prepare');
  const produce = param(config, 'pronto.produce');
  if (!prepare || !produce) return h('p', { class: 'muted', text: 'A raw-tensor model: call it through the API (/docs).' });
  const input = meta.inputs.find(t => t.name === prepare);
  const result = h('div', { id: 'result' });
  let form;
  if (prepare === 'text') {
    const text = h('textarea', { id: 'try-text', placeholder: 'Text to send' });
    form = h('form', {}, text, h('button', { type: 'submit', text: 'Run' }));
    form.addEventListener('submit', submit(() => inferJson(meta.name, input, text.value, config), result, config));
  } else if (prepare === 'fields') {
    const names = (param(config, 'pronto.fields.names') ?? '').split(',').filter(Boolean);
    const inputs = names.map(n => h('input', { name: n, type: 'number', step: 'any', value: '0', required: true }));
    form = h('form', {}, h('div', { class: 'fields' }, names.map((n, i) => h('label', {}, n, inputs[i]))), h('button', { type: 'submit', text: 'Run' }));
    form.addEventListener('submit', submit(() => {
      const row = {};
      names.forEach((n, i) => { row[n] = inputs[i].value === '' ? null : Number(inputs[i].value); });
      return inferJson(meta.name, input, JSON.stringify(row), config);
    }, result, config));
  } else if (prepare === 'image') {
    const file = h('input', { id: 'try-image', type: 'file', accept: 'image/*', required: true });
    const preview = h('img', { class: 'preview', alt: '' });
    file.addEventListener('change', () => { if (file.files[0]) preview.src = URL.createObjectURL(file.files[0]); });
    form = h('form', {}, file, preview, h('button', { type: 'submit', text: 'Run' }));
    form.addEventListener('submit', submit(async () => inferBinary(meta.name, input, new Uint8Array(await file.files[0].arrayBuffer()), config), result, config));
  } else {
    return h('p', { class: 'muted', text: `No try-it panel for '${prepare}' input.` });
  }
  return h('div', {}, form, result);
}

function submit(run, result, config) {
  return event => {
    event.preventDefault();
    track((async () => {
      result.replaceChildren(h('p', { class: 'muted', text: 'Running…' }));
      try {
        const response = await run();
        result.replaceChildren(...renderOutput(response, config));
      } catch (e) {
        showError(result, e);
      }
    })());
  };
}

function classes(config) {
  const name = param(config, 'pronto.classify.output') ?? 'probabilities';
  const out = config.output.find(o => o.name === name);
  const n = out ? out.dims[out.dims.length - 1] : 5;
  return { name, k: Math.max(1, Math.min(5, n)) };
}

function requestedOutputs(config) {
  if (param(config, 'pronto.produce') === 'classify') {
    const { name, k } = classes(config);
    return [{ name, parameters: { classification: k } }];
  }
  return [{ name: 'embedding' }];
}

function shapeOf(input) {
  return input.shape.map(d => (d < 0 ? 1 : d));
}

async function inferJson(model, input, value, config) {
  return api(`/v2/models/${encodeURIComponent(model)}/infer`, {
    method: 'POST',
    body: { inputs: [{ name: input.name, shape: shapeOf(input), datatype: 'BYTES', data: [value] }], outputs: requestedOutputs(config) },
  });
}

// OIP v2's binary tensor extension: a JSON header, then the BYTES element as a 4-byte little-endian length and its bytes.
async function inferBinary(model, input, bytes, config) {
  const header = new TextEncoder().encode(JSON.stringify({
    inputs: [{ name: input.name, shape: shapeOf(input), datatype: 'BYTES', parameters: { binary_data_size: bytes.length + 4 } }],
    outputs: requestedOutputs(config),
  }));
  const body = new Uint8Array(header.length + 4 + bytes.length);
  body.set(header, 0);
  new DataView(body.buffer).setUint32(header.length, bytes.length, true);
  body.set(bytes, header.length + 4);
  const response = await fetch(`/v2/models/${encodeURIComponent(model)}/infer`, {
    method: 'POST',
    headers: { ...authHeaders(false), 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) },
    body,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

function renderOutput(response, config) {
  const out = response.outputs[0];
  if (param(config, 'pronto.produce') === 'classify') {
    // "score:index:label" per class, best first (Triton's classification extension).
    return [h('div', { class: 'bars' }, out.data.map(element => {
      const first = element.indexOf(':');
      const second = element.indexOf(':', first + 1);
      const score = Number(element.slice(0, first));
      const label = element.slice(second + 1);
      const pct = (score * 100).toFixed(1) + '%';
      return h('div', { class: 'bar', 'data-label': label },
        h('span', { class: 'label', text: label }),
        h('span', { class: 'track' }, h('span', { class: 'fill', style: `width:${Math.max(0, Math.min(100, score * 100))}%; display:block` })),
        h('span', { class: 'pct', text: pct }));
    }))];
  }
  const values = out.data;
  const dims = out.shape[out.shape.length - 1];
  const norm = Math.sqrt(values.slice(0, dims).reduce((s, v) => s + v * v, 0));
  return [
    h('p', { class: 'embedding-summary', 'data-dims': dims, text: `${out.name}: ${dims} dims, L2 norm ${norm.toFixed(4)}` }),
    h('pre', { class: 'embedding-values', text: values.slice(0, 8).map(v => v.toFixed(6)).join('  ') + (dims > 8 ? '  …' : '') }),
  ];
}

// ---- chat playground ---------------------------------------------------------------------------------------------

function chatPanel(model) {
  const messages = state.chats[model] ??= [];
  const log = h('div', { class: 'chat', id: 'chat-log' });
  const draw = () => log.replaceChildren(...messages.map(m => h('div', { class: `msg msg-${m.role}` }, h('b', { text: m.role }), h('span', { class: 'content', text: m.content }))));
  draw();
  const text = h('textarea', { id: 'chat-text', placeholder: 'Message' });
  const maxTokens = h('input', { id: 'chat-max-tokens', type: 'number', min: '1', value: '64' });
  const temperature = h('input', { id: 'chat-temperature', type: 'number', min: '0', max: '2', step: '0.1', value: '0' });
  const errors = h('div', { id: 'chat-error' });
  const form = h('form', {}, text,
    h('label', {}, 'max tokens ', maxTokens), ' ', h('label', {}, 'temperature ', temperature), ' ',
    h('button', { type: 'submit', text: 'Send' }),
    h('button', { type: 'button', onclick: () => { messages.length = 0; draw(); }, text: 'Clear' }));
  form.addEventListener('submit', event => {
    event.preventDefault();
    const content = text.value;
    if (!content) return;
    text.value = '';
    track((async () => {
      errors.replaceChildren();
      messages.push({ role: 'user', content });
      const answer = { role: 'assistant', content: '' };
      messages.push(answer);
      draw();
      const shown = log.lastChild.querySelector('.content');
      try {
        await streamChat(model, messages.slice(0, -1), Number(maxTokens.value), Number(temperature.value), piece => {
          answer.content += piece;
          shown.textContent = answer.content;
        });
      } catch (e) {
        messages.splice(-2, 2);
        draw();
        showError(errors, e);
      }
    })());
  });
  return h('div', {}, log, form, errors);
}

// /v1/chat/completions with stream: true, read as Server-Sent Events ("data: {chunk}" ... "data: [DONE]").
async function streamChat(model, messages, maxTokens, temperature, onText) {
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { ...authHeaders(false), 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, messages, stream: true, max_tokens: maxTokens, temperature }),
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new ApiError(chunk.error.code ?? 500, chunk.error.message);
        const piece = chunk.choices?.[0]?.delta?.content;
        if (piece) onText(piece);
      }
    }
  }
}

// ---- metrics -----------------------------------------------------------------------------------------------------

async function sampleStats() {
  const stats = await api('/v2/models/stats');
  const models = {};
  for (const s of stats.model_stats) {
    const key = `${s.name}/${s.version}`;
    models[key] = { count: s.inference_count, success: s.inference_stats.success.count, ns: s.inference_stats.success.ns, cost: s.cost_cpu_seconds_per_1000_inferences };
  }
  state.samples.push({ t: performance.now(), models });
  if (state.samples.length > MaxSamples) state.samples.shift();
  if (location.hash.startsWith('#/metrics')) drawMetrics();
}

// Per interval between two samples: inferences per second and mean request latency (ms) of the requests in it.
function series() {
  const keys = new Set(state.samples.flatMap(s => Object.keys(s.models)));
  const result = {};
  for (const key of keys) {
    const throughput = [];
    const latency = [];
    for (let i = 1; i < state.samples.length; i++) {
      const a = state.samples[i - 1].models[key];
      const b = state.samples[i].models[key];
      if (!a || !b) continue;
      const seconds = (state.samples[i].t - state.samples[i - 1].t) / 1000;
      throughput.push(seconds > 0 ? (b.count - a.count) / seconds : 0);
      const n = b.success - a.success;
      latency.push(n > 0 ? (b.ns - a.ns) / n / 1e6 : null);
    }
    result[key] = { throughput, latency };
  }
  return result;
}

const Colors = ['#2563eb', '#dc6803', '#067647', '#9e77ed', '#b42318', '#0e9384'];

function chart(id, title, lines, unit) {
  const width = 500;
  const height = 160;
  const all = lines.flatMap(l => l.values.filter(v => v !== null));
  const max = Math.max(1e-9, ...all);
  const root = svg('svg', { class: 'chart', id, viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': title });
  const longest = Math.max(2, ...lines.map(l => l.values.length));
  const step = (width - 16) / (longest - 1);
  lines.forEach((line, i) => {
    const color = Colors[i % Colors.length];
    const xy = line.values.map((v, j) => (v === null ? null : [8 + j * step, height - 8 - (v / max) * (height - 16)])).filter(Boolean);
    root.append(svg('polyline', { points: xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' '), stroke: color, 'data-series': line.key }));
    for (const [x, y] of xy) root.append(svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 3, fill: color }));
  });
  return h('div', {}, h('h3', { text: `${title} (max ${max.toFixed(2)} ${unit})` }), root);
}

function drawMetrics() {
  const view = document.getElementById('view');
  const latest = state.samples[state.samples.length - 1];
  if (!latest) return;
  const s = series();
  const keys = Object.keys(latest.models).sort();
  const table = h('table', { id: 'stats' },
    h('thead', {}, h('tr', {}, ['Model/version', 'Inferences', 'Successes', 'Mean latency (ms)', 'CPU-s per 1,000'].map(t => h('th', { text: t })))),
    h('tbody', {}, keys.map(k => {
      const m = latest.models[k];
      return h('tr', { 'data-model': k },
        h('td', { text: k }),
        h('td', { class: 'inferences', text: m.count }),
        h('td', { class: 'successes', text: m.success }),
        h('td', { class: 'latency', text: m.success > 0 ? (m.ns / m.success / 1e6).toFixed(3) : '–' }),
        h('td', { text: m.cost.toFixed(4) }));
    })));
  view.replaceChildren(
    h('h2', { text: 'Metrics' }),
    h('p', { class: 'muted', text: state.pollMs > 0 ? `From /v2/models/stats every ${state.pollMs / 1000} s (the last ${MaxSamples} samples).` : 'Sampling is paused (?poll=0).' }),
    h('div', { class: 'legend' }, keys.map((k, i) => h('span', { style: `color:${Colors[i % Colors.length]}`, text: `■ ${k}` }))),
    h('div', { class: 'charts' },
      chart('throughput', 'Throughput', keys.map(k => ({ key: k, values: s[k]?.throughput ?? [] })), 'inferences/s'),
      chart('latency', 'Latency', keys.map(k => ({ key: k, values: s[k]?.latency ?? [] })), 'ms')),
    table,
    h('p', {}, 'Prometheus metrics: ', h('a', { href: '/metrics', text: '/metrics' })));
}

async function renderMetrics() {
  await sampleStats();
  drawMetrics();
}

// ---- jobs --------------------------------------------------------------------------------------------------------

async function renderJobs(view) {
  const { jobs } = await api('/v2/jobs');
  const runs = jobs.flatMap(j => (j.runs ?? []).map(r => ({ ...r, job: j.name })));
  view.replaceChildren(
    h('h2', { text: 'Jobs' }),
    jobs.length === 0 ? h('p', { class: 'muted', id: 'no-jobs', text: 'No scheduled jobs (settings Pronto:Jobs, or POST /v2/jobs with an admin key).' }) : null,
    h('table', { id: 'jobs' },
      h('thead', {}, h('tr', {}, ['Job', 'Kind', 'Schedule', 'Model', 'Next run', 'Running'].map(t => h('th', { text: t })))),
      h('tbody', {}, jobs.map(j => h('tr', { 'data-job': j.name },
        h('td', { text: j.name }), h('td', { text: j.kind }), h('td', { text: `${j.cron} (${j.time_zone})` }),
        h('td', { text: j.model ?? '' }), h('td', { text: j.next_run ?? '' }), h('td', { text: j.running ? 'yes' : 'no' }))))),
    h('h3', { text: 'Runs (newest first)' }),
    h('table', { id: 'runs' },
      h('thead', {}, h('tr', {}, ['Run', 'Status', 'Started', 'Ended', 'Rows', 'Errors', 'CPU-s', 'Message'].map(t => h('th', { text: t })))),
      h('tbody', {}, runs.map(r => h('tr', { 'data-run': r.id },
        h('td', { text: r.id }), h('td', { class: 'status', text: r.status }), h('td', { text: r.started ?? '' }), h('td', { text: r.ended ?? '' }),
        h('td', { class: 'rows', text: r.rows ?? '' }), h('td', { text: r.errors ?? '' }), h('td', { text: r.cost_cpu_seconds ?? '' }), h('td', { text: r.message ?? '' }))))));
}

// ---- routing -----------------------------------------------------------------------------------------------------

async function route() {
  const view = document.getElementById('view');
  const [, page = 'models', arg] = location.hash.split('/');
  document.querySelectorAll('nav a').forEach(a => a.classList.toggle('active', a.dataset.nav === page));
  try {
    if (page === 'metrics') await renderMetrics();
    else if (page === 'jobs') await renderJobs(view);
    else if (page === 'models' && arg) await renderModel(view, decodeURIComponent(arg));
    else await renderModels(view);
  } catch (e) {
    view.replaceChildren(errorBox(e), e.status === 401 ? h('p', { text: 'This server needs an API key: type it under Keys.' }) : null);
  }
}

async function start() {
  document.getElementById('api-key').value = state.apiKey;
  document.getElementById('admin-key').value = state.adminKey;
  document.getElementById('keys-form').addEventListener('submit', event => {
    event.preventDefault();
    state.apiKey = document.getElementById('api-key').value;
    state.adminKey = document.getElementById('admin-key').value;
    sessionStorage.setItem('pronto.apiKey', state.apiKey);
    sessionStorage.setItem('pronto.adminKey', state.adminKey);
    track(route());
  });
  try {
    const server = await api('/v2');
    document.getElementById('server').textContent = `${server.name} ${server.version}`;
  } catch { /* the view shows the error */ }
  window.addEventListener('hashchange', () => track(route()));
  if (state.pollMs > 0) state.timer = setInterval(() => track(sampleStats().catch(() => {})), state.pollMs);
  await route();
}

track(start());
