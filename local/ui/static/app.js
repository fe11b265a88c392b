/* The UI's pages, filled from the JSON API and refreshed by polling it. Plain browser JavaScript: no build
 * step. Every value from the data goes into the page as text (el() below makes text nodes), never as HTML. */
/* global document, window, fetch, uPlot, URL, URLSearchParams, location, setTimeout, clearTimeout, requestAnimationFrame */
'use strict';

(function () {
  const body = document.body;
  const page = body.dataset.page;
  const refreshMs = Number(body.dataset.refreshMs) || 5000;
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  // `zoom`: each chart's time range a drag selected, by chart name: the charts are rebuilt on every refresh,
  // and a zoom that lasted one refresh could not be read.
  const ui = (window.microbatchUi = { charts: {}, zoom: {}, series: null, refreshes: 0, errors: [] });

  // ---------------------------------------------------------------- helpers

  /** el('a', {href: '/x', class: 'y'}, 'text', child): strings become text nodes, so data is never parsed as HTML. */
  function el(tag, attrs) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (let i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach((c) => append(node, c));
    else node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  const DASH = '—';
  const nf = new Intl.NumberFormat('en');
  function n(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return DASH;
    return digits === undefined ? nf.format(v) : v.toFixed(digits);
  }
  function rate(v) {
    if (v === null || v === undefined) return DASH;
    return v >= 100 ? nf.format(Math.round(v)) : v.toFixed(1);
  }
  function ms(v) {
    return v === null || v === undefined ? DASH : nf.format(Math.round(v)) + ' ms';
  }
  /** A batch's record latencies, newest record first: about its processing delay, then the window's wait. */
  function latencies(l) {
    return l ? ms(l.newestMs) + ' / ' + ms(l.oldestMs) : DASH;
  }
  function seconds(v) {
    if (v === null || v === undefined) return DASH;
    // Rounded before it is split, so that 59.97 s is not "60.0 s", nor 119.6 s "1 min 60 s".
    if (Math.round(v * 10) < 600) return v.toFixed(1) + ' s';
    const s = Math.round(v);
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return (v / 3600).toFixed(1) + ' h';
  }
  /** A job's time behind; "≥" when it is a lower bound (the record is older than the UI's watch of it). */
  function behind(lag) {
    if (lag.seconds === null || lag.seconds === undefined) return DASH;
    return (lag.secondsAtLeast ? '≥ ' : '') + seconds(lag.seconds);
  }
  function iso(t) {
    return t === null || t === undefined
      ? DASH
      : new Date(t).toISOString().replace('T', ' ').replace('Z', ' UTC');
  }
  function ago(t) {
    if (!t) return DASH;
    const s = (Date.now() - new Date(t).getTime()) / 1000;
    return s < 1 ? 'just now' : seconds(s) + ' ago';
  }
  function table(caption, headers, rows, opts) {
    const t = el(
      'table',
      { class: (opts && opts.class) || '' },
      el('caption', { class: opts && opts.hideCaption ? 'visually-hidden' : null }, caption),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          headers.map((h) => el('th', { scope: 'col' }, h)),
        ),
      ),
      el(
        'tbody',
        {},
        rows.length
          ? rows
          : el(
              'tr',
              {},
              el('td', { colspan: headers.length, class: 'empty' }, (opts && opts.empty) || 'none'),
            ),
      ),
    );
    return el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption }, t);
  }
  function row(cells) {
    return el(
      'tr',
      {},
      cells.map((c, i) =>
        i === 0 && c && c.header
          ? el('th', { scope: 'row' }, c.value)
          : el('td', {}, c && c.header ? c.value : c),
      ),
    );
  }
  function badge(state, reason) {
    return el('span', { class: 'badge state-' + state, title: reason || '' }, state);
  }
  function code(text) {
    return el('code', { class: 'cmd' }, text);
  }
  async function getJson(url) {
    const res = await fetch(url, { headers: { accept: 'application/json' } });
    const json = await res.json();
    if (!res.ok) throw new Error(json.error || res.status + ' ' + res.statusText);
    return json;
  }
  /**
   * getJson for a view that pages: an answer to a request a later one superseded resolves to null, to be
   * dropped. A refresh of page 1 that answers after "Older" was clicked would draw page 1 under page 2's
   * caption (read when the answer is drawn), and its `next` would make "Older" show page 2 again as page 3.
   */
  function latestJson() {
    let asked = 0;
    return async function (url) {
      const mine = ++asked;
      try {
        const json = await getJson(url);
        return mine === asked ? json : null;
      } catch (error) {
        if (mine === asked) throw error;
        return null;
      }
    };
  }
  function replace(container, ...children) {
    container.replaceChildren();
    append(container, children);
  }
  function setLive(text, error) {
    live.textContent = text;
    live.classList.toggle('error', Boolean(error));
  }
  /**
   * A button's load ("Older", "Newer"): its failure is shown on the status line, as a refresh's is, instead of
   * ending as an uncaught rejection that only the console shows while the page looks current.
   */
  function byClick(load) {
    return () =>
      Promise.resolve()
        .then(load)
        .catch((error) => setLive('not updated: ' + error.message, true));
  }
  function section(title, ...children) {
    const id = 's-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    return el('section', { 'aria-labelledby': id }, el('h2', { id }, title), children);
  }

  /**
   * Runs `load` now and every refreshMs, without a page reload; pauses while the tab is hidden. One load at a
   * time: a refresh asked for during one (the tab shown again, another range) runs once it ends. Each such
   * call used to start a load of its own, and each load armed a timer, so the page polled ever more often.
   */
  function poll(load) {
    let timer = null;
    let loading = null;
    let again = false;
    async function run() {
      clearTimeout(timer);
      timer = null;
      if (loading) {
        again = true;
        return loading;
      }
      loading = (async () => {
        try {
          await load();
          ui.refreshes++;
          setLive('live · updated ' + new Date().toLocaleTimeString());
        } catch (error) {
          setLive('not updated: ' + error.message, true);
        }
      })();
      await loading;
      loading = null;
      if (again) {
        again = false;
        return run();
      }
      timer = setTimeout(tick, refreshMs);
    }
    // Hidden, a tab loads nothing; showing it again runs the refresh.
    function tick() {
      timer = null;
      if (!document.hidden) run();
    }
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) run();
    });
    run();
    return { now: run };
  }

  // ---------------------------------------------------------------- charts

  const COLORS = [
    '#2563eb',
    '#dc2626',
    '#16a34a',
    '#9333ea',
    '#ea580c',
    '#0891b2',
    '#be185d',
    '#65a30d',
    '#475569',
  ];

  /**
   * One chart: a figure with a visible caption, a uPlot canvas with axis labels and a legend, and an
   * aria-label with the latest values for screen readers. `stack` draws the series as stacked bars or areas.
   */
  function chart(container, name, spec) {
    const old = ui.charts[name];
    if (old) old.destroy();
    container.replaceChildren();
    const width = Math.max(280, container.clientWidth || 600);
    const series = [
      {
        label: 'time',
        value: (u, v) => {
          const t = v === null || v === undefined ? spec.t[spec.t.length - 1] : v;
          return t === undefined ? DASH : new Date(t * 1000).toLocaleTimeString();
        },
      },
    ];
    let data = [spec.t];
    const raw = spec.series.map((s) => s.values);
    if (spec.stack) {
      // Cumulative sums, drawn largest first so each band covers the one above it from zero.
      const cum = [];
      let acc = spec.t.map(() => 0);
      raw.forEach((values) => {
        acc = acc.map((a, i) => a + (values[i] || 0));
        cum.push(acc.slice());
      });
      data = [spec.t].concat(cum.slice().reverse());
    } else {
      data = [spec.t].concat(raw);
    }
    const ordered = spec.stack ? spec.series.slice().reverse() : spec.series;
    ordered.forEach((s, k) => {
      const i = spec.stack ? spec.series.length - 1 - k : k;
      const color = s.color || COLORS[i % COLORS.length];
      series.push({
        label: s.label,
        scale: s.scale || 'y',
        stroke: color,
        width: 1.5,
        fill: spec.stack ? color + 'cc' : s.fill ? color + '33' : undefined,
        paths:
          spec.bars && uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 24] }) : undefined,
        points: { show: spec.t.length < 80 },
        spanGaps: false,
        value: (u, v, si, idx) => {
          // Without the cursor on the chart, the legend shows the latest value.
          const at = idx === null || idx === undefined ? spec.t.length - 1 : idx;
          const actual = at < 0 ? null : raw[i][at];
          return s.format ? s.format(actual) : n(actual, spec.digits);
        },
      });
    });
    const axes = [{}, { label: spec.yLabel, scale: 'y', size: 64, values: spec.yValues }];
    const scales = {
      x: { time: true },
      y: { auto: true, range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
    };
    if (spec.y2) {
      axes.push({
        label: spec.y2.label,
        scale: 'y2',
        side: 1,
        size: 90,
        grid: { show: false },
        values: spec.y2.values,
      });
      scales.y2 = spec.y2.range ? { range: spec.y2.range } : { auto: true };
    }
    const u = new uPlot(
      {
        width,
        height: 220,
        series,
        axes,
        scales,
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        hooks: {
          // uPlot zooms the x scale to a drag's selection; a click without a drag selects nothing.
          setSelect: [
            (plot) => {
              if (plot.select.width > 0)
                ui.zoom[name] = {
                  min: plot.posToVal(plot.select.left, 'x'),
                  max: plot.posToVal(plot.select.left + plot.select.width, 'x'),
                };
            },
          ],
        },
      },
      data,
      container,
    );
    // A double click is uPlot's gesture to zoom back out (its dblclick handler autoscales x).
    u.over.addEventListener('dblclick', () => delete ui.zoom[name]);
    if (ui.zoom[name]) u.setScale('x', ui.zoom[name]);
    const latest = spec.t.length
      ? spec.series
          .map(
            (s) =>
              s.label +
              ' ' +
              (s.format
                ? s.format(s.values[s.values.length - 1])
                : n(s.values[s.values.length - 1], spec.digits)),
          )
          .join(', ')
      : 'no data in this range';
    u.root.setAttribute('role', 'img');
    u.root.setAttribute('aria-label', spec.title + ': ' + latest);
    ui.charts[name] = u;
    return u;
  }

  function figure(id, title, description) {
    const holder = el('div', { class: 'chart', id: 'chart-' + id });
    const fig = el(
      'figure',
      { 'aria-labelledby': 'cap-' + id },
      el(
        'figcaption',
        { id: 'cap-' + id },
        el('strong', {}, title),
        el('span', { class: 'muted' }, description),
      ),
      holder,
    );
    return { fig, holder };
  }

  window.addEventListener('resize', () => {
    requestAnimationFrame(() => {
      for (const u of Object.values(ui.charts)) {
        const w = u.root.parentElement && u.root.parentElement.clientWidth;
        if (w) u.setSize({ width: Math.max(280, w), height: 220 });
      }
    });
  });

  // ---------------------------------------------------------------- dead letters (shared)

  function deadLetterRows(list, showJob) {
    return list.map((d) =>
      el(
        'tr',
        {},
        el('td', { class: 'nowrap' }, iso(d.recordTimestamp)),
        showJob ? el('td', {}, el('a', { href: '/jobs/' + encodeURIComponent(d.job) }, d.job)) : null,
        el('td', { class: 'nowrap' }, d.topic + '-' + d.partition + ' @ ' + d.offset),
        el('td', {}, el('span', { class: 'reason' }, d.reason)),
        el('td', { class: 'detail' }, d.detail),
        el(
          'td',
          { class: 'payload' },
          el(
            'span',
            { class: 'enc' },
            d.value.encoding + ', ' + n(d.value.bytes) + ' B' + (d.value.truncated ? ', truncated' : ''),
          ),
          el('pre', { class: 'payload-text' }, d.value.encoding === 'null' ? '(null)' : d.value.text),
        ),
        el('td', { class: 'detail' }, d.fate),
      ),
    );
  }
  function deadLetterHeaders(showJob) {
    return [
      'Record time',
      showJob ? 'Job' : null,
      'Partition @ offset',
      'Reason',
      'Detail',
      'Payload',
      'What becomes of it',
    ].filter(Boolean);
  }

  // ---------------------------------------------------------------- overview

  function overview() {
    const notFound = body.dataset.notFound;
    // A refused batch page names what was wrong with it (the API's message) and links back to its job.
    const problem = body.dataset.problem;
    const heading = el('h1', {}, notFound ? document.title.split(' · ')[0] : 'Streaming jobs');
    const intro = notFound
      ? el(
          'p',
          { class: 'error' },
          problem
            ? [
                problem + ' ',
                el(
                  'a',
                  { href: '/jobs/' + encodeURIComponent(body.dataset.job) },
                  'Back to ' + body.dataset.job,
                ),
                '. These are the jobs:',
              ]
            : 'There is no page at ' + notFound + '. These are the jobs:',
        )
      : el(
          'p',
          { class: 'muted' },
          'Every job, its state and throughput, refreshed every ' + refreshMs / 1000 + ' s.',
        );
    const holder = el('div');
    replace(
      main,
      heading,
      intro,
      holder,
      el(
        'details',
        { class: 'legend' },
        el('summary', {}, 'What the states mean'),
        el(
          'ul',
          {},
          el('li', {}, badge('running'), ' consumers are in the group and batches keep up.'),
          el(
            'li',
            {},
            badge('lagging'),
            ' batches finish, but the oldest waiting record is older than 3 batching windows (30 s at least).',
          ),
          el(
            'li',
            {},
            badge('failing'),
            ' records wait, yet no batch finished for 6 batching windows (a minute at least).',
          ),
          el('li', {}, badge('stopped'), ' the consumer group has no member.'),
          el('li', {}, badge('unknown'), ' Kafka could not be asked, and no batch finished recently.'),
        ),
      ),
    );
    poll(async () => {
      const json = await getJson('/api/jobs');
      const rows = json.jobs.map((j) =>
        row([
          { header: true, value: el('a', { href: j.href }, j.name) },
          j.kind,
          badge(j.state, j.stateReason),
          rate(j.inPerSecond),
          rate(j.writtenPerSecond),
          j.lag ? n(j.lag.records) : DASH,
          j.lag ? behind(j.lag) : DASH,
          j.lastBatch
            ? el(
                'a',
                { href: j.lastBatch.href },
                ago(j.lastBatch.startedAt),
                el('br'),
                el('small', {}, n(j.lastBatch.recordsIn) + ' in, ' + ms(j.lastBatch.durationMs)),
              )
            : DASH,
          n(j.deadLettersLastHour),
          j.skippedRanges === null
            ? DASH
            : j.skippedRanges.pending === 0
              ? '0'
              : el(
                  'span',
                  {},
                  n(j.skippedRanges.pending) + ' pending (' + n(j.skippedRanges.records) + ' records) ',
                  code(j.skippedRanges.command),
                ),
        ]),
      );
      replace(
        holder,
        table(
          'Jobs',
          [
            'Job',
            'Kind',
            'State',
            'In /s',
            'Written /s',
            'Lag (records)',
            'Lag (time)',
            'Last batch',
            'Dead letters (1 h)',
            'Skipped ranges',
          ],
          rows,
          { class: 'jobs', empty: 'no jobs' },
        ),
      );
    });
  }

  // ---------------------------------------------------------------- job page

  function jobPage() {
    const job = body.dataset.job;
    const params = new URLSearchParams(location.search);
    let range = ['5m', '1h', '24h'].includes(params.get('range')) ? params.get('range') : '5m';
    const summary = el('div', { class: 'summary' });
    const picker = el(
      'fieldset',
      { class: 'range' },
      el('legend', {}, 'Range'),
      [
        ['5m', 'last 5 min'],
        ['1h', 'last hour'],
        ['24h', 'last 24 h'],
      ].map(([value, label]) =>
        el(
          'label',
          {},
          el('input', {
            type: 'radio',
            name: 'range',
            value,
            checked: value === range,
            onchange: () => {
              range = value;
              // A zoom into the former range is no view of the new one.
              ui.zoom = {};
              const url = new URL(location.href);
              url.searchParams.set('range', value);
              window.history.replaceState(null, '', url);
              charts.now();
            },
          }),
          ' ' + label,
        ),
      ),
    );
    const figs = {
      throughput: figure(
        'throughput',
        'Input and process rate',
        'records per second: arriving (over the time between batch starts, left axis) and processed (over the batch duration, right axis)',
      ),
      duration: figure(
        'duration',
        'Batch duration by phase',
        'milliseconds: checkpoint read and claim, decode and transform, effects, commit',
      ),
      latency: figure(
        'latency',
        'Record latency',
        'milliseconds from a record’s Kafka timestamp to the end of its batch: the batch’s oldest record (its batching window included) and its newest; live batches, the longest per minute',
      ),
      lagRecords: figure(
        'lag-records',
        'Consumer lag per partition',
        'records between the end of the partition and the consumer group’s committed offset; the group’s consumers (0: stopped)',
      ),
      lagSeconds: figure(
        'lag-seconds',
        'Time behind per partition',
        'seconds the oldest waiting record has waited (estimated from end-offset samples)',
      ),
      watermark: figure(
        'watermark',
        'Event-time watermark',
        'the watermark, and its gap to processing time in seconds',
      ),
      deadLetters: figure(
        'dead-letters',
        'Dead letters per reason, and late records',
        'records per batch (5 min) or per minute',
      ),
    };
    const chartsGrid = el(
      'div',
      { class: 'charts' },
      Object.values(figs).map((f) => f.fig),
    );
    const note = el('p', { class: 'muted', role: 'note' });
    const batchesHolder = el('div');
    const pager = el('div', { class: 'pager' });
    const skippedHolder = el('div');
    const activeHolder = el('div', { class: 'active-batches' });
    replace(
      main,
      el('h1', {}, job, ' ', el('span', { id: 'state' })),
      summary,
      section('Active batches', activeHolder),
      section('Charts', picker, note, chartsGrid),
      section('Recent batches', batchesHolder, pager),
      section('Skipped ranges', skippedHolder),
    );

    const cursors = []; // the cursors of the pages before the current one; empty on the first page
    let current = null;
    let nextCursor = null;
    const batchesJson = latestJson();
    const charts = poll(async () => {
      const [s, j] = await Promise.all([
        getJson('/api/jobs/' + encodeURIComponent(job) + '/series?range=' + range),
        getJson('/api/jobs/' + encodeURIComponent(job)),
      ]);
      ui.series = s;
      renderSummary(j);
      renderActive(j.inFlight);
      renderCharts(s);
      if (!cursors.length) await loadBatches();
      await loadSkipped();
    });

    function renderSummary(j) {
      replace(document.getElementById('state'), badge(j.state, j.stateReason));
      replace(
        summary,
        el(
          'dl',
          {},
          el('div', {}, el('dt', {}, 'State'), el('dd', {}, j.stateReason)),
          el('div', {}, el('dt', {}, 'Topics'), el('dd', {}, j.topics.join(', '))),
          el('div', {}, el('dt', {}, 'Consumer group'), el('dd', {}, j.consumerGroupId)),
          el(
            'div',
            {},
            el('dt', {}, 'In / written per s (1 min)'),
            el('dd', {}, rate(j.inPerSecond) + ' / ' + rate(j.writtenPerSecond)),
          ),
          el(
            'div',
            {},
            el('dt', {}, 'Lag'),
            el('dd', {}, j.lag ? n(j.lag.records) + ' records, ' + behind(j.lag) : j.lagError || DASH),
          ),
          el('div', {}, el('dt', {}, 'Dead letters (1 h)'), el('dd', {}, n(j.deadLettersLastHour))),
          el(
            'div',
            {},
            el('dt', {}, 'Batches (1 h)'),
            el(
              'dd',
              {},
              j.lastHour
                ? n(j.lastHour.batches) +
                    ' batches, ' +
                    n(j.lastHour.recordsIn) +
                    ' records in, ' +
                    n(j.lastHour.written) +
                    ' written'
                : DASH,
            ),
          ),
          el(
            'div',
            {},
            el('dt', {}, 'Processing time (1 h)'),
            el(
              'dd',
              {},
              j.lastHour && j.lastHour.meanDurationMs !== null
                ? 'mean ' + ms(j.lastHour.meanDurationMs) + ', max ' + ms(j.lastHour.maxDurationMs)
                : DASH,
            ),
          ),
          el(
            'div',
            {},
            el('dt', {}, 'Latency, max (1 h)'),
            el(
              'dd',
              {},
              j.lastHour && j.lastHour.maxLatencyMs
                ? 'newest record ' +
                    ms(j.lastHour.maxLatencyMs.newestMs) +
                    ', oldest ' +
                    ms(j.lastHour.maxLatencyMs.oldestMs)
                : DASH,
            ),
          ),
        ),
      );
    }

    // Spark's "Active Batches": the ledger shows a batch once it finished; until then, its open claim.
    function renderActive(inFlight) {
      replace(
        activeHolder,
        table(
          'Active batches: open claims on the partitions’ checkpoints',
          ['Partition', 'Claim', 'Offsets', 'Records', 'Claimed at', 'Open for'],
          inFlight.map((a) =>
            row([
              { header: true, value: a.topic + '-' + a.partition },
              el('code', {}, a.claimId.slice(0, 8)),
              '[' + n(a.fromOffset) + ', ' + n(a.untilOffset) + ')',
              n(a.records),
              iso(a.since),
              a.forMs === null ? DASH : seconds(a.forMs / 1000),
            ]),
          ),
          { empty: 'none: no partition has a batch in flight' },
        ),
        el(
          'p',
          { class: 'muted' },
          'A claim stays open while its batch is processed, and after an attempt that died: the partition’s next ' +
            'batch finishes it, with the same processing time.',
        ),
      );
    }

    function renderCharts(s) {
      note.textContent =
        (s.resolution === 'batch' ? 'One point per batch' : 'One point per minute') +
        ', ' +
        iso(s.from) +
        ' to ' +
        iso(s.to) +
        (s.truncated ? ' (more batches than shown: the newest are shown)' : '') +
        '.';
      const tp = s.throughput;
      chart(figs.throughput.holder, 'throughput', {
        title: 'Input and process rate',
        t: tp.t,
        yLabel: 'input, records/s',
        digits: 1,
        // The process rate on an axis of its own: a batch processes in a fraction of its interval, so on one
        // axis the process rate runs tens of times higher and flattens the input rate onto the floor.
        y2: {
          label: 'process, records/s',
          range: (u, min, max) => [0, max > 0 ? max * 1.05 : 1],
          values: (u, vals) => vals.map((v) => n(v)),
        },
        series: [
          { label: 'input rate', values: tp.inputRate },
          { label: 'process rate', values: tp.processRate, scale: 'y2' },
        ],
      });
      const d = s.duration;
      chart(figs.duration.holder, 'duration', {
        title: 'Batch duration by phase',
        t: d.t,
        yLabel: 'ms',
        stack: true,
        bars: s.resolution === 'batch',
        digits: 0,
        series: [
          { label: 'read + claim', values: d.readClaim },
          { label: 'decode + transform', values: d.transform },
          { label: 'effects', values: d.effects },
          { label: 'commit', values: d.commit },
          { label: 'other / unsplit', values: d.other, color: '#94a3b8' },
        ],
      });
      const lat = s.latency;
      chart(figs.latency.holder, 'latency', {
        title: 'Record latency',
        t: lat.t,
        yLabel: 'ms',
        digits: 0,
        series: [
          { label: 'oldest record', values: lat.oldest },
          { label: 'newest record', values: lat.newest },
        ],
      });
      const lag = s.lag;
      chart(figs.lagRecords.holder, 'lagRecords', {
        title: 'Consumer lag per partition',
        t: lag.t,
        yLabel: 'records',
        digits: 0,
        // The group's members on a second axis: at 0 the job is stopped, where an idle job also shows no rate.
        y2: {
          label: 'consumers',
          // From 0, in whole members: a flat 0 must sit on the axis, where it reads as stopped.
          range: (u, min, max) => [0, Math.max(1, max)],
          values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? String(v) : '')),
        },
        series: lag.partitions
          .map((p) => ({ label: p.topic + '-' + p.partition, values: p.records }))
          .concat([{ label: 'consumers', values: lag.members, scale: 'y2', color: '#475569' }]),
      });
      chart(figs.lagSeconds.holder, 'lagSeconds', {
        title: 'Time behind per partition',
        t: lag.t,
        yLabel: 'seconds',
        digits: 1,
        series: lag.partitions.map((p) => ({ label: p.topic + '-' + p.partition, values: p.seconds })),
      });
      figs.watermark.fig.hidden = !s.watermark;
      if (s.watermark) {
        chart(figs.watermark.holder, 'watermark', {
          title: 'Event-time watermark',
          t: s.watermark.t,
          yLabel: 'gap (s)',
          digits: 1,
          y2: {
            label: 'watermark',
            values: (u, vals) => vals.map((v) => new Date(v).toISOString().slice(11, 19)),
          },
          series: [
            { label: 'gap to processing time (s)', values: s.watermark.gapSeconds, fill: true },
            { label: 'watermark', values: s.watermark.watermarkMs, scale: 'y2', format: (v) => iso(v) },
          ],
        });
      }
      const dl = s.deadLetters;
      chart(figs.deadLetters.holder, 'deadLetters', {
        title: 'Dead letters per reason, and late records',
        t: dl.t,
        yLabel: 'records',
        digits: 0,
        bars: s.resolution === 'batch',
        series: Object.entries(dl.reasons)
          .map(([reason, values]) => ({ label: reason, values }))
          // A late record is a dead letter of reason "late": a second "late" series would repeat it.
          .concat(dl.reasons.late ? [] : [{ label: 'late', values: dl.late, color: '#475569' }]),
      });
    }

    async function loadBatches() {
      const url =
        '/api/jobs/' +
        encodeURIComponent(job) +
        '/batches?limit=20' +
        (current ? '&cursor=' + encodeURIComponent(current) : '');
      const json = await batchesJson(url);
      if (!json) return;
      nextCursor = json.next;
      replace(
        batchesHolder,
        table(
          'Recent batches' + (cursors.length ? ' (page ' + (cursors.length + 1) + ')' : ', live'),
          [
            'Started',
            'Batch',
            'Mode',
            'Offset ranges',
            'In',
            'Written',
            'Duplicates',
            'Dead letters',
            'Late',
            'Duration',
            'Latency, newest / oldest record',
            'Watermark (UTC)',
          ],
          json.batches.map((b) =>
            el(
              'tr',
              { 'data-batch-id': b.batchId },
              el('th', { scope: 'row', class: 'nowrap' }, el('a', { href: b.href }, iso(b.startedAt))),
              el('td', {}, el('code', {}, b.batchId.slice(0, 8))),
              el('td', {}, b.mode || DASH),
              el(
                'td',
                { class: 'ranges' },
                b.offsetRanges.map((r) =>
                  el(
                    'div',
                    {},
                    r.topic + '-' + r.partition + ' [' + r.fromOffset + ' → ' + r.untilOffset + ')',
                  ),
                ),
              ),
              el('td', {}, n(b.recordsIn)),
              el('td', {}, n(b.written)),
              el('td', {}, n(b.duplicates)),
              el('td', {}, n(b.deadLettered)),
              el('td', {}, n(b.late)),
              el('td', { class: 'nowrap' }, ms(b.durationMs)),
              el('td', { class: 'nowrap' }, latencies(b.latencyMs)),
              el(
                'td',
                { class: 'nowrap', title: b.watermarkMs === null ? null : iso(b.watermarkMs) },
                b.watermarkMs === null ? DASH : new Date(b.watermarkMs).toISOString().slice(11, 23),
              ),
            ),
          ),
          { class: 'batches', empty: 'no batches yet', hideCaption: true },
        ),
      );
      replace(
        pager,
        el(
          'button',
          { type: 'button', disabled: !cursors.length, onclick: byClick(() => turn(-1)) },
          '← Newer',
        ),
        el('button', { type: 'button', disabled: !nextCursor, onclick: byClick(() => turn(1)) }, 'Older →'),
      );
    }
    async function turn(direction) {
      if (direction > 0 && nextCursor) {
        cursors.push(current);
        current = nextCursor;
      } else if (direction < 0 && cursors.length) {
        current = cursors.pop();
      }
      await loadBatches();
    }
    async function loadSkipped() {
      const json = await getJson('/api/jobs/' + encodeURIComponent(job) + '/skipped-ranges');
      if (!json.available) {
        replace(
          skippedHolder,
          el('p', { class: 'muted' }, 'This deployment records no skipped ranges (no skipped_ranges table).'),
        );
        return;
      }
      replace(
        skippedHolder,
        table(
          'Ranges the event source skipped',
          [
            'Partition',
            'Offsets',
            'Status',
            'Reason',
            'Detected',
            'Detected by',
            'Redrive at offset',
            'Redriven',
            'Lost',
            'Redriven at',
          ],
          json.ranges.map((r) =>
            row([
              { header: true, value: r.topic + '-' + r.partition },
              '[' + r.fromOffset + ', ' + r.untilOffset + ')',
              r.status || DASH,
              r.reason || DASH,
              iso(r.detectedAt),
              r.detectedBy ? el('code', {}, r.detectedBy.slice(0, 8)) : DASH,
              n(r.nextOffset),
              n(r.redriven),
              n(r.lost),
              iso(r.redrivenAt),
            ]),
          ),
          { empty: 'no skipped ranges' },
        ),
        el('p', {}, 'Redrive the pending ones with ', code(json.command)),
      );
    }
  }

  // ---------------------------------------------------------------- batch page

  function batchPage() {
    const job = body.dataset.job;
    const url =
      '/api/jobs/' +
      encodeURIComponent(job) +
      '/batches/' +
      encodeURIComponent(body.dataset.startedAt) +
      '/' +
      encodeURIComponent(body.dataset.batchId);
    // The recorded batch does not change, but its partitions' checkpoints move on: the page loads once, then
    // refreshes only "Checkpoints now". A load that fails (the store not answering) is tried again.
    let checkpointsNow = null;
    poll(async () => {
      let json;
      try {
        json = await getJson(url);
      } catch (error) {
        if (!checkpointsNow)
          replace(
            main,
            el('h1', {}, 'Batch not loaded'),
            el('p', { class: 'error' }, error.message),
            el('p', {}, el('a', { href: '/jobs/' + encodeURIComponent(job) }, 'Back to ' + job)),
          );
        throw error;
      }
      if (checkpointsNow) replace(checkpointsNow, checkpointsTable(json.checkpointsNow));
      else checkpointsNow = renderBatch(job, json);
    });
  }

  function checkpointsTable(checkpoints) {
    return table(
      'Checkpoints now',
      ['Partition', 'Next offset', 'Open claim', 'Claim until', 'Claim time', 'Watermark', 'Updated'],
      checkpoints.map((c) =>
        row([
          { header: true, value: c.topic + '-' + c.partition },
          n(c.nextOffset),
          c.claimId ? el('code', {}, c.claimId.slice(0, 8)) : 'none',
          n(c.claimUntil),
          iso(c.claimTime),
          c.watermarkMs === null ? DASH : iso(c.watermarkMs),
          iso(c.updatedAt),
        ]),
      ),
    );
  }

  /** Renders a batch's page into main, and returns the container of its "Checkpoints now" table. */
  function renderBatch(job, json) {
    const checkpointsNow = el('div', { class: 'checkpoints-now' }, checkpointsTable(json.checkpointsNow));
    const b = json.batch;
    const dd = (label, value) => el('div', {}, el('dt', {}, label), el('dd', {}, value));
    const p = b.phases;
    const phaseRows = p
      ? [
          ['checkpoint read and claim', p.readClaimMs],
          ['decode and transform', p.transformMs],
          ['effects', p.effectsMs],
          ['commit', p.commitMs],
          ['other', Math.max(0, b.durationMs - p.readClaimMs - p.transformMs - p.effectsMs - p.commitMs)],
        ].map(([label, v]) =>
          row([
            { header: true, value: label },
            ms(v),
            b.durationMs ? ((100 * v) / b.durationMs).toFixed(0) + ' %' : DASH,
          ]),
        )
      : [];
    const parts = json.partitions || [];
    replace(
      main,
      el(
        'p',
        { class: 'crumbs' },
        el('a', { href: '/' }, 'Jobs'),
        ' / ',
        el('a', { href: '/jobs/' + encodeURIComponent(job) }, job),
        ' / batch',
      ),
      el('h1', {}, 'Batch ', el('code', {}, b.batchId.slice(0, 8)), ' of ', job),
      el(
        'dl',
        { class: 'summary' },
        dd('Batch id', b.batchId),
        dd('Started', iso(b.startedAt)),
        dd('Duration', ms(b.durationMs)),
        dd('Latency, newest record', b.latencyMs ? ms(b.latencyMs.newestMs) : DASH),
        dd('Latency, oldest record', b.latencyMs ? ms(b.latencyMs.oldestMs) : DASH),
        dd('Mode', b.mode || DASH),
        dd('Records in', n(b.recordsIn)),
        dd('Written', n(b.written)),
        dd('Duplicates', n(b.duplicates)),
        dd('Dead-lettered', n(b.deadLettered)),
        dd('Late', n(b.late)),
        dd('Skipped', n(b.skipped)),
        dd('Filtered', n(b.filtered)),
        dd('Deferred', n(b.deferred)),
        dd('Lost', n(b.lost)),
        dd('Watermark', b.watermarkMs === null ? DASH : iso(b.watermarkMs)),
      ),
      section(
        'Offset ranges',
        el('pre', { class: 'spark' }, json.offsetRanges.map((r) => r.spark).join('\n') || '(none)'),
        table(
          'Offset ranges (untilOffset is exclusive)',
          ['Topic', 'Partition', 'fromOffset', 'untilOffset', 'Records'],
          json.offsetRanges.map((r) =>
            row([{ header: true, value: r.topic }, r.partition, r.fromOffset, r.untilOffset, n(r.count)]),
          ),
        ),
      ),
      section(
        'Phase timings',
        p
          ? table('Phase timings of the partition that finished last', ['Phase', 'Time', 'Share'], phaseRows)
          : el('p', { class: 'muted' }, DASH + ' This ledger row has no phase timings (it predates them).'),
      ),
      section(
        'Per partition: checkpoint and claim, before and after',
        parts.length
          ? table(
              'Per partition outcome',
              [
                'Partition',
                'Range',
                'Checkpoint before',
                'Checkpoint after',
                'Claim',
                'Claim time',
                'Applied',
                'Written',
                'Duplicates',
                'Dead-lettered',
                'Late',
                'Skipped',
                'Filtered',
                'Deferred',
                'Lost',
                'Watermark',
              ],
              parts.map((x) =>
                row([
                  { header: true, value: x.topic + '-' + x.partition },
                  '[' + n(x.fromOffset) + ', ' + n(x.untilOffset) + ')',
                  n(x.nextBefore),
                  n(x.nextAfter),
                  x.claimId
                    ? el(
                        'span',
                        {},
                        el('code', {}, x.claimId.slice(0, 8)),
                        // Offsets applied under another attempt's claim carry that attempt's processing time.
                        x.resumedClaim
                          ? el(
                              'span',
                              { class: 'resumed' },
                              ' (resumed ',
                              el('code', {}, x.resumedClaim.id.slice(0, 8)),
                              ' to ' +
                                n(x.resumedClaim.until) +
                                ', its time ' +
                                iso(x.resumedClaim.time) +
                                ')',
                            )
                          : null,
                      )
                    : DASH,
                  x.claimTime ? iso(x.claimTime) : DASH,
                  n(x.applied),
                  n(x.written),
                  n(x.duplicates),
                  n(x.deadLettered),
                  n(x.late),
                  n(x.skipped),
                  n(x.filtered),
                  n(x.deferred),
                  n(x.lost),
                  x.watermarkMs === null ? DASH : iso(x.watermarkMs),
                ]),
              ),
            )
          : el(
              'p',
              { class: 'muted' },
              DASH + ' This ledger row has no per-partition outcome (it predates them).',
            ),
        checkpointsNow,
      ),
      section(
        'Dead letters of this batch',
        table(
          'Dead letters of this batch',
          deadLetterHeaders(false),
          deadLetterRows(json.deadLetters, false),
          { class: 'dead-letters', empty: 'none', hideCaption: true },
        ),
      ),
    );
    return checkpointsNow;
  }

  // ---------------------------------------------------------------- dead letters page

  async function deadLettersPage() {
    const params = new URLSearchParams(location.search);
    const jobs = (await getJson('/api/jobs')).jobs.map((j) => j.name);
    const field = (label, input) => el('label', {}, el('span', {}, label), input);
    const form = el(
      'form',
      {
        class: 'filters',
        method: 'get',
        action: '/dead-letters',
        role: 'search',
        'aria-label': 'Filter dead letters',
      },
      field(
        'Job',
        el(
          'select',
          { name: 'job' },
          el('option', { value: '' }, 'all jobs'),
          jobs.map((j) => el('option', { value: j, selected: params.get('job') === j }, j)),
        ),
      ),
      field(
        'Reason',
        // The reasons a dead letter can have, from the server: a typo cannot reach the API.
        el(
          'select',
          { name: 'reason' },
          el('option', { value: '' }, 'any reason'),
          (body.dataset.reasons || '')
            .split(',')
            .filter(Boolean)
            .map((r) => el('option', { value: r, selected: params.get('reason') === r }, r)),
        ),
      ),
      field(
        'From (ISO time)',
        el('input', { name: 'from', value: params.get('from') || '', placeholder: '2026-01-01T00:00:00Z' }),
      ),
      field('To (ISO time)', el('input', { name: 'to', value: params.get('to') || '', placeholder: 'now' })),
      el('button', { type: 'submit' }, 'Filter'),
    );
    const holder = el('div');
    const pager = el('div', { class: 'pager' });
    replace(
      main,
      el('h1', {}, 'Dead letters'),
      el(
        'p',
        { class: 'muted' },
        'Records a job could not apply, newest first. Payloads are shown as text when they are UTF-8 text, as hex otherwise.',
      ),
      form,
      holder,
      pager,
    );
    const cursors = [];
    let current = params.get('cursor');
    const deadLettersJson = latestJson();
    async function load() {
      const q = new URLSearchParams(params);
      q.delete('cursor');
      if (current) q.set('cursor', current);
      const json = await deadLettersJson('/api/dead-letters?' + q.toString());
      if (!json) return;
      replace(
        holder,
        table(
          'Dead letters' + (cursors.length ? ' (page ' + (cursors.length + 1) + ')' : ''),
          deadLetterHeaders(true),
          deadLetterRows(json.deadLetters, true),
          {
            class: 'dead-letters',
            empty: 'no dead letters match',
          },
        ),
        el('p', { class: 'muted' }, 'Read ' + n(json.scanned) + ' rows for this page.'),
      );
      replace(
        pager,
        el(
          'button',
          {
            type: 'button',
            disabled: !cursors.length,
            onclick: byClick(() => {
              current = cursors.pop();
              return load();
            }),
          },
          '← Newer',
        ),
        el(
          'button',
          {
            type: 'button',
            disabled: !json.next,
            onclick: byClick(() => {
              cursors.push(current);
              current = json.next;
              return load();
            }),
          },
          'Older →',
        ),
      );
    }
    poll(async () => {
      if (!cursors.length) await load();
    });
  }

  const pages = { overview, job: jobPage, batch: batchPage, 'dead-letters': deadLettersPage };
  Promise.resolve((pages[page] || overview)()).catch((error) => {
    setLive('error: ' + error.message, true);
  });
})();
