// veghe dispatch wall: log-in, the live list of open alerts (WebSocket snapshot, then
// changes, resumed with ?since=SEQ after a reconnect), a Leaflet map of cameras and
// alerts, the selected alert's evidence and timeline, and its lifecycle actions.
// Plain module, no framework; Leaflet is the global `L` loaded before this file.

const API = '/api/v1';
const SEVERITIES = ['critical', 'major', 'minor', 'warning'];
const SEV_RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));
const SEV_COLOUR = { critical: '#ff5c5c', major: '#ff9440', minor: '#f2cc4d', warning: '#6cb6ff' };
const OPEN = new Set(['new', 'acknowledged', 'dispatched']);
const STATE_LABEL = {
  new: 'New', acknowledged: 'Acknowledged', dispatched: 'Dispatched',
  resolved: 'Resolved', false_alarm: 'False alarm',
};
const KIND_LABEL = {
  camera_rule: 'Camera rule', camera_health: 'Camera health',
  sensor_threshold: 'Sensor threshold', sensor_offline: 'Sensor offline',
};
// The lifecycle (alerts::lifecycle::allowed): where each state may go.
const NEXT = {
  new: ['acknowledged', 'false_alarm'],
  acknowledged: ['dispatched', 'resolved', 'false_alarm'],
  dispatched: ['resolved', 'false_alarm'],
  resolved: [], false_alarm: [],
};
// If no message at all (pings included) arrives for this long, the socket is dead.
const SILENCE_MS = 75_000;

const $ = (id) => document.getElementById(id);

const state = {
  session: null,          // {user, role, csrf_token}
  alerts: new Map(),      // id -> alert (open ones, plus a closed selected one)
  seq: null,              // last change-log position seen
  selected: null,         // alert id
  cameras: new Map(),     // id -> camera
  kinds: new Set(['camera_rule', 'camera_health', 'sensor_threshold', 'sensor_offline']),
  inView: false,
  ws: null,
  wsGen: 0,
  retries: 0,
  reconnectTimer: null,
  silenceTimer: null,
  timeline: [],
  hadSnapshot: false,
  pendingForm: null,      // transition the note form is for
  busy: false,
};

// ---------------------------------------------------------------------------
// HTTP

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.session) headers['X-CSRF-Token'] = state.session.csrf_token;
  const resp = await fetch(API + path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: text }; }
  }
  if (!resp.ok) {
    throw new HttpError(resp.status, (data && data.error) || `${resp.status} ${resp.statusText}`);
  }
  return data;
}

// ---------------------------------------------------------------------------
// Session

async function start() {
  bindStatic();
  try {
    const s = await api('GET', '/session');
    await enterWall(s);
  } catch (e) {
    if (e.status === 401) showLogin();
    else { showLogin(); $('login-error').textContent = `The server did not answer (${e.message}).`; }
  } finally {
    $('loading').hidden = true;
  }
}

function showLogin(message) {
  closeSocket();
  state.session = null;
  $('wall-view').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = message || '';
  $('login-password').value = '';
  $('login-user').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const username = $('login-user').value.trim();
  const password = $('login-password').value;
  $('login-submit').disabled = true;
  $('login-error').textContent = '';
  try {
    const s = await api('POST', '/session', { username, password });
    await enterWall(s);
  } catch (e) {
    $('login-error').textContent =
      e.status === 401 ? 'Wrong user name or password.' :
      e.status === 429 ? 'Too many attempts. Wait a minute, then try again.' :
      `Could not sign in: ${e.message}`;
  } finally {
    $('login-submit').disabled = false;
  }
}

async function onLogout() {
  try { await api('DELETE', '/session'); } catch { /* signed out anyway */ }
  state.alerts.clear();
  state.seq = null;
  state.selected = null;
  render();
  showLogin('Signed out.');
}

async function enterWall(s) {
  state.session = s;
  state.hadSnapshot = false;
  $('login-view').hidden = true;
  $('wall-view').hidden = false;
  $('who').textContent = `${s.user} (${s.role})`;
  await initMap();
  connect();
  $('alert-list').focus();
}

// Any 401 means the session ended (expired, signed out elsewhere).
function sessionLost() {
  showLogin('Your session ended. Sign in again.');
}

