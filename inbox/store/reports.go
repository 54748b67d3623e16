package store

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/tongdao/hub/models"
)

// channelOfConversation is a conversation's channel: that of its first
// customer message.
const channelOfConversation = `(SELECT m.channel FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in' AND m.sender_type = 'customer' ORDER BY m.id LIMIT 1)`

// connectorOfConversation is the connector of that first customer message.
const connectorOfConversation = `(SELECT m.connector FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in' AND m.sender_type = 'customer' ORDER BY m.id LIMIT 1)`

// reportConvColumns are a reportConv's columns of conversation c.
const reportConvColumns = `c.id AS id, COALESCE(c.team, '') AS team, COALESCE(` + channelOfConversation + `, '') AS channel,
	COALESCE(` + connectorOfConversation + `, '') AS connector, c.created_at AS created_at`

// reportScope is the conversations whose periods a range [from, to) can
// touch: created before its end and, of those, the ones still going or
// resolved since its start (resolved_at is cleared on reopen). Each part
// of the union has its index, so the years before the range are never
// read. (Ratings and breaches are read by time, whatever the scope.)
const reportScope = `c.created_at < @to AND c.id IN (SELECT o.id FROM conversations o WHERE o.status IN ('open', 'pending', 'snoozed')
	UNION SELECT r.id FROM conversations r WHERE r.resolved_at >= @from)`

// reportConv is one conversation of a report's scope.
type reportConv struct {
	ID        int64
	Team      string
	Channel   string
	Connector string
	CreatedAt time.Time
}

// reportEvent is a status change, rating or breach of the event log.
type reportEvent struct {
	ConversationID int64
	Type           string
	Data           string
	Detail         string
	CreatedAt      time.Time
}

// reportReply is an agent's reply (not a private note).
type reportReply struct {
	ConversationID int64
	CreatedAt      time.Time
}

