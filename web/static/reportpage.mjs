/* The reports page: GET /api/v1/reports/summary drawn as SVG charts, with
 * the API's date-range, team and channel filters and a CSV export. */
import { barChart, render } from './charts.mjs';
import { errorText, query } from './format.mjs';
import {
  bucketSeries, csatSeries, csvOf, defaultDays, deflectionSeries, duration, percent, rangeOf, slaSeries, volumeSeries,
} from './reports.mjs';

/**
 * makeReports returns the page's {open, close}. ctx: {doc, win, dom, api,
 * now, channels() (titles by name), teams() (a promise of team names)}.
 */
export function makeReports(ctx) {
  const { doc, win } = ctx;
  const { h, byId, clear, show } = ctx.dom;
  let seq = 0;
  let csvURL = null;
  let wired = false;

  function options(select, values, titles) {
    const keep = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const v of values) select.appendChild(h('option', { value: v }, (titles && titles[v]) || v));
    select.value = keep;
    if (select.value !== keep) select.value = '';
  }

  function chart(id, data, title, byLabel, wide) {
    const box = byId(id);
    clear(box);
    const size = wide ? { width: 1000, height: 240 } : { width: 380, height: 200 };
    box.appendChild(render(doc, barChart(data.labels, data.series, Object.assign({ title, byLabel }, size))));
  }

  function legend(series) {
    const ul = byId('legend-volume');
    clear(ul);
    series.forEach((s, i) => ul.appendChild(h('li', null, h('span', { className: 'swatch s' + (i % 8) }), s.name)));
  }

  function tiles(r) {
    const dl = byId('report-tiles');
    clear(dl);
    const items = [
      ['Conversations', String(r.conversations)],
      ['Resolved', String(r.resolved)],
      ['Backlog now', String(r.backlog)],
      ['First response (median)', duration(r.first_response_seconds.median)],
      ['First response (p90)', duration(r.first_response_seconds.p90)],
      ['Resolution (median)', duration(r.resolution_seconds.median)],
      ['CSAT', r.csat.average === null ? '–' : r.csat.average + ' / 5 (' + r.csat.count + ')'],
      ['Bot deflection', percent(r.deflection_rate)],
      ['SLA met / breached', r.sla.met + ' / ' + r.sla.breached],
    ];
    for (const [k, v] of items) dl.appendChild(h('div', { className: 'tile' }, h('dt', null, k), h('dd', null, v)));
  }

  function draw(r, filters) {
    tiles(r);
    const vol = volumeSeries(r, ctx.channels());
    chart('chart-volume', vol, 'Conversations per day, by channel', false, true);
    legend(vol.series);
    chart('chart-first', bucketSeries(r.first_response_buckets), 'First response time');
    chart('chart-resolution', bucketSeries(r.resolution_buckets), 'Resolution time');
    chart('chart-sla', slaSeries(r), 'SLA met and breached', true);
    chart('chart-csat', csatSeries(r), 'CSAT ratings by score', true);
    chart('chart-deflection', deflectionSeries(r), 'Resolves by the bot and by agents', true);
    const link = byId('report-csv');
    if (csvURL && win.URL) win.URL.revokeObjectURL(csvURL);
    csvURL = null;
    if (win.URL && win.Blob) {
      csvURL = win.URL.createObjectURL(new win.Blob([csvOf(r, filters)], { type: 'text/csv' }));
      link.setAttribute('href', csvURL);
      link.setAttribute('download', 'tongdao-report-' + r.from.slice(0, 10) + '-' + r.to.slice(0, 10) + '.csv');
      link.setAttribute('aria-disabled', 'false');
    }
  }

  function load() {
    const range = rangeOf(byId('report-first').value, byId('report-last').value);
    const err = byId('report-error');
    if (range.error) {
      err.textContent = range.error;
      show(err, true);
      return Promise.resolve();
    }
    const filters = { team: byId('report-team').value, channel: byId('report-channel').value };
    const n = ++seq;
    byId('report-body').setAttribute('aria-busy', 'true');
    return ctx.api('GET', '/reports/summary' + query(Object.assign({ from: range.from, to: range.to }, filters))).then((r) => {
      if (n !== seq) return;
      show(err, false);
      draw(r, filters);
    }, (e) => {
      if (n !== seq) return;
      err.textContent = 'Could not load the report: ' + errorText(e);
      show(err, true);
    }).then(() => {
      if (n === seq) byId('report-body').setAttribute('aria-busy', 'false');
    });
  }

  function wire() {
    if (wired) return;
    wired = true;
    const [first, last] = defaultDays(ctx.now());
    byId('report-first').value = first;
    byId('report-last').value = last;
    byId('report-filters').addEventListener('submit', (e) => { e.preventDefault(); load(); });
    for (const id of ['report-team', 'report-channel']) byId(id).addEventListener('change', load);
  }

  return {
    /** open shows the page and reads the report. */
    open() {
      wire();
      const titles = ctx.channels();
      options(byId('report-channel'), Object.keys(titles), titles);
      show(byId('reports'), true);
      return Promise.all([ctx.teams().then((ts) => options(byId('report-team'), ts), () => {}), load()]);
    },
    close() {
      seq++;
      show(byId('reports'), false);
    },
  };
}