// ---------------------------------------------------------------------------
// Map

let map = null;
let alertLayer = null;
let cameraLayer = null;
const alertMarkers = new Map();

async function initMap() {
  if (map) return;
  let config = { tile_url: null, center: [44.435, 26.02], zoom: 14 };
  try { config = { ...config, ...(await api('GET', '/wall/config')) }; } catch (e) {
    if (e.status === 401) return sessionLost();
  }
  map = L.map('map', { zoomControl: true, attributionControl: true, keyboard: true, preferCanvas: false });
  map.setView(config.center, config.zoom);
  map.attributionControl.setPrefix('Leaflet');
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { maxZoom: 19, attribution: config.tile_attribution || config.attribution || '' }).addTo(map);
  } else {
    $('map').classList.add('no-tiles');
    $('map-note').hidden = false;
  }
  cameraLayer = L.layerGroup().addTo(map);
  alertLayer = L.layerGroup().addTo(map);
  map.on('moveend', () => { if (state.inView) render(); });
  try {
    const { cameras } = await api('GET', '/cameras');
    for (const c of cameras) state.cameras.set(c.id, c);
    drawCameras();
  } catch (e) {
    if (e.status === 401) return sessionLost();
    // 403: this role sees no cameras (environment staff).
  }
}

// A point `metres` away from [lat, lon] towards `bearing` degrees (clockwise from north).
function offset(lat, lon, bearing, metres) {
  const r = (bearing * Math.PI) / 180;
  const dLat = (metres * Math.cos(r)) / 111_320;
  const dLon = (metres * Math.sin(r)) / (111_320 * Math.cos((lat * Math.PI) / 180));
  return [lat + dLat, lon + dLon];
}

function drawCameras() {
  cameraLayer.clearLayers();
  const bounds = [];
  for (const c of state.cameras.values()) {
    if (!Number.isFinite(c.lat) || !Number.isFinite(c.lon)) continue;
    bounds.push([c.lat, c.lon]);
    if (Number.isFinite(c.bearing_deg) && Number.isFinite(c.fov_deg)) {
      const half = c.fov_deg / 2;
      const pts = [[c.lat, c.lon]];
      for (let b = c.bearing_deg - half; b <= c.bearing_deg + half + 0.01; b += c.fov_deg / 6) {
        pts.push(offset(c.lat, c.lon, b, 60));
      }
      L.polygon(pts, { color: '#8aa0b4', weight: 1, fillOpacity: 0.12, interactive: false }).addTo(cameraLayer);
    }
    L.circleMarker([c.lat, c.lon], {
      radius: 4, color: '#d7e0e8', weight: 1, fillColor: '#52616f', fillOpacity: 1,
    }).bindTooltip(`Camera ${c.name || c.id}`).addTo(cameraLayer);
  }
  if (bounds.length && !state.alerts.size) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
}

function alertPosition(a) {
  if (a.position && Number.isFinite(a.position.lat)) return [a.position.lat, a.position.lon];
  if (a.source && a.source.type === 'camera') {
    const c = state.cameras.get(a.source.id);
    if (c) return [c.lat, c.lon];
  }
  return null;
}

function drawAlertMarkers(visible) {
  if (!map) return;
  const keep = new Set();
  // Least severe first, so that the most severe ends on top where markers overlap.
  for (const a of [...visible].reverse()) {
    const pos = alertPosition(a);
    if (!pos) continue;
    keep.add(a.id);
    const selected = a.id === state.selected;
    const style = {
      radius: selected ? 11 : 8,
      color: selected ? '#ffd84d' : '#0b0f13',
      weight: selected ? 3 : 1.5,
      fillColor: SEV_COLOUR[a.severity] || '#ccc',
      fillOpacity: 0.95,
    };
    let m = alertMarkers.get(a.id);
    if (!m) {
      m = L.circleMarker(pos, style).addTo(alertLayer);
      m.on('click', () => select(a.id, { pan: false }));
      alertMarkers.set(a.id, m);
    } else {
      m.setLatLng(pos);
      m.setStyle(style);
    }
    const tip = `${a.severity}: ${a.title}`;
    if (m.getTooltip()) m.setTooltipContent(tip); else m.bindTooltip(tip);
    m.bringToFront();
  }
  const sel = alertMarkers.get(state.selected);
  if (sel && keep.has(state.selected)) sel.bringToFront();
  for (const [id, m] of alertMarkers) {
    if (!keep.has(id)) { alertLayer.removeLayer(m); alertMarkers.delete(id); }
  }
}

