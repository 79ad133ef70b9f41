// mlsys-srs web review. The server holds the queue and grades (the terminal's review session);
// this page shows the card, sends each answer with its own id and time, and fetches the next
// cards ahead. When the server cannot be reached it keeps answering those cards, queues the
// answers in IndexedDB and sends them when the server is back (each taken once, by its id).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const TIMEOUT_MS = 8000;
  const PING_MS = 3000;
  const GRADES = { 1: 'Again', 2: 'Hard', 3: 'Good', 4: 'Easy' };

  // An answer's id: a ULID (48 bits of milliseconds, 80 random bits), made here.
  function ulid() {
    let t = Date.now();
    let time = '';
    for (let i = 0; i < 10; i++) { time = CROCKFORD[t % 32] + time; t = Math.floor(t / 32); }
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    let rand = '';
    for (let i = 0; i < 16; i++) rand += CROCKFORD[bytes[i] % 32];
    return time + rand;
  }

  // -- IndexedDB: the outbox of answers, and this tab's study (cards ahead, answers given) --------
  const store = {
    db: null,
    open() {
      return new Promise((resolve) => {
        let req;
        try { req = indexedDB.open('mlsys-srs', 1); } catch (e) { resolve(null); return; }
        req.onupgradeneeded = () => {
          req.result.createObjectStore('outbox', { keyPath: 'id' });
          req.result.createObjectStore('kv', { keyPath: 'k' });
        };
        req.onsuccess = () => { this.db = req.result; resolve(this.db); };
        req.onerror = () => resolve(null);
      });
    },
    run(name, mode, fn) {
      if (!this.db) return Promise.resolve(undefined);
      return new Promise((resolve, reject) => {
        const tx = this.db.transaction(name, mode);
        const req = fn(tx.objectStore(name));
        tx.oncomplete = () => resolve(req ? req.result : undefined);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    },
    put(name, value) { return this.run(name, 'readwrite', (s) => s.put(value)); },
    del(name, key) { return this.run(name, 'readwrite', (s) => s.delete(key)); },
    get(name, key) { return this.run(name, 'readonly', (s) => s.get(key)); },
    all(name) { return this.run(name, 'readonly', (s) => s.getAll()); },
  };

  // -- state ----------------------------------------------------------------------------------
  const query = location.search.replace(/^\?/, '');
  let tab = sessionStorage.getItem('mlsys-srs-tab');
  if (!tab || sessionStorage.getItem('mlsys-srs-query') !== query) {
    tab = ulid();
    sessionStorage.setItem('mlsys-srs-tab', tab);
    sessionStorage.setItem('mlsys-srs-query', query);
  }
  const cards = new Map();  // card id -> payload
  let current = null;       // the card on screen
  let phase = 'question';   // question | answer | done | empty
  let shownAt = Date.now();
  let ahead = [];           // card ids the server says come next
  let log = [];             // this study's answers: {id, card, rating, ms, new}
  let actions = [];         // what the server's undo would undo: {kind, card, id}
  let answeredHere = [];    // cards answered while offline (not shown again)
  let online = true;
  let busy = false;
  let offset = 0;           // server clock minus this device's
  let mode = 'review';
  let label = '';
  let progress = null;
  let serverCanUndo = false;
  let waiting = 0;
  let summary = null;
  let pinging = null;

  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  const transient = (e) => !(e instanceof HttpError) || e.status >= 500;

  async function post(path, body) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const res = await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ tab, query, ...body }),
        credentials: 'same-origin',
        cache: 'no-store',
        signal: ctl.signal,
      });
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      if (!res.ok) throw new HttpError(res.status, (data && data.error) || `the server answered ${res.status}`);
      return data;
    } finally {
      clearTimeout(timer);
    }
  }

  async function save() {
    await store.put('kv', {
      k: 'tab:' + tab, current: current && current.id, phase, ahead, log, actions, answeredHere,
      mode, label, progress, offset,
    }).catch(() => {});
  }

  async function remember(list) {
    for (const c of list) {
      cards.set(c.id, c);
      await store.put('kv', { k: 'card:' + c.id, card: c }).catch(() => {});
      warmImages(c);
    }
  }

  // Images of cards fetched ahead are fetched too, so the service worker has them offline.
  function warmImages(c) {
    if (!navigator.serviceWorker || !navigator.serviceWorker.controller) return;
    const re = /<img src="(media\/[^"]+)"/g;
    for (const html of [c.question, c.answer]) {
      let m;
      while ((m = re.exec(html)) !== null) fetch(m[1], { credentials: 'same-origin' }).catch(() => {});
    }
  }

  async function card(id) {
    if (cards.has(id)) return cards.get(id);
    const row = await store.get('kv', 'card:' + id).catch(() => undefined);
    if (row) cards.set(id, row.card);
    return row ? row.card : null;
  }

  // -- drawing -----------------------------------------------------------------------------------
  function text(el, value) { el.textContent = value || ''; el.hidden = !value; }

  function drawProgress() {
    const p = progress;
    const el = $('progress');
    el.textContent = '';
    if (!p) { el.textContent = online ? 'Loading…' : 'Offline'; return; }
    const done = document.createElement('b');
    done.textContent = `${p.done} done`;
    el.append(done, ` · ${p.left} left · new ${p.new} · learning ${p.learning} · review ${p.review}`);
    if (label) el.append(` · ${label}`);
  }

  function drawNet() {
    const el = $('net');
    const n = waiting;
    const answers = `${n} answer${n === 1 ? '' : 's'}`;
    if (!online) text(el, n ? `Offline — ${answers} waiting to be sent` : 'Offline — answers will wait here');
    else text(el, n ? `Sending ${answers}…` : '');
    for (const id of ['bury', 'suspend']) $(id).disabled = !online || !current;
    $('undo').disabled = !canUndo();
  }

  function canUndo() {
    const last = log[log.length - 1];
    if (last && last.queued) return true;
    return online && serverCanUndo;
  }

  function show(c) {
    current = c;
    phase = 'question';
    shownAt = Date.now();
    $('done').hidden = true;
    $('card').hidden = false;
    text($('context'), c.context);
    $('where').textContent = `#${c.id} ${c.note}:${c.line}`;
    text($('reason'), c.reason ? `↻ brought forward: ${c.reason}` : c.early);
    $('question').innerHTML = c.question;  // HTML made by the server's renderer: note text escaped
    $('answer').innerHTML = c.answer;
    $('answer').hidden = true;
    const tags = $('tags');
    tags.textContent = '';
    for (const t of c.tags || []) { const s = document.createElement('span'); s.textContent = '#' + t; tags.append(s); }
    tags.hidden = true;
    drawControls();
    window.scrollTo(0, 0);
  }

  function drawControls() {
    const answering = phase === 'answer';
    $('reveal-row').hidden = phase !== 'question';
    $('grade-row').hidden = !answering || mode === 'preview';
    $('next-row').hidden = !answering || mode !== 'preview';
    $('tools').hidden = phase === 'done' || phase === 'empty';
    if (answering && current) {
      for (const r of [1, 2, 3, 4]) {
        const ivl = current.intervals && current.intervals[r];
        $('ivl' + r).textContent = ivl || (mode === 'cram' ? 'unchanged' : '');
      }
    }
    drawNet();
  }

  function reveal() {
    if (phase !== 'question' || !current) return;
    phase = 'answer';
    $('answer').hidden = false;
    $('tags').hidden = !(current.tags && current.tags.length);
    drawControls();
    $('answer').scrollIntoView({ block: 'nearest' });
  }

  function notice(lines) {
    text($('notice'), (lines || []).join(' '));
  }

  function error(message) {
    text($('error'), message);
  }

  function drawDone(reason) {
    current = null;
    phase = reason === 'empty' ? 'empty' : 'done';
    $('card').hidden = true;
    $('done').hidden = false;
    const dl = $('summary');
    dl.textContent = '';
    const add = (k, v) => {
      const dt = document.createElement('dt'); dt.textContent = k;
      const dd = document.createElement('dd'); dd.textContent = v;
      dl.append(dt, dd);
    };
    if (phase === 'empty') {
      $('done-title').textContent = 'No more cards here while offline';
      add('waiting', `${waiting} answer${waiting === 1 ? '' : 's'}, sent when the server is back`);
    } else {
      $('done-title').textContent = summary && summary.reviews === 0 && log.length === 0
        ? 'Nothing to review now' : 'Session done';
      const s = summary || {};
      const mine = log.length >= (s.reviews || 0);
      const by = mine ? [1, 2, 3, 4].map((r) => log.filter((a) => a.rating === r).length)
        : [s.by_grade.again, s.by_grade.hard, s.by_grade.good, s.by_grade.easy];
      const reviews = mine ? log.length : s.reviews;
      const ms = mine ? log.reduce((t, a) => t + (a.ms || 0), 0) : s.time_ms;
      const cardsSeen = mine ? new Set(log.map((a) => a.card)).size : s.cards;
      add('reviewed', reviews === cardsSeen ? `${reviews}` : `${reviews} (${cardsSeen} cards)`);
      add('time', ms >= 60000 ? `${Math.round(ms / 60000)} min` : `${Math.round(ms / 1000)} s`);
      add('again', reviews ? `${Math.round((100 * by[0]) / reviews)}% (${by[0]} of ${reviews})` : '-');
      add('grades', by.map((n, i) => `${GRADES[i + 1]} ${n}`).join(' · '));
      const fresh = mine ? new Set(log.filter((a) => a.new).map((a) => a.card)).size : s.new_learned;
      if (mode === 'review') add('new cards learned', `${fresh}`);
      if (s.due_tomorrow !== undefined) add('due tomorrow', `${s.due_tomorrow}`);
      if (s.streak !== undefined && s.streak !== null) add('streak', `${s.streak} day${s.streak === 1 ? '' : 's'}`);
      if (s.learning_later) add('later today', `${s.learning_later} learning, next ${s.next_learning || ''}`);
      if (s.viewed) add('viewed', `${s.viewed}`);
    }
    drawControls();
  }

  // -- the server's state --------------------------------------------------------------------------
  async function apply(state) {
    offset = Date.parse(state.now) - Date.now();
    mode = state.mode;
    label = state.label;
    progress = state.progress;
    serverCanUndo = state.can_undo;
    notice(state.notices);
    error('');
    drawProgress();
    ahead = state.ahead || [];
    answeredHere = [];
    if (state.finished || !state.card) {
      summary = state.summary || null;
      drawDone('done');
    } else {
      const c = state.card;
      cards.set(c.id, c);
      store.put('kv', { k: 'card:' + c.id, card: c }).catch(() => {});
      if (!current || current.id !== c.id || phase === 'done' || phase === 'empty') show(c);
      else { current = c; drawControls(); }
    }
    await save();
    fetchAhead();
  }

  async function fetchAhead() {
    const missing = [];
    for (const id of ahead) if (!cards.has(id) && !(await card(id))) missing.push(id);
    if (!missing.length || !online) return;
    try {
      const res = await post('api/cards', { ids: missing });
      await remember(res.cards);
    } catch (e) { /* fetched again after the next answer */ }
  }

  // -- answering ---------------------------------------------------------------------------------
  async function queue(answer) {
    await store.put('outbox', { id: answer.id, tab, query, answer, queuedAt: Date.now() });
    waiting = (await store.all('outbox') || []).length;
  }

  async function nextHere() {
    // Offline: the next card fetched ahead that was not answered here.
    if (current) answeredHere.push(current.id);
    while (ahead.length) {
      const id = ahead.shift();
      if (answeredHere.includes(id)) continue;
      const c = await card(id);
      if (c) { show(c); await save(); return; }
    }
    await save();
    drawDone('empty');
  }

  async function grade(rating) {
    if (busy || phase !== 'answer' || !current || mode === 'preview') return;
    const answer = {
      id: ulid(), card: current.id, rating,
      at: new Date(Date.now() + offset).toISOString(), ms: Date.now() - shownAt,
    };
    const entry = { id: answer.id, card: current.id, rating, ms: answer.ms, new: current.state === 'new' };
    log.push(entry);
    if (progress) progress = { ...progress, done: progress.done + 1, left: Math.max(0, progress.left - 1) };
    busy = true;
    try {
      if (online) {
        try {
          const state = await post('api/answer', { answer, live: true });
          actions.push({ kind: 'grade', card: answer.card, id: answer.id });
          await apply(state);
          return;
        } catch (e) {
          if (!transient(e)) { log.pop(); error(e.message); return; }
          goOffline();
        }
      }
      entry.queued = true;
      await queue(answer);
      drawProgress();
      await nextHere();
    } finally {
      busy = false;
      drawNet();
    }
  }

  async function undo() {
    if (busy) return;
    const last = log[log.length - 1];
    busy = true;
    try {
      if (last && last.queued) {
        // Not sent yet: it never reaches the server.
        await store.del('outbox', last.id);
        waiting = (await store.all('outbox') || []).length;
        log.pop();
        if (current) ahead.unshift(current.id);
        answeredHere = answeredHere.filter((id) => id !== last.card);
        if (progress) progress = { ...progress, done: Math.max(0, progress.done - 1), left: progress.left + 1 };
        drawProgress();
        const c = await card(last.card);
        if (c) show(c);
        await save();
        return;
      }
      if (!online || !serverCanUndo) return;
      const state = await post('api/undo', {});
      const action = actions.pop();
      if (action && action.kind === 'grade') log = log.filter((a) => a.id !== action.id);
      current = null;
      await apply(state);
    } catch (e) {
      if (transient(e)) goOffline(); else error(e.message);
    } finally {
      busy = false;
      drawNet();
    }
  }

  async function setAside(action) {
    if (busy || !current || !online || phase === 'done') return;
    busy = true;
    try {
      const state = await post('api/set-aside', { action, card: current.id });
      actions.push({ kind: action, card: current.id });
      await apply(state);
    } catch (e) {
      if (transient(e)) goOffline(); else error(e.message);
    } finally {
      busy = false;
      drawNet();
    }
  }

  async function next() {
    if (busy || phase !== 'answer' || mode !== 'preview' || !current) return;
    if (!online) { await nextHere(); return; }
    busy = true;
    try { await apply(await post('api/next', { card: current.id })); }
    catch (e) { if (transient(e)) { goOffline(); await nextHere(); } else error(e.message); }
    finally { busy = false; }
  }

  // -- the connection ------------------------------------------------------------------------------
  function goOffline() {
    if (online) { online = false; drawProgress(); }
    drawNet();
    if (!pinging) pinging = setInterval(ping, PING_MS);
  }

  async function ping() {
    try {
      const res = await fetch('api/ping', { cache: 'no-store', credentials: 'same-origin' });
      if (res.ok) await act(reconnect)();
    } catch (e) { /* still offline */ }
  }

  // Send what waited (grouped by the study it was given in), then take the server's state.
  async function flush() {
    const items = (await store.all('outbox')) || [];
    waiting = items.length;
    drawNet();
    let mine = null;
    const groups = new Map();
    for (const it of items) {
      const key = it.tab + '\n' + it.query;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(it);
    }
    for (const group of groups.values()) {
      const first = group[0];
      const res = await fetch('api/answers', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        credentials: 'same-origin',
        cache: 'no-store',
        body: JSON.stringify({ tab: first.tab, query: first.query, answers: group.map((g) => g.answer) }),
      });
      const data = await res.json().catch(() => null);
      if (!res.ok) {
        if (res.status >= 500) throw new HttpError(res.status, (data && data.error) || 'server error');
        error(`${group.length} waiting answer(s) refused: ${(data && data.error) || res.status}`);
        for (const g of group) await store.del('outbox', g.id);
        continue;
      }
      const r = data.result || {};
      const refused = Object.entries(r.refused || {});
      if (refused.length) error(`${refused.length} waiting answer(s) refused: ${refused[0][1]}`);
      for (const g of group) await store.del('outbox', g.id);
      if (first.tab === tab) mine = data;
    }
    for (const a of log) a.queued = false;
    waiting = ((await store.all('outbox')) || []).length;
    return mine;
  }

  let reconnecting = false;
  async function reconnect() {
    if (reconnecting) return;
    reconnecting = true;
    try {
      online = true;
      drawNet();
      const flushed = await flush();
      const state = flushed || await post('api/session', {});
      if (pinging) { clearInterval(pinging); pinging = null; }
      // A card on screen with its answer shown stays until it is answered.
      if (phase === 'answer' && current && state.card && state.card.id !== current.id) {
        const keep = current;
        await apply(state);
        current = keep;
        show(keep);
        reveal();
      } else {
        await apply(state);
      }
    } catch (e) {
      if (transient(e)) goOffline(); else error(e.message);
    } finally {
      reconnecting = false;
      drawProgress();
      drawNet();
    }
  }

  // -- start ---------------------------------------------------------------------------------------
  async function start() {
    await store.open();
    waiting = ((await store.all('outbox').catch(() => [])) || []).length;
    const saved = await store.get('kv', 'tab:' + tab).catch(() => undefined);
    if (saved) {
      ({ ahead, log, actions, answeredHere, mode, label, progress, offset } = saved);
      ahead = ahead || []; log = log || []; actions = actions || []; answeredHere = answeredHere || [];
      if (saved.current) { const c = await card(saved.current); if (c) show(c); }
    }
    drawProgress();
    drawNet();
    try {
      if (waiting) await reconnect();
      else await apply(await post('api/session', {}));
    } catch (e) {
      if (transient(e)) goOffline();
      else { error(e.message); $('progress').textContent = 'Could not start'; }
    }
    if (!online && !current) await nextHere();
  }

  // -- input ---------------------------------------------------------------------------------------
  // Actions run one after another, in the order given (keys pressed quickly are not lost).
  let chain = Promise.resolve();
  const act = (fn) => (...args) => { chain = chain.then(() => fn(...args)).catch((e) => error(String(e))); return chain; };
  const doReveal = act(reveal);
  const doGrade = act(grade);
  const doUndo = act(undo);
  const doSetAside = act(setAside);
  const doNext = act(next);
  $('show').addEventListener('click', (e) => { e.currentTarget.blur(); doReveal(); });
  $('next').addEventListener('click', (e) => { e.currentTarget.blur(); doNext(); });
  for (const b of document.querySelectorAll('button.grade')) {
    b.addEventListener('click', (e) => { e.currentTarget.blur(); doGrade(Number(b.dataset.rating)); });
  }
  $('undo').addEventListener('click', (e) => { e.currentTarget.blur(); doUndo(); });
  $('bury').addEventListener('click', (e) => { e.currentTarget.blur(); doSetAside('bury'); });
  $('suspend').addEventListener('click', (e) => { e.currentTarget.blur(); doSetAside('suspend'); });

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    const k = e.key;
    if (k === ' ' || k === 'Enter') {
      if (e.target instanceof HTMLAnchorElement) return;
      e.preventDefault();
      if (phase === 'question') doReveal(); else if (mode === 'preview') doNext();
    } else if (k.length === 1 && '1234'.includes(k)) {
      e.preventDefault(); doGrade(Number(k));
    } else if (k === 'u') { e.preventDefault(); doUndo(); }
    else if (k === 'b') { e.preventDefault(); doSetAside('bury'); }
    else if (k === 's') { e.preventDefault(); doSetAside('suspend'); }
  });

  // Touch: a tap on the card shows the answer; on the answer, a swipe right is Good, left Again.
  let touch = null;
  const cardEl = $('card');
  cardEl.addEventListener('touchstart', (e) => {
    if (e.touches.length !== 1) { touch = null; return; }
    touch = { x: e.touches[0].clientX, y: e.touches[0].clientY, t: Date.now() };
  }, { passive: true });
  cardEl.addEventListener('touchend', (e) => {
    if (!touch || !e.changedTouches.length) return;
    const dx = e.changedTouches[0].clientX - touch.x;
    const dy = e.changedTouches[0].clientY - touch.y;
    touch = null;
    if (e.target instanceof Element && e.target.closest('a')) return;
    if (Math.abs(dx) < 12 && Math.abs(dy) < 12) {
      if (phase === 'question') { e.preventDefault(); doReveal(); }
      return;
    }
    if (phase === 'answer' && mode !== 'preview' && Math.abs(dx) > 80 && Math.abs(dy) < 0.6 * Math.abs(dx)) {
      doGrade(dx > 0 ? 3 : 1);
    }
  });
  cardEl.addEventListener('click', (e) => {
    if (phase === 'question' && !(e.target instanceof Element && e.target.closest('a'))) doReveal();
  });

  window.addEventListener('online', () => { if (!online) ping(); });

  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('sw.js', { scope: './' }).catch(() => {});
  }
  act(start)();
})();
