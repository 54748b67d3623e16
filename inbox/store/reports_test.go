package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// reportStep is one thing that happens to a fixture conversation at a
// minute of the fixture's timeline.
type reportStep struct {
	at   int // minutes after the range's start (negative: before it)
	what string
	n    int // the score of "rate"; the SLA limit in minutes of "clock"
}

// reportFixture is the hand-counted fixture of TestReportSummaryAgreesWithAHandCount.
// Channels: t telegram (connector tg-main), T telegram (tg-eu), d discord
// (dc-main), w wechat (wx-main). The range is minutes [0, 600).
var reportFixture = []struct {
	channel, team string
	steps         []reportStep
}{
	// C0: created before the range, answered before it, resolved in it.
	{"t", "billing", []reportStep{{-60, "in", 0}, {-50, "agent", 0}, {30, "resolve", 0}}},
	{"t", "billing", []reportStep{{0, "in", 0}, {5, "agent", 0}, {20, "resolve", 0}}},                                                               // C1
	{"t", "billing", []reportStep{{10, "in", 0}, {11, "bot", 0}, {25, "agent", 0}, {40, "resolve", 0}}},                                             // C2: a bot message is no response
	{"t", "billing", []reportStep{{20, "in", 0}, {22, "note", 0}, {30, "agent", 0}}},                                                                // C3: a note is no response; open
	{"d", "billing", []reportStep{{30, "in", 0}, {31, "bot", 0}, {35, "deflect", 0}}},                                                               // C4: deflected
	{"d", "billing", []reportStep{{40, "in", 0}, {42, "agent", 0}, {60, "resolve", 0}, {100, "reopen", 0}, {130, "agent", 0}, {150, "resolve", 0}}}, // C5: reopened
	{"w", "risk", []reportStep{{50, "in", 0}, {70, "agent", 0}, {90, "resolve", 0}, {95, "rate", 5}}},                                               // C6
	{"w", "risk", []reportStep{{60, "in", 0}, {61, "agent", 0}, {80, "resolve", 0}, {85, "rate", 1}}},                                               // C7
	{"t", "risk", []reportStep{{70, "in", 0}, {70, "clock", 10}, {80, "breach", 0}}},                                                                // C8: breached, open
	{"t", "risk", []reportStep{{80, "in", 0}, {80, "clock", 10}, {90, "breach", 0}, {200, "agent", 0}, {210, "resolve", 0}}},                        // C9: breached, answered late
	{"d", "risk", []reportStep{{90, "in", 0}, {91, "bot", 0}, {92, "bot", 0}, {95, "deflect", 0}}},                                                  // C10: deflected
	{"t", "billing", []reportStep{{100, "in", 0}, {100, "clock", 10}, {103, "agent", 0}, {120, "resolve", 0}, {130, "rate", 4}}},                    // C11: SLA met
	{"d", "billing", []reportStep{{110, "in", 0}, {111, "note", 0}, {112, "note", 0}, {150, "agent", 0}}},                                           // C12: open
	{"w", "billing", []reportStep{{120, "in", 0}, {124, "agent", 0}, {130, "resolve", 0}, {131, "rate", 3}}},                                        // C13
	{"t", "risk", []reportStep{{130, "in", 0}, {136, "agent", 0}, {200, "resolve", 0}, {210, "reopen", 0}}},                                         // C14: reopened, open
	{"t", "billing", []reportStep{{140, "in", 0}, {150, "resolve", 0}}},                                                                             // C15: resolved unanswered
	{"d", "risk", []reportStep{{150, "in", 0}, {158, "agent", 0}, {170, "resolve", 0}, {175, "rate", 5}}},                                           // C16
	{"w", "billing", []reportStep{{160, "in", 0}, {160, "clock", 20}, {169, "agent", 0}, {190, "resolve", 0}, {200, "rate", 4}}},                    // C17: SLA met
	{"t", "risk", []reportStep{{170, "in", 0}, {177, "agent", 0}, {300, "resolve", 0}}},                                                             // C18
	{"d", "billing", []reportStep{{180, "in", 0}, {181, "bot", 0}, {182, "deflect", 0}}},                                                            // C19: deflected
	{"T", "billing", []reportStep{{190, "in", 0}, {250, "agent", 0}}},                                                                               // C20: open, on tg-eu
	{"w", "risk", []reportStep{{200, "in", 0}, {211, "agent", 0}}},                                                                                  // C21: open
	{"T", "billing", []reportStep{{590, "in", 0}}},                                                                                                  // C22: open, on tg-eu
	{"t", "billing", []reportStep{{610, "in", 0}}},                                                                                                  // C23: after the range, open
	// C24: resolved before the range, rated in it.
	{"t", "billing", []reportStep{{-50, "in", 0}, {-45, "agent", 0}, {-20, "resolve", 0}, {5, "rate", 2}}},
}