// ---------------------------------------------------------------------------
// Live stream

function setConn(s, text) {
  const el = $('conn');
  if (el.dataset.state === s && $('conn-text').textContent === (text || s)) return;
  el.dataset.state = s;
  $('conn-text').textContent = text || s;
}

function closeSocket() {
  clearTimeout(state.reconnectTimer);
  clearTimeout(state.silenceTimer);
  state.wsGen += 1;
  if (state.ws) { try { state.ws.close(); } catch { /* closing anyway */ } }
  state.ws = null;
  setConn('offline');
}

function connect() {
  clearTimeout(state.reconnectTimer);
  if (!state.session) return;
  const gen = ++state.wsGen;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const since = state.seq !== null ? `?since=${encodeURIComponent(state.seq)}` : '';
  let ws;
  try {
    ws = new WebSocket(`${proto}//${location.host}${API}/alerts/stream${since}`);
  } catch {
    return scheduleReconnect(gen);
  }
  state.ws = ws;
  if (state.retries > 0) setConn('reconnecting');
  ws.onopen = () => {
    if (gen !== state.wsGen) return;
    state.retries = 0;
    setConn('connected');
    armSilence(gen);
  };
  ws.onmessage = (ev) => {
    if (gen !== state.wsGen) return;
    armSilence(gen);
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    onStreamMessage(msg, gen);
  };
  ws.onclose = () => {
    if (gen !== state.wsGen) return;
    state.ws = null;
    scheduleReconnect(gen);
  };
  ws.onerror = () => { /* onclose follows */ };
}

function armSilence(gen) {
  clearTimeout(state.silenceTimer);
  state.silenceTimer = setTimeout(() => {
    if (gen === state.wsGen && state.ws) state.ws.close();
  }, SILENCE_MS);
}

async function scheduleReconnect(gen) {
  if (gen !== state.wsGen || !state.session) return;
  state.retries += 1;
  // A refused upgrade may be an ended session: ask before hammering the server.
  if (state.retries >= 2) {
    try { await api('GET', '/session'); } catch (e) {
      if (e.status === 401) return sessionLost();
    }
    if (gen !== state.wsGen) return;
  }
  const offline = !navigator.onLine || state.retries > 5;
  setConn(offline ? 'offline' : 'reconnecting', offline ? 'offline — retrying' : 'reconnecting');
  const delay = Math.min(10_000, 250 * 2 ** Math.min(state.retries, 6)) * (0.8 + Math.random() * 0.4);
  state.reconnectTimer = setTimeout(() => { if (gen === state.wsGen) connect(); }, delay);
}

function onStreamMessage(msg, gen) {
  switch (msg.type) {
    case 'snapshot': {
      const fresh = new Map();
      for (const a of msg.alerts || []) fresh.set(a.id, a);
      // Keep a closed selected alert on screen; open ones come from the snapshot.
      const sel = state.alerts.get(state.selected);
      if (sel && !fresh.has(sel.id) && !OPEN.has(sel.state)) fresh.set(sel.id, sel);
      // A snapshot after a reconnect may bring critical alerts raised meanwhile.
      const missed = state.hadSnapshot && [...fresh.values()].some((a) =>
        !state.alerts.has(a.id) && a.severity === 'critical' && OPEN.has(a.state) && state.kinds.has(a.kind));
      state.hadSnapshot = true;
      state.alerts = fresh;
      state.seq = msg.seq ?? state.seq;
      if (missed) cue();
      render();
      refreshDetail();
      break;
    }
    case 'change': {
      if (state.seq !== null && typeof msg.seq === 'number' && msg.seq <= state.seq) return;
      applyChange(msg);
      if (typeof msg.seq === 'number') state.seq = msg.seq;
      break;
    }
    case 'resync':
      // Fell behind: start again from a snapshot.
      state.seq = null;
      state.wsGen += 1;
      if (state.ws) try { state.ws.close(); } catch { /* reconnecting */ }
      state.ws = null;
      setConn('reconnecting', 'resyncing');
      connect();
      break;
    case 'ping':
      break;
    default:
      break;
  }
  void gen;
}

