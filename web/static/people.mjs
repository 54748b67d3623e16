/* Agents and teams for the assign picker (GET /api/v1/agents). Pure. */

/** teamsOf lists the teams the agents are in, and extra ones, sorted. */
export function teamsOf(agents, extra) {
  const set = new Set();
  for (const a of agents || []) for (const t of a.teams || []) if (t) set.add(t);
  for (const t of extra || []) if (t) set.add(t);
  return [...set].sort();
}

const PRESENCE_ORDER = { online: 0, away: 1, offline: 2 };

/**
 * assignChoices is what the picker offers for the text q: the agents whose
 * name or team contains it (online first, then by name), then the teams
 * whose name contains it. An agent at capacity is offered, marked full.
 */
export function assignChoices(agents, teams, q) {
  const needle = String(q || '').trim().toLowerCase();
  const has = (s) => String(s).toLowerCase().includes(needle);
  const out = (agents || [])
    .filter((a) => !needle || has(a.name) || (a.teams || []).some(has))
    .map((a) => ({
      kind: 'agent', name: a.name, presence: a.presence || 'offline', load: a.load || 0, capacity: a.capacity || 0,
      teams: a.teams || [], full: a.capacity > 0 && a.load >= a.capacity,
    }))
    .sort((a, b) => (PRESENCE_ORDER[a.presence] - PRESENCE_ORDER[b.presence]) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of teams || []) if (!needle || has(t)) out.push({ kind: 'team', name: t });
  return out;
}

/** withPresence applies an agent.presence event to the agents read. */
export function withPresence(agents, data) {
  if (!data || !data.agent) return agents;
  return (agents || []).map((a) => (a.name === data.agent ? Object.assign({}, a, { presence: data.presence, status: data.status || a.status }) : a));
}

/** choiceText describes a choice: "ana · online · 3/10 open". */
export function choiceText(c) {
  if (c.kind === 'team') return 'Team ' + c.name;
  return c.name + ' · ' + c.presence + ' · ' + c.load + '/' + c.capacity + ' open' + (c.full ? ' (full)' : '');
}