// buildReportFixture plays the fixture on s in time order and returns the
// range's start.
func buildReportFixture(t *testing.T, s *store.Store, c *testclock.Clock) time.Time {
	t.Helper()
	ctx := context.Background()
	t0 := c.Now().Add(time.Hour)
	type event struct {
		at, conv, seq int
		step          reportStep
	}
	var evs []event
	for i, f := range reportFixture {
		for j, st := range f.steps {
			evs = append(evs, event{st.at, i, j, st})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	convs := map[int]int64{}
	channels := map[string]string{"t": models.ChannelTelegram, "T": models.ChannelTelegram, "d": models.ChannelDiscord, "w": models.ChannelWeChat}
	connectors := map[string]string{"t": "tg-main", "T": "tg-eu", "d": "dc-main", "w": "wx-main"}
	msg := 0
	for _, e := range evs {
		now := t0.Add(time.Duration(e.at) * time.Minute)
		if d := now.Sub(c.Now()); d > 0 {
			c.Advance(d)
		}
		f, id := reportFixture[e.conv], convs[e.conv]
		say := func(sender string, private bool) {
			t.Helper()
			if err := s.AddMessage(ctx, &models.Message{ConversationID: id, Direction: models.DirectionOut, Kind: models.KindMessage,
				SenderType: sender, SenderID: "ana", Text: "hello", Private: private, DeliveryStatus: models.DeliveryQueued}); err != nil {
				t.Fatal(err)
			}
		}
		update := func(fields map[string]any) {
			t.Helper()
			if _, err := s.UpdateConversation(ctx, id, fields, "ana"); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		switch e.step.what {
		case "in":
			msg++
			in := inbound(fmt.Sprint("u", e.conv), fmt.Sprint("m", msg), "help")
			in.Channel, in.Connector = channels[f.channel], connectors[f.channel]
			convs[e.conv] = ingest(t, s, in)[0].ConversationID
			id = convs[e.conv]
			update(map[string]any{"team": f.team})
		case "agent":
			say(models.SenderAgent, false)
		case "note":
			say(models.SenderAgent, true)
		case "bot":
			say(models.SenderBot, false)
		case "resolve":
			update(map[string]any{"status": models.StatusResolved})
		case "deflect":
			update(map[string]any{"status": models.StatusResolved, "deflected": true})
		case "reopen":
			update(map[string]any{"status": models.StatusOpen})
		case "rate":
			if _, err = s.AskCSAT(ctx, id, now.Add(time.Hour)); err == nil {
				_, err = s.RateCSAT(ctx, id, e.step.n, now.Add(time.Hour))
			}
		case "clock":
			limit := time.Duration(e.step.n) * time.Minute
			_, err = s.StartClock(ctx, id, "first_response", now, now.Add(limit*8/10), now.Add(limit))
		case "breach":
			if _, err = s.MarkBreached(ctx, id, "first_response", now); err == nil {
				err = s.AddConversationEvent(ctx, id, models.EventTypeSLABreached, map[string]any{"id": models.ID(id), "clock": "first_response"})
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.step.what == "agent" {
			// Replies stop the first-response clock, as the SLA reaction does.
			if _, err := s.StopClocks(ctx, id, now, "first_response"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return t0
}

func ptr(v float64) *float64 { return &v }

// The report of a hand-counted fixture of 25 conversations (bot messages,
// notes, reopens, deflections, ratings, SLA breaches, three channels, two
// teams) agrees with the count field by field, on both databases; so do
// its team and channel filters.
func TestReportSummaryAgreesWithAHandCount(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		t0 := buildReportFixture(t, s, c)
		f := models.ReportFilter{From: t0, To: t0.Add(600 * time.Minute)}
		check := func(f models.ReportFilter, want models.ReportSummary) {
			t.Helper()
			got, err := s.ReportSummary(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			// The charts' series: TestReportSeriesAgreeWithTheSummary.
			got.ByDay, got.FirstResponseBuckets, got.ResolutionBuckets = nil, nil, nil
			want.From, want.To = f.From.UTC(), f.To.UTC()
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("report %+v:\n got %s\nwant %s", f, g, w)
			}
		}
		// Resolutions (minutes) C0 90, C1 20, C2 30, C4 5 (deflected), C5 20
		// and 50, C6 40, C7 20, C9 130, C10 5 (deflected), C11 20, C13 10,
		// C14 70, C15 10, C16 20, C17 30, C18 130, C19 2 (deflected): 18;
		// sorted 2 5 5 10 10 20 20 20 20 | 20 30 30 40 50 70 90 130 130:
		// median (rank 9) 20, p90 (rank 17) 130.
		// First responses: C1 5, C2 15, C3 10, C5 2 and 30, C6 20, C7 1,
		// C9 120, C11 3, C12 40, C13 4, C14 6, C16 8, C17 9, C18 7, C20 60,
		// C21 11: 17; sorted 1 2 3 4 5 6 7 8 9 10 11 15 20 30 40 60 120:
		// median (rank 9) 9, p90 (rank 16) 60.
		check(f, models.ReportSummary{
			Conversations: 22, Resolved: 18,
			FirstResponseSeconds: models.ReportDuration{Median: ptr(9 * 60), P90: ptr(60 * 60), Count: 17},
			ResolutionSeconds:    models.ReportDuration{Median: ptr(20 * 60), P90: ptr(130 * 60), Count: 18},
			CSAT: models.ReportCSAT{Average: ptr(3.43), Count: 7, // 5 1 4 3 5 4 2: 24/7
				Distribution: map[string]int{"1": 1, "2": 1, "3": 1, "4": 2, "5": 2}},
			DeflectionRate: ptr(3.0 / 18),
			SLA:            models.ReportSLA{Met: 2, Breached: 2},
			ByChannel:      map[string]int{"telegram": 11, "discord": 6, "wechat": 5},
			ByConnector:    map[string]int{"tg-main": 9, "tg-eu": 2, "dc-main": 6, "wx-main": 5},
			ByTeam:         map[string]int{"billing": 13, "risk": 9},
			Backlog:        8, // C3 C8 C12 C14 C20 C21 C22 C23
		})
		// Team risk: C6 C7 C8 C9 C10 C14 C16 C18 C21. First responses 20 1
		// 120 6 8 7 11: sorted 1 6 7 8 11 20 120, median 8, p90 (rank 7)
		// 120. Resolutions 40 20 130 5 70 20 130: sorted 5 20 20 40 70 130
		// 130, median 40, p90 130.
		risk := f
		risk.Team = "risk"
		check(risk, models.ReportSummary{
			Conversations: 9, Resolved: 7,
			FirstResponseSeconds: models.ReportDuration{Median: ptr(8 * 60), P90: ptr(120 * 60), Count: 7},
			ResolutionSeconds:    models.ReportDuration{Median: ptr(40 * 60), P90: ptr(130 * 60), Count: 7},
			CSAT: models.ReportCSAT{Average: ptr(3.67), Count: 3, // 5 1 5
				Distribution: map[string]int{"1": 1, "2": 0, "3": 0, "4": 0, "5": 2}},
			DeflectionRate: ptr(1.0 / 7),
			SLA:            models.ReportSLA{Met: 0, Breached: 2},
			ByChannel:      map[string]int{"telegram": 4, "discord": 2, "wechat": 3},
			ByConnector:    map[string]int{"tg-main": 4, "dc-main": 2, "wx-main": 3},
			ByTeam:         map[string]int{"risk": 9},
			Backlog:        3, // C8 C14 C21
		})
		// Channel discord: C4 C5 C10 C12 C16 C19. First responses 2 30 40
		// 8: median (rank 2) 8, p90 (rank 4) 40. Resolutions 5 20 50 5 20
		// 2: sorted 2 5 5 20 20 50, median (rank 3) 5, p90 (rank 6) 50.
		discord := f
		discord.Channel = models.ChannelDiscord
		check(discord, models.ReportSummary{
			Conversations: 6, Resolved: 6,
			FirstResponseSeconds: models.ReportDuration{Median: ptr(8 * 60), P90: ptr(40 * 60), Count: 4},
			ResolutionSeconds:    models.ReportDuration{Median: ptr(5 * 60), P90: ptr(50 * 60), Count: 6},
			CSAT: models.ReportCSAT{Average: ptr(5), Count: 1,
				Distribution: map[string]int{"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}},
			DeflectionRate: ptr(3.0 / 6),
			SLA:            models.ReportSLA{},
			ByChannel:      map[string]int{"discord": 6},
			ByConnector:    map[string]int{"dc-main": 6},
			ByTeam:         map[string]int{"billing": 4, "risk": 2}, // C4 C5 C12 C19; C10 C16
			Backlog:        1,                                       // C12
		})
		// A range with nothing in it: zero counts, null summaries.
		empty := models.ReportFilter{From: t0.Add(-48 * time.Hour), To: t0.Add(-47 * time.Hour)}
		check(empty, models.ReportSummary{
			CSAT:        models.ReportCSAT{Distribution: map[string]int{"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}},
			ByChannel:   map[string]int{},
			ByConnector: map[string]int{},
			ByTeam:      map[string]int{},
			Backlog:     8,
		})
	})
}