function applyChange(msg) {
  const a = msg.alert;
  if (!a) return;
  const prev = state.alerts.get(a.id);
  if (prev && typeof prev.seq === 'number' && typeof a.seq === 'number' && a.seq < prev.seq) return;
  if (msg.event === 'end' || !OPEN.has(a.state)) {
    if (a.id === state.selected) state.alerts.set(a.id, a);
    else state.alerts.delete(a.id);
  } else {
    state.alerts.set(a.id, a);
  }
  // New to this wall: a "new" event, or (when resuming) an update of an unseen alert.
  if (!prev && a.severity === 'critical' && OPEN.has(a.state) && state.kinds.has(a.kind)) cue();
  scheduleRender();
  if (a.id === state.selected) refreshDetail();
}

// ---------------------------------------------------------------------------
// List

function visibleAlerts() {
  const bounds = state.inView && map ? map.getBounds() : null;
  const out = [];
  for (const a of state.alerts.values()) {
    if (!OPEN.has(a.state)) continue;
    if (!state.kinds.has(a.kind)) continue;
    if (bounds) {
      const pos = alertPosition(a);
      if (!pos || !bounds.contains(pos)) continue;
    }
    out.push(a);
  }
  // Most severe first; within a severity the one waiting longest first.
  out.sort((x, y) =>
    (SEV_RANK[x.severity] ?? 9) - (SEV_RANK[y.severity] ?? 9) ||
    Date.parse(x.first_seen) - Date.parse(y.first_seen) ||
    x.id - y.id);
  return out;
}