// ReportSummary computes the summary report of f (its times UTC) from the
// conversations, their first customer messages, agents' replies, the
// status changes, ratings and breaches of the event log, and the SLA
// clocks, in a few indexed queries over the range's conversations and its
// ratings and breaches. The
// definitions are the README's (Reports).
func (s *Store) ReportSummary(ctx context.Context, f models.ReportFilter) (models.ReportSummary, error) {
	from, to := f.From.UTC(), f.To.UTC()
	r := models.ReportSummary{From: from, To: to, ByChannel: map[string]int{}, ByConnector: map[string]int{}, ByTeam: map[string]int{},
		CSAT: models.ReportCSAT{Distribution: map[string]int{"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}}
	args := map[string]any{"from": from, "to": to}
	db := s.DB.WithContext(ctx)
	scope := `SELECT c.id FROM conversations c WHERE ` + reportScope

	var convs []reportConv
	if err := db.Raw(`SELECT `+reportConvColumns+` FROM conversations c WHERE `+reportScope, args).Scan(&convs).Error; err != nil {
		return r, err
	}
	in := map[int64]reportConv{}
	for _, c := range convs {
		if (f.Team == "" || c.Team == f.Team) && (f.Channel == "" || c.Channel == f.Channel) {
			in[c.ID] = c
		}
	}

	var changes []reportEvent
	if err := db.Raw(`SELECT e.conversation_id, e.type, e.data, e.detail, e.created_at FROM events e
		WHERE e.type = 'conversation.updated' AND e.conversation_id IN (`+scope+`) AND e.created_at < @to
		ORDER BY e.conversation_id, e.id`, args).Scan(&changes).Error; err != nil {
		return r, err
	}
	var replies []reportReply
	if err := db.Raw(`SELECT m.conversation_id, m.created_at FROM messages m
		WHERE m.sender_type = 'agent' AND m.private = false AND m.direction = 'out' AND m.conversation_id IN (`+scope+`) AND m.created_at < @to
		ORDER BY m.conversation_id, m.created_at, m.id`, args).Scan(&replies).Error; err != nil {
		return r, err
	}
	var facts []reportEvent
	facts2 := map[int64]bool{} // outside the scope, of the team and channel
	if err := db.Raw(`SELECT e.conversation_id, e.type, e.data, e.created_at FROM events e
		WHERE e.type IN ('csat.received', 'sla.breached') AND e.created_at >= @from AND e.created_at < @to`, args).Scan(&facts).Error; err != nil {
		return r, err
	}
	// The conversations of ratings and breaches outside the scope (rated
	// after a resolve before the range).
	seen, more := map[int64]bool{}, []int64{}
	for _, c := range convs {
		seen[c.ID] = true
	}
	for _, e := range facts {
		if !seen[e.ConversationID] {
			seen[e.ConversationID] = true
			more = append(more, e.ConversationID)
		}
	}
	if len(more) > 0 {
		var extra []reportConv
		if err := db.Raw(`SELECT `+reportConvColumns+` FROM conversations c WHERE c.id IN ?`, more).Scan(&extra).Error; err != nil {
			return r, err
		}
		for _, c := range extra {
			if (f.Team == "" || c.Team == f.Team) && (f.Channel == "" || c.Channel == f.Channel) {
				facts2[c.ID] = true
			}
		}
	}
	var met []int64
	if err := db.Raw(`SELECT k.conversation_id FROM sla_clocks k
		WHERE k.stopped_at >= @from AND k.stopped_at < @to AND k.stopped_at <= k.due_at AND k.breached_at IS NULL
		AND k.conversation_id IN (`+scope+`)`, args).Scan(&met).Error; err != nil {
		return r, err
	}
	backlog := db.Raw(`SELECT COUNT(*) FROM conversations c WHERE c.status IN ('open', 'pending', 'snoozed')`)
	switch {
	case f.Team != "" && f.Channel != "":
		backlog = db.Raw(`SELECT COUNT(*) FROM conversations c WHERE c.status IN ('open', 'pending', 'snoozed') AND c.team = ? AND `+channelOfConversation+` = ?`, f.Team, f.Channel)
	case f.Team != "":
		backlog = db.Raw(`SELECT COUNT(*) FROM conversations c WHERE c.status IN ('open', 'pending', 'snoozed') AND c.team = ?`, f.Team)
	case f.Channel != "":
		backlog = db.Raw(`SELECT COUNT(*) FROM conversations c WHERE c.status IN ('open', 'pending', 'snoozed') AND `+channelOfConversation+` = ?`, f.Channel)
	}
	var n int64
	if err := backlog.Scan(&n).Error; err != nil {
		return r, err
	}
	r.Backlog = int(n)

	inRange := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	days, dayIndex := reportDays(from, to)
	for _, c := range in {
		if inRange(c.CreatedAt) {
			r.Conversations++
			ch := cmp.Or(c.Channel, "unknown")
			r.ByChannel[ch]++
			r.ByConnector[cmp.Or(c.Connector, "unknown")]++
			r.ByTeam[cmp.Or(c.Team, "none")]++
			d := &days[dayIndex[c.CreatedAt.UTC().Format(time.DateOnly)]]
			d.Conversations++
			d.ByChannel[ch]++
		}
	}
	r.ByDay = days

	changesOf := map[int64][]reportEvent{}
	for _, e := range changes {
		changesOf[e.ConversationID] = append(changesOf[e.ConversationID], e)
	}
	periods := map[int64][]period{}
	for id, c := range in {
		periods[id] = periodsOf(c.CreatedAt, changesOf[id])
	}
	repliesOf := map[int64][]time.Time{}
	for _, m := range replies {
		repliesOf[m.ConversationID] = append(repliesOf[m.ConversationID], m.CreatedAt)
	}
	var first, resolution []float64
	deflected := 0
	for id, ps := range periods {
		rs := repliesOf[id]
		for _, p := range ps {
			// The first response of a period: the first agent reply at or
			// after its start and before its end.
			i := sort.Search(len(rs), func(i int) bool { return !rs[i].Before(p.start) })
			if i < len(rs) && (p.end.IsZero() || !rs[i].After(p.end)) && inRange(rs[i]) {
				first = append(first, rs[i].Sub(p.start).Seconds())
			}
			if !p.end.IsZero() && inRange(p.end) {
				r.Resolved++
				resolution = append(resolution, p.end.Sub(p.start).Seconds())
				if p.deflected {
					deflected++
				}
			}
		}
	}
	r.FirstResponseBuckets = buckets(firstResponseBounds, first)
	r.ResolutionBuckets = buckets(resolutionBounds, resolution)
	r.FirstResponseSeconds = summarize(first)
	r.ResolutionSeconds = summarize(resolution)
	if r.Resolved > 0 {
		rate := float64(deflected) / float64(r.Resolved)
		r.DeflectionRate = &rate
	}

	sum := 0
	for _, e := range facts {
		if _, ok := in[e.ConversationID]; !ok && !facts2[e.ConversationID] {
			continue
		}
		switch e.Type {
		case models.EventTypeSLABreached:
			r.SLA.Breached++
		case models.EventTypeCSATReceived:
			var d struct {
				Score int `json:"score"`
			}
			if json.Unmarshal([]byte(e.Data), &d) != nil || d.Score < 1 || d.Score > 5 {
				continue
			}
			r.CSAT.Count++
			r.CSAT.Distribution[strconv.Itoa(d.Score)]++
			sum += d.Score
		}
	}
	if r.CSAT.Count > 0 {
		avg := math.Round(float64(sum)/float64(r.CSAT.Count)*100) / 100
		r.CSAT.Average = &avg
	}
	for _, id := range met {
		if _, ok := in[id]; ok {
			r.SLA.Met++
		}
	}
	return r, nil
}

// period is a conversation's time from its start (created, or reopened)
// to what ended it (resolved); end is zero while it goes on.
type period struct {
	start, end time.Time
	deflected  bool // resolved by the bot's answer
}

// periodsOf reads a conversation's periods from its status changes
// (conversation.updated events, oldest first).
func periodsOf(created time.Time, changes []reportEvent) []period {
	ps := []period{{start: created}}
	for _, e := range changes {
		var ch models.ConversationChange
		if json.Unmarshal([]byte(e.Detail), &ch) != nil {
			continue // an event from before changes had their detail
		}
		last := &ps[len(ps)-1]
		switch {
		case ch.After.Status == models.StatusResolved && ch.Before.Status != models.StatusResolved && last.end.IsZero():
			var d struct {
				Changes map[string]any `json:"changes"`
			}
			_ = json.Unmarshal([]byte(e.Data), &d)
			last.end = e.CreatedAt
			last.deflected, _ = d.Changes["deflected"].(bool)
		case ch.Before.Status == models.StatusResolved && ch.After.Status != models.StatusResolved && !last.end.IsZero():
			ps = append(ps, period{start: e.CreatedAt})
		}
	}
	return ps
}

// LiveDuration tells, for the event ev of conversation conv, the first
// response or resolution time it completes, for the live metrics: an
// agent's reply (message id msg, not a note) that is the first of its
// period gives kind "first_response"; a resolve "resolution"; kind is ""
// when ev completes neither. Two or three small indexed reads.
func (s *Store) LiveDuration(ctx context.Context, conv int64, ev *models.Event, msg int64) (d time.Duration, kind string, err error) {
	db := s.DB.WithContext(ctx)
	var created []time.Time
	if err := db.Raw(`SELECT created_at FROM conversations WHERE id = ?`, conv).Scan(&created).Error; err != nil || len(created) == 0 {
		return 0, "", err
	}
	var changes []reportEvent
	if err := db.Raw(`SELECT e.conversation_id, e.type, e.data, e.detail, e.created_at FROM events e
		WHERE e.type = 'conversation.updated' AND e.conversation_id = ? AND e.id <= ? ORDER BY e.id`, conv, ev.ID).Scan(&changes).Error; err != nil {
		return 0, "", err
	}
	ps := periodsOf(created[0], changes)
	last := ps[len(ps)-1]
	if ev.Type == models.EventTypeConversationUpdated {
		if len(changes) > 0 && !last.end.IsZero() && last.end.Equal(changes[len(changes)-1].CreatedAt) {
			var ch models.ConversationChange
			if json.Unmarshal([]byte(changes[len(changes)-1].Detail), &ch) == nil &&
				ch.After.Status == models.StatusResolved && ch.Before.Status != models.StatusResolved {
				return last.end.Sub(last.start), "resolution", nil
			}
		}
		return 0, "", nil
	}
	if !last.end.IsZero() || msg == 0 {
		return 0, "", nil // a reply after the resolve answers nothing
	}
	var earlier int64
	if err := db.Raw(`SELECT COUNT(*) FROM messages m WHERE m.conversation_id = ? AND m.sender_type = 'agent' AND m.private = false
		AND m.direction = 'out' AND m.created_at >= ? AND m.id < ?`, conv, last.start, msg).Scan(&earlier).Error; err != nil || earlier > 0 {
		return 0, "", err
	}
	return ev.CreatedAt.Sub(last.start), "first_response", nil
}

// summarize is the nearest-rank median and 90th percentile of samples:
// the value at rank ceil(p*n) of the n samples in ascending order.
func summarize(samples []float64) models.ReportDuration {
	d := models.ReportDuration{Count: len(samples)}
	if len(samples) == 0 {
		return d
	}
	sort.Float64s(samples)
	rank := func(p float64) *float64 {
		i := int(math.Ceil(p*float64(len(samples)))) - 1
		v := math.Round(samples[max(i, 0)]*1000) / 1000
		return &v
	}
	d.Median, d.P90 = rank(0.5), rank(0.9)
	return d
}
