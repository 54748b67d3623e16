/* The reports page's model: the range asked for, the series the charts
 * draw from GET /api/v1/reports/summary, and the CSV export. Pure. */

const DAY = 86400000;

function isoDay(t) { return new Date(t).toISOString().slice(0, 10); }

/** defaultDays is the last 7 UTC days, today included: [first, last]. */
export function defaultDays(now) {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return [isoDay(today - 6 * DAY), isoDay(today)];
}

/**
 * rangeOf turns the first and last day picked (YYYY-MM-DD, both included,
 * UTC) into the API's from and to; {error} when they make no range.
 */
export function rangeOf(first, last) {
  const re = /^\d{4}-\d{2}-\d{2}$/;
  if (!re.test(first || '') || !re.test(last || '')) return { error: 'Pick the first and the last day.' };
  const a = Date.parse(first + 'T00:00:00Z');
  const b = Date.parse(last + 'T00:00:00Z');
  if (isNaN(a) || isNaN(b)) return { error: 'Pick the first and the last day.' };
  if (b < a) return { error: 'The last day is before the first.' };
  if ((b - a) / DAY + 1 > 366) return { error: 'A report covers at most 366 days.' };
  return { from: isoDay(a) + 'T00:00:00Z', to: isoDay(b + DAY) + 'T00:00:00Z' };
}

/** duration says seconds shortly: "45 s", "9 min", "2.5 h", "3.2 d"; "–" for null. */
export function duration(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return Math.round(s) + ' s';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 86400) return Math.round(s / 360) / 10 + ' h';
  return Math.round(s / 8640) / 10 + ' d';
}

/** percent says a rate: "17%"; "–" for null. */
export function percent(r) {
  return r === null || r === undefined ? '–' : Math.round(r * 100) + '%';
}

/**
 * volumeSeries is the volume per day, one stacked series per channel
 * (the busiest first), from by_day; titles names the channels.
 */
export function volumeSeries(summary, titles) {
  const days = summary.by_day || [];
  const totals = {};
  for (const d of days) for (const ch of Object.keys(d.by_channel || {})) totals[ch] = (totals[ch] || 0) + d.by_channel[ch];
  const channels = Object.keys(totals).sort((a, b) => totals[b] - totals[a] || (a < b ? -1 : 1));
  return {
    labels: days.map((d) => d.day.slice(5)),
    series: channels.map((ch) => ({ name: (titles && titles[ch]) || ch, key: ch, values: days.map((d) => (d.by_channel || {})[ch] || 0) })),
  };
}

/** bucketSeries is a distribution's bars: "≤1 min" ... ">24 h". */
export function bucketSeries(buckets) {
  const bs = buckets || [];
  const labels = bs.map((b, i) => (b.up_to_seconds === null ? '>' + duration(i > 0 ? bs[i - 1].up_to_seconds : 0) : '≤' + duration(b.up_to_seconds)));
  return { labels, series: [{ name: 'conversations', values: bs.map((b) => b.count) }] };
}

/** csatSeries is the ratings by score, 1 to 5. */
export function csatSeries(summary) {
  const d = (summary.csat && summary.csat.distribution) || {};
  const labels = ['1', '2', '3', '4', '5'];
  return { labels: labels.map((l) => l + '★'), series: [{ name: 'ratings', values: labels.map((l) => d[l] || 0) }] };
}

/** slaSeries is met against breached. */
export function slaSeries(summary) {
  const s = summary.sla || {};
  return { labels: ['met', 'breached'], series: [{ name: 'SLA clocks', values: [s.met || 0, s.breached || 0] }] };
}

/** deflectionSeries is the resolves by the bot's answer against the others. */
export function deflectionSeries(summary) {
  const n = summary.resolved || 0;
  const bot = summary.deflection_rate === null || summary.deflection_rate === undefined ? 0 : Math.round(summary.deflection_rate * n);
  return { labels: ['by the bot', 'by agents'], series: [{ name: 'resolves', values: [bot, n - bot] }] };
}

/** cell quotes a CSV field, and defuses one a spreadsheet would run as a formula. */
export function cell(v) {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/**
 * csvOf is the report as CSV, one figure a line: metric, key, value (the
 * day or day/channel, the bucket's upper bound in seconds, the score).
 */
export function csvOf(summary, filters) {
  const rows = [['metric', 'key', 'value']];
  const add = (metric, key, value) => rows.push([metric, key, value]);
  add('from', '', summary.from);
  add('to', '', summary.to);
  add('team', '', (filters && filters.team) || '');
  add('channel', '', (filters && filters.channel) || '');
  add('conversations', '', summary.conversations);
  add('resolved', '', summary.resolved);
  add('backlog', '', summary.backlog);
  for (const k of ['first_response_seconds', 'resolution_seconds']) {
    const d = summary[k] || {};
    add(k, 'median', d.median);
    add(k, 'p90', d.p90);
    add(k, 'count', d.count);
  }
  add('deflection_rate', '', summary.deflection_rate);
  add('sla', 'met', (summary.sla || {}).met);
  add('sla', 'breached', (summary.sla || {}).breached);
  add('csat', 'average', (summary.csat || {}).average);
  add('csat', 'count', (summary.csat || {}).count);
  const dist = (summary.csat || {}).distribution || {};
  for (const k of Object.keys(dist).sort()) add('csat_score', k, dist[k]);
  for (const m of ['by_channel', 'by_connector', 'by_team']) {
    const by = summary[m] || {};
    for (const k of Object.keys(by).sort()) add(m, k, by[k]);
  }
  for (const d of summary.by_day || []) {
    add('by_day', d.day, d.conversations);
    for (const k of Object.keys(d.by_channel || {}).sort()) add('by_day_channel', d.day + '/' + k, d.by_channel[k]);
  }
  for (const k of ['first_response_buckets', 'resolution_buckets']) {
    for (const b of summary[k] || []) add(k, b.up_to_seconds === null ? 'longer' : b.up_to_seconds, b.count);
  }
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