function age(iso, now = Date.now()) {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d`;
}

function sourceLabel(a) {
  if (!a.source) return '';
  if (a.source.type === 'camera') {
    const c = state.cameras.get(a.source.id);
    return `Camera ${c && c.name ? `${c.name} (${a.source.id})` : a.source.id}`;
  }
  return `Node ${a.source.id}`;
}

let lastVisible = [];
let renderTimer = null;

// Bursts of changes are drawn once (at most every 50 ms), not once per message.
function scheduleRender() {
  if (renderTimer === null) renderTimer = setTimeout(render, 50);
}

function render() {
  clearTimeout(renderTimer);
  renderTimer = null;
  const list = $('alert-list');
  const visible = visibleAlerts();
  lastVisible = visible;
  const existing = new Map();
  for (const li of list.children) existing.set(Number(li.dataset.alertId), li);
  const now = Date.now();
  let before = null;
  visible.forEach((a, i) => {
    let li = existing.get(a.id);
    if (!li) {
      li = document.createElement('li');
      li.className = 'alert';
      li.id = `alert-${a.id}`;
      li.setAttribute('role', 'option');
      li.dataset.alertId = String(a.id);
      li.innerHTML =
        '<span class="stripe"></span><span class="title"></span><span class="age"></span>' +
        '<span class="meta"><span class="sev"></span><span class="st state"></span>' +
        '<span class="src"></span><span class="merged"></span></span>';
      li.addEventListener('click', () => select(a.id));
    }
    existing.delete(a.id);
    li.dataset.state = a.state;
    li.dataset.severity = a.severity;
    li.dataset.kind = a.kind;
    li.setAttribute('aria-selected', a.id === state.selected ? 'true' : 'false');
    li.querySelector('.stripe').className = `stripe sev-${a.severity}`;
    li.querySelector('.title').textContent = a.title || a.rule;
    li.querySelector('.age').textContent = age(a.first_seen, now);
    li.querySelector('.age').dataset.since = a.first_seen;
    const sev = li.querySelector('.sev');
    sev.className = `sev sev-${a.severity}`;
    sev.textContent = a.severity;
    const st = li.querySelector('.st');
    st.className = `st state state-${a.state}`;
    st.textContent = STATE_LABEL[a.state] || a.state;
    li.querySelector('.src').textContent = sourceLabel(a);
    li.querySelector('.merged').textContent = a.count > 1 ? `×${a.count} events` : '';
    li.setAttribute('aria-label',
      `${a.severity} ${a.title}, ${STATE_LABEL[a.state]}, ${sourceLabel(a)}, ${a.count} event${a.count === 1 ? '' : 's'}`);
    const want = i === 0 ? list.firstChild : before.nextSibling;
    if (li !== want) list.insertBefore(li, want);
    before = li;
  });
  for (const li of existing.values()) li.remove();
  list.setAttribute('aria-activedescendant', state.selected && visible.some((a) => a.id === state.selected) ? `alert-${state.selected}` : '');
  $('empty').hidden = visible.length > 0;
  const open = [...state.alerts.values()].filter((a) => OPEN.has(a.state)).length;
  $('open-count').textContent = String(open);
  $('shown-count').textContent = visible.length === open ? '' : `(${visible.length} shown of ${open})`;
  document.title = `${open ? `(${open}) ` : ''}veghe — dispatch wall`;
  drawAlertMarkers(visible);
}

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll('.alert .age')) {
    if (el.dataset.since) el.textContent = age(el.dataset.since, now);
  }
  const a = state.alerts.get(state.selected);
  if (a && !$('detail-body').hidden) $('d-first').textContent = `${fmtTime(a.first_seen)} (${age(a.first_seen, now)} ago)`;
}

// ---------------------------------------------------------------------------
// Selection and detail

function select(id, { pan = true } = {}) {
  if (state.selected !== id) closeForm();
  state.selected = id;
  render();
  const li = $(`alert-${id}`);
  if (li) li.scrollIntoView({ block: 'nearest' });
  const a = state.alerts.get(id);
  if (a && pan && map) {
    const pos = alertPosition(a);
    if (pos && !map.getBounds().pad(-0.1).contains(pos)) map.panTo(pos);
  }
  refreshDetail(true);
}

function move(delta) {
  const vis = lastVisible;
  if (!vis.length) return;
  const i = vis.findIndex((a) => a.id === state.selected);
  const next = i < 0 ? (delta > 0 ? 0 : vis.length - 1) : Math.max(0, Math.min(vis.length - 1, i + delta));
  select(vis[next].id);
}

let detailTimer = null;
let detailFor = null;

function refreshDetail(now = false) {
  const a = state.alerts.get(state.selected);
  $('detail-empty').hidden = !!a;
  $('detail-body').hidden = !a;
  if (!a) return;
  $('d-severity').className = `sev sev-${a.severity}`;
  $('d-severity').textContent = a.severity;
  $('d-state').className = `state state-${a.state}`;
  $('d-state').textContent = STATE_LABEL[a.state] || a.state;
  $('detail').dataset.state = a.state;
  $('detail').dataset.alertId = String(a.id);
  $('d-title').textContent = a.title || a.rule;
  $('d-source').textContent = `${sourceLabel(a)} · ${KIND_LABEL[a.kind] || a.kind}`;
  $('d-rule').textContent = a.scope ? `${a.rule} · ${a.scope}` : a.rule;
  $('d-class').textContent = a.class_name
    ? `${a.class_name}${typeof a.score === 'number' ? ` (score ${a.score.toFixed(2)})` : ''}`
    : '—';
  $('d-first').textContent = `${fmtTime(a.first_seen)} (${age(a.first_seen)} ago)`;
  $('d-last').textContent = fmtTime(a.last_seen);
  $('d-count').textContent = String(a.count);
  const pos = a.position;
  $('d-position').textContent = pos ? `${pos.lat.toFixed(5)}, ${pos.lon.toFixed(5)}` : '—';
  $('d-assignee').textContent = a.assignee || '—';
  const img = $('evidence');
  if (a.has_evidence) {
    const src = `${API}/alerts/${a.id}/evidence?v=${a.count}-${encodeURIComponent(a.last_seen)}`;
    if (img.getAttribute('src') !== src) img.src = src;
    img.alt = `Evidence frame: ${a.title}`;
    img.hidden = false;
    $('evidence-none').hidden = true;
  } else {
    img.removeAttribute('src');
    img.hidden = true;
    $('evidence-none').hidden = false;
  }
  const nexts = NEXT[a.state] || [];
  // Dispatch and resolve are offered on a new alert too: it is acknowledged first.
  const may = (to) => nexts.includes(to) || (a.state === 'new' && (to === 'dispatched' || to === 'resolved'));
  $('act-ack').disabled = !may('acknowledged') || state.busy;
  $('act-dispatch').disabled = !may('dispatched') || state.busy;
  $('act-resolve').disabled = !may('resolved') || state.busy;
  $('act-false').disabled = !may('false_alarm') || state.busy;
  // The timeline is fetched, not streamed: once per selection and after each change.
  const id = a.id;
  const key = `${id}:${a.seq}`;
  if (detailFor !== key) {
    detailFor = key;
    clearTimeout(detailTimer);
    if (now) { $('timeline').replaceChildren(); }
    detailTimer = setTimeout(() => loadTimeline(id), now ? 0 : 150);
  }
}

function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, {
    year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

async function loadTimeline(id) {
  try {
    const { alert, timeline } = await api('GET', `/alerts/${id}`);
    if (id !== state.selected) return;
    const known = state.alerts.get(id);
    if (alert && (!known || (alert.seq ?? 0) > (known.seq ?? 0))) {
      state.alerts.set(id, alert);
      render();
    }
    const ol = $('timeline');
    ol.replaceChildren(...(timeline || []).map((t) => {
      const li = document.createElement('li');
      const to = document.createElement('span');
      to.className = 'to';
      to.textContent = STATE_LABEL[t.to] || t.to;
      li.append(to, ` by ${t.by}, ${fmtTime(t.at)}`);
      if (t.note) li.append(` — “${t.note}”`);
      return li;
    }));
  } catch (e) {
    if (e.status === 401) sessionLost();
  }
}

// ---------------------------------------------------------------------------
// Actions

function openForm(to) {
  const a = state.alerts.get(state.selected);
  if (!a) return;
  const btn = { dispatched: 'act-dispatch', resolved: 'act-resolve', false_alarm: 'act-false' }[to];
  if (btn && $(btn).disabled) return;
  state.pendingForm = to;
  $('note-what').textContent = {
    dispatched: 'Dispatch a unit', resolved: 'Resolve the alert', false_alarm: 'Mark as false alarm',
  }[to];
  $('assignee-row').hidden = to !== 'dispatched';
  $('note').value = '';
  $('assignee').value = '';
  $('note-form').hidden = false;
  $('note').focus();
}

function closeForm() {
  state.pendingForm = null;
  $('note-form').hidden = true;
}

async function transition(to, note, assignee) {
  const a = state.alerts.get(state.selected);
  if (!a || state.busy) return;
  state.busy = true;
  refreshDetail();
  try {
    let steps = [to];
    if (a.state === 'new' && (to === 'dispatched' || to === 'resolved')) steps = ['acknowledged', to];
    let result = a;
    for (const step of steps) {
      const body = { to: step };
      if (step === to && note) body.note = note;
      if (step === to && assignee) body.assignee = assignee;
      ({ alert: result } = await api('POST', `/alerts/${a.id}/transitions`, body));
      if (result) mergeAlert(result);
    }
    closeForm();
    toast(`${result.title || 'Alert'}: ${STATE_LABEL[result.state] || result.state}.`, 'info');
  } catch (e) {
    if (e.status === 401) return sessionLost();
    toast(e.status === 409 ? `Not done: ${e.message}.` : `Not done: ${e.message}`);
    // Someone else may have acted on it: show its current state.
    loadTimeline(a.id);
  } finally {
    state.busy = false;
    refreshDetail();
  }
}

function mergeAlert(a) {
  const prev = state.alerts.get(a.id);
  if (prev && typeof prev.seq === 'number' && typeof a.seq === 'number' && a.seq < prev.seq) return;
  state.alerts.set(a.id, a);
  render();
  if (a.id === state.selected) refreshDetail();
}

let toastTimer = null;
function toast(text, kind = 'error') {
  const t = $('toast');
  t.textContent = text;
  t.className = kind === 'info' ? 'toast info' : 'toast';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, kind === 'info' ? 2500 : 6000);
}

function onKey(ev) {
  if (!state.session || $('wall-view').hidden) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const tag = (ev.target && ev.target.tagName) || '';
  const typing = tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (ev.target && ev.target.isContentEditable);
  if (ev.key === 'Escape') { closeForm(); return; }
  if (typing) return;
  switch (ev.key) {
    case 'ArrowDown': case 'j': move(1); break;
    case 'ArrowUp': case 'k': move(-1); break;
    case 'a': if (!$('act-ack').disabled) transition('acknowledged'); break;
    case 'd': openForm('dispatched'); break;
    case 'r': openForm('resolved'); break;
    case 'f': openForm('false_alarm'); break;
    default: return;
  }
  ev.preventDefault();
}

// ---------------------------------------------------------------------------
// Sound: a WebAudio beep, allowed after the first user gesture (autoplay rules).

let audio = null;
let soundOn = true;

function unlockAudio(ev) {
  // The sound button's own click decides for itself (it may be turning sound off).
  if (ev && ev.target && ev.target.closest && ev.target.closest('#sound')) return;
  if (!soundOn) return;
  try {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === 'suspended') audio.resume();
  } catch { audio = null; }
  updateSoundButton();
}

function updateSoundButton() {
  const b = $('sound');
  const ready = soundOn && audio && audio.state !== 'closed';
  b.setAttribute('aria-pressed', soundOn ? 'true' : 'false');
  b.textContent = !soundOn ? 'Sound: off' : ready ? 'Sound: on' : 'Sound: click to enable';
}

let lastCue = 0;

function cue() {
  if (!soundOn || !audio || audio.state !== 'running') return;
  // One cue for a burst of critical alerts.
  if (performance.now() - lastCue < 1500) return;
  lastCue = performance.now();
  const t0 = audio.currentTime;
  for (const [i, f] of [[0, 880], [1, 1320], [2, 880]]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'square';
    osc.frequency.value = f;
    const s = t0 + i * 0.18;
    gain.gain.setValueAtTime(0.0001, s);
    gain.gain.exponentialRampToValueAtTime(0.15, s + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, s + 0.15);
    osc.connect(gain).connect(audio.destination);
    osc.start(s);
    osc.stop(s + 0.16);
  }
  window.__veghe_cues = (window.__veghe_cues || 0) + 1;
}

// ---------------------------------------------------------------------------

function bindStatic() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  $('sound').addEventListener('click', () => {
    if (soundOn && audio && audio.state === 'running') { soundOn = false; }
    else { soundOn = true; unlockAudio(); }
    updateSoundButton();
  });
  for (const el of document.querySelectorAll('input[name="kind"]')) {
    el.addEventListener('change', () => {
      if (el.checked) state.kinds.add(el.value); else state.kinds.delete(el.value);
      render();
    });
  }
  $('in-view').addEventListener('change', (e) => { state.inView = e.target.checked; render(); });
  $('act-ack').addEventListener('click', () => transition('acknowledged'));
  $('act-dispatch').addEventListener('click', () => openForm('dispatched'));
  $('act-resolve').addEventListener('click', () => openForm('resolved'));
  $('act-false').addEventListener('click', () => openForm('false_alarm'));
  $('note-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (state.pendingForm) transition(state.pendingForm, $('note').value.trim(), $('assignee').value.trim());
  });
  $('note').addEventListener('keydown', (e) => {
    // Enter confirms, Shift+Enter is a new line.
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('note-form').requestSubmit(); }
  });
  $('note-cancel').addEventListener('click', closeForm);
  $('evidence').addEventListener('error', () => {
    $('evidence').hidden = true;
    $('evidence-none').hidden = false;
  });
  document.addEventListener('keydown', onKey);
  for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, unlockAudio, { capture: true });
  window.addEventListener('online', () => { if (state.session && !state.ws) { state.retries = 0; connect(); } });
  window.addEventListener('offline', () => { if (state.session) setConn('offline'); });
  setInterval(tick, 1000);
  updateSoundButton();
}

// For the browser tests and for operators poking at the console.
window.veghe = { state, connect, render };

start();
