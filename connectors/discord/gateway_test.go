package discord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/dcfake"
)

const testToken = "MTMwMDAwMDAwMDAwMDAwMDEwMA.GsandB.test-token"

// strictDecoder decodes YAML settings the way the hub does: unknown keys fail.
func strictDecoder(y string) func(any) error {
	return func(v any) error {
		d := yaml.NewDecoder(strings.NewReader(y))
		d.KnownFields(true)
		if err := d.Decode(v); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	}
}

type recordingSink struct {
	mu   sync.Mutex
	ins  []models.Inbound
	ch   chan models.Inbound
	fail func(models.Inbound) error
}

func newSink() *recordingSink { return &recordingSink{ch: make(chan models.Inbound, 1000)} }

func (s *recordingSink) Ingest(ctx context.Context, in models.Inbound) (models.IngestResult, error) {
	if s.fail != nil {
		if err := s.fail(in); err != nil {
			return models.IngestResult{}, err
		}
	}
	s.mu.Lock()
	s.ins = append(s.ins, in)
	s.mu.Unlock()
	s.ch <- in
	return models.IngestResult{MessageID: "m-" + in.ExternalID}, nil
}

// next waits for the next inbound.
func (s *recordingSink) next(t *testing.T) models.Inbound {
	t.Helper()
	return wait.Recv(t, "an inbound", s.ch)
}

type env struct {
	srv    *dcfake.Server
	conn   *Connector
	sink   *recordingSink
	cancel context.CancelFunc
	runErr chan error
}

type envOpts struct {
	settings string // extra YAML lines
	token    string
	server   dcfake.Options
	noWait   bool
	now      func() time.Time // default time.Now
}

func startEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	so := o.server
	so.BotToken = testToken
	// Heartbeats keep Discord's real interval (41.25 s) unless a test asks
	// for more: discordgo drops a connection whose ACK is five intervals
	// late, and on a loaded machine under -race a short interval makes
	// that happen mid-test. TestHeartbeatsSent covers heartbeats.
	if so.InteractionDeadline == 0 {
		// Discord's 3 s is a real deadline; a test must not fail because
		// a busy machine took longer. TestInteractionDeadline in dcfake
		// covers lateness with a settable clock.
		so.InteractionDeadline = wait.Timeout
	}
	srv := dcfake.New(so)
	// The stand-in outlives Run: it stops in the cleanup, after Run returned.
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	tok := o.token
	if tok == "" {
		tok = testToken
	}
	now := o.now
	if now == nil {
		now = time.Now
	}
	y := fmt.Sprintf("token: %q\napi_url: %q\nsupport_channels: [%q]\n%s", tok, srv.URL(), dcfake.DefaultSupportChannelID, o.settings)
	cn, err := New(connectors.Config{
		Name:   "dc-test",
		Decode: strictDecoder(y),
		Deps:   connectors.Deps{Logger: testLogger(), Now: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := cn.(*Connector)
	c.backoff = func(int) time.Duration { return 20 * time.Millisecond }
	c.ingestPause = 10 * time.Millisecond
	e := &env{srv: srv, conn: c, sink: newSink(), cancel: cancel, runErr: make(chan error, 1)}
	go func() { e.runErr <- c.Run(ctx, e.sink) }()
	t.Cleanup(func() {
		cancel()
		wait.Recv(t, "Run to return after cancel", e.runErr)
	})
	if !o.noWait {
		if err := srv.WaitConnected(wait.Context(t)); err != nil {
			t.Fatalf("gateway not connected: %v", err)
		}
	}
	return e
}

var alice = dcfake.User{ID: "210000000000000001", Username: "alice", GlobalName: "Alice Liddell"}
var bob = dcfake.User{ID: "210000000000000002", Username: "bob"}

func TestDMReachesSink(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	ctx := context.Background()
	m, err := e.srv.SendDM(ctx, alice, "/start promo-42")
	if err != nil {
		t.Fatal(err)
	}
	in := e.sink.next(t)
	if in.ExternalID != m.ID || in.ReplyTo != m.ChannelID || in.Channel != "discord" || in.Connector != "dc-test" {
		t.Errorf("ids: %+v (message %+v)", in, m)
	}
	if in.From.ExternalID != alice.ID || in.From.DisplayName != "Alice Liddell" || in.From.Username != "alice" {
		t.Errorf("from: %+v", in.From)
	}
	if in.Kind != models.KindMessage || in.Text != "/start promo-42" || in.Command != "start" || in.Payload != "promo-42" {
		t.Errorf("text: %+v", in)
	}
	if !in.SentAt.Equal(m.Timestamp.Truncate(time.Microsecond)) {
		t.Errorf("SentAt %v, want %v", in.SentAt, m.Timestamp)
	}
	st := e.srv.Stats()
	if st.Intents != int64(Intents) {
		t.Errorf("intents %d, want %d", st.Intents, Intents)
	}
	if !st.Compress {
		t.Errorf("discordgo asked for compress=false; the zlib path was not exercised")
	}
}

func TestSupportChannelOpensThreadAndThreadMessagesFollow(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	ctx := context.Background()

	first, err := e.srv.PostInChannel(ctx, "", alice, "my order is late")
	if err != nil {
		t.Fatal(err)
	}
	in := e.sink.next(t)
	if in.ExternalID != first.ID || in.ReplyTo != first.ID {
		t.Fatalf("support message: ReplyTo %q, want the thread id %q", in.ReplyTo, first.ID)
	}
	threads := e.srv.Threads()
	if len(threads) != 1 || threads[0].ID != in.ReplyTo || threads[0].ParentID != dcfake.DefaultSupportChannelID {
		t.Fatalf("threads: %+v", threads)
	}

	// Noise that must be ignored: another channel, another bot, our own reply.
	if _, err := e.srv.PostInChannel(ctx, dcfake.DefaultGeneralChannelID, bob, "off topic"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Post(ctx, dcfake.CustomerMessage{ChannelID: in.ReplyTo, User: dcfake.User{ID: "220000000000000009", Username: "otherbot", Bot: true}, Text: "beep"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.conn.Send(ctx, models.Outbound{MessageID: "41", To: alice.ID, ReplyTo: in.ReplyTo, Text: "We are on it."}); err != nil {
		t.Fatal(err)
	}

	// Forget the thread so that the REST lookup path is used.
	e.conn.mu.Lock()
	delete(e.conn.supportThread, in.ReplyTo)
	e.conn.mu.Unlock()
	second, err := e.srv.PostInChannel(ctx, in.ReplyTo, alice, "order 1234")
	if err != nil {
		t.Fatal(err)
	}
	in2 := e.sink.next(t)
	if in2.ExternalID != second.ID || in2.ReplyTo != in.ReplyTo || in2.From.ExternalID != alice.ID {
		t.Fatalf("thread message: %+v", in2)
	}
	marker, _ := e.srv.SendDM(ctx, bob, "marker")
	if got := e.sink.next(t); got.ExternalID != marker.ID {
		t.Fatalf("an ignored message reached the sink: %+v", got)
	}
	sent := e.srv.Sent(alice.ID)
	if len(sent) != 1 || sent[0].Content != "We are on it." || sent[0].ChannelID != in.ReplyTo {
		t.Errorf("sent to alice: %+v", sent)
	}
}

func TestSupportReplyDM(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{settings: "support_reply: dm\n"})
	ctx := context.Background()
	if _, err := e.srv.PostInChannel(ctx, "", bob, "hello?"); err != nil {
		t.Fatal(err)
	}
	in := e.sink.next(t)
	if in.ReplyTo != "" || len(e.srv.Threads()) != 0 {
		t.Fatalf("dm mode: ReplyTo %q, threads %v", in.ReplyTo, e.srv.Threads())
	}
	res, err := e.conn.Send(ctx, models.Outbound{MessageID: "7", To: in.From.ExternalID, Text: "Hi Bob"})
	if err != nil {
		t.Fatal(err)
	}
	sent := e.srv.Sent(bob.ID)
	if len(sent) != 1 || res.ReplyTo != sent[0].ChannelID || res.ExternalID != sent[0].ID {
		t.Fatalf("result %+v, sent %+v", res, sent)
	}
}

func TestSendSplitButtonsEmbedsAndClick(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	ctx := context.Background()
	dm, _ := e.srv.SendDM(ctx, alice, "hi")
	e.sink.next(t)

	var b strings.Builder
	for i := 0; b.Len() < 4500; i++ {
		fmt.Fprintf(&b, "line %04d of a long answer\n", i)
	}
	text := strings.TrimSuffix(b.String(), "\n")
	var buttons []models.Button
	for i := 1; i <= 7; i++ {
		buttons = append(buttons, models.Button{ID: fmt.Sprintf("csat:%d", i), Label: fmt.Sprintf("%d ★", i)})
	}
	res, err := e.conn.Send(ctx, models.Outbound{
		MessageID: "100", To: alice.ID, ReplyTo: dm.ChannelID, Text: text, Buttons: buttons,
		Attachments: []models.Attachment{{Type: "image", URL: "https://files.example/a.png"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sent := e.srv.Sent(alice.ID)
	if len(sent) != 3 {
		t.Fatalf("%d parts, want 3", len(sent))
	}
	var joined []string
	for i, m := range sent {
		if n := len([]rune(m.Content)); n > 2000 {
			t.Errorf("part %d has %d characters", i, n)
		}
		joined = append(joined, m.Content)
		if i < 2 && (len(m.Buttons) != 0 || len(m.Embeds) != 0) {
			t.Errorf("part %d carries buttons or embeds", i)
		}
	}
	if strings.Join(joined, "") != text {
		t.Error("parts do not join back into the text")
	}
	for i, p := range joined[:2] {
		if !strings.HasSuffix(p, "\n") {
			t.Errorf("part %d is not cut at a line end", i)
		}
	}
	last := sent[2]
	if res.ExternalID != last.ID || res.ReplyTo != "" {
		t.Errorf("result %+v, last %s", res, last.ID)
	}
	if len(last.Buttons) != 7 || last.Buttons[5].Row != 1 || last.Buttons[6].CustomID != "csat:7" || last.Buttons[0].Style != 1 {
		t.Errorf("buttons: %+v", last.Buttons)
	}
	if len(last.Embeds) != 1 || last.Embeds[0].ImageURL != "https://files.example/a.png" {
		t.Errorf("embeds: %+v", last.Embeds)
	}

	ix, err := e.srv.Click(ctx, alice.ID, last.ID, "csat:5")
	if err != nil {
		t.Fatal(err)
	}
	in := e.sink.next(t)
	if in.Kind != models.KindAction || in.Action != "csat:5" || in.ExternalID != "ix:"+ix.ID ||
		in.From.ExternalID != alice.ID || in.ReplyTo != dm.ChannelID || in.Text != "5 ★" || in.From.Language != "en-US" {
		t.Fatalf("action inbound: %+v", in)
	}
	wait.For(t, "the interaction to be answered", func() bool { return e.srv.Interactions()[0].Answered })
	if got := e.srv.Interactions()[0]; got.Late || got.CallbackType != 6 {
		t.Errorf("interaction answer: %+v", got)
	}
}

func TestSendIsIdempotentPerMessageID(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	ctx := context.Background()
	dm, _ := e.srv.SendDM(ctx, alice, "hi")
	e.sink.next(t)
	out := models.Outbound{MessageID: "55", To: alice.ID, ReplyTo: dm.ChannelID, Text: "only once"}
	r1, err1 := e.conn.Send(ctx, out)
	r2, err2 := e.conn.Send(ctx, out)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if r1.ExternalID != r2.ExternalID || len(e.srv.Sent(alice.ID)) != 1 {
		t.Errorf("retry posted twice: %v %v, sent %d", r1, r2, len(e.srv.Sent(alice.ID)))
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	ctx := context.Background()
	dm, _ := e.srv.SendDM(ctx, alice, "hi")
	e.sink.next(t)
	_, _ = e.srv.SendDM(ctx, bob, "hi")
	e.sink.next(t)

	check := func(name string, err error, permanent, unreachable bool, code string) {
		t.Helper()
		var de *models.DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("%s: %v is not a DeliveryError", name, err)
		}
		if de.Permanent != permanent || de.Unreachable != unreachable || de.Code != code {
			t.Errorf("%s: %+v", name, de)
		}
	}

	e.srv.CloseDMs(bob.ID)
	_, err := e.conn.Send(ctx, models.Outbound{MessageID: "1", To: bob.ID, Text: "x"})
	check("open DM, DMs closed", err, true, true, "50007")
	if !strings.Contains(err.Error(), "DMs closed") {
		t.Errorf("reason: %v", err)
	}

	e.srv.CloseDMs(alice.ID)
	_, err = e.conn.Send(ctx, models.Outbound{MessageID: "2", To: alice.ID, ReplyTo: dm.ChannelID, Text: "x"})
	check("existing DM, DMs closed", err, true, true, "50007")

	carol := dcfake.User{ID: "210000000000000003", Username: "carol"}
	_, _ = e.srv.SendDM(ctx, carol, "hi")
	e.sink.next(t)
	e.srv.FailNext(dcfake.Failure{Method: "POST", Path: "/users/@me/channels", Code: 40003})
	_, err = e.conn.Send(ctx, models.Outbound{MessageID: "3", To: carol.ID, Text: "x"})
	check("40003", err, true, false, "40003")

	_, err = e.conn.Send(ctx, models.Outbound{MessageID: "4", To: carol.ID, ReplyTo: "999999999999999999", Text: "x"})
	check("unknown channel", err, true, false, "10003")

	e.srv.FailNext(dcfake.Failure{Method: "POST", Path: "/channels/", Status: 500})
	_, err = e.conn.Send(ctx, models.Outbound{MessageID: "5", To: carol.ID, Text: "x"})
	check("500", err, false, false, "")

	_, err = e.conn.Send(ctx, models.Outbound{MessageID: "6", To: carol.ID, Text: "x", Buttons: []models.Button{{ID: strings.Repeat("x", 101), Label: "ok"}}})
	check("custom_id too long", err, true, false, "")
}

func TestRateLimitIsHonoured(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	ctx := context.Background()
	dm, _ := e.srv.SendDM(ctx, alice, "hi")
	e.sink.next(t)
	e.srv.FailNext(dcfake.Failure{Method: "POST", Path: "/channels/" + dm.ChannelID + "/messages", Status: 429, RetryAfter: 300 * time.Millisecond})
	start := time.Now()
	res, err := e.conn.Send(ctx, models.Outbound{MessageID: "9", To: alice.ID, ReplyTo: dm.ChannelID, Text: "after the limit"})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("retried after %v, before retry_after", el)
	}
	var statuses []int
	for _, r := range e.srv.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/messages") {
			statuses = append(statuses, r.Status)
		}
	}
	if fmt.Sprint(statuses) != "[429 200]" {
		t.Errorf("message requests: %v", statuses)
	}
	if sent := e.srv.Sent(alice.ID); len(sent) != 1 || sent[0].ID != res.ExternalID {
		t.Errorf("sent: %+v", sent)
	}
}

// burst sends n DMs from distinct users and calls mid after half of them.
func burst(t *testing.T, e *env, n int, mid func()) map[string]bool {
	t.Helper()
	ctx := context.Background()
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		if i == n/2 {
			mid()
		}
		u := dcfake.User{ID: fmt.Sprintf("23000000000000%04d", i), Username: fmt.Sprintf("u%d", i)}
		m, err := e.srv.SendDM(ctx, u, fmt.Sprintf("msg %d", i))
		if err != nil {
			t.Fatal(err)
		}
		want[m.ID] = true
	}
	return want
}

func expectExactly(t *testing.T, e *env, want map[string]bool) {
	t.Helper()
	got := map[string]int{}
	for range want {
		in := e.sink.next(t)
		got[in.ExternalID]++
	}
	// Anything extra (a duplicate) would arrive right behind.
	marker, _ := e.srv.SendDM(context.Background(), bob, "marker")
	if in := e.sink.next(t); in.ExternalID != marker.ID {
		t.Errorf("unexpected extra inbound %s (%q)", in.ExternalID, in.Text)
	}
	for id := range want {
		if got[id] != 1 {
			t.Errorf("message %s delivered %d times", id, got[id])
		}
	}
}

func TestReconnectMidBurstLosesNothing(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	want := burst(t, e, 20, func() {
		if err := e.srv.Reconnect(); err != nil {
			t.Fatal(err)
		}
	})
	expectExactly(t, e, want)
	if st := e.srv.Stats(); st.Resumes < 1 || st.Identifies != 1 {
		t.Errorf("stats after op 7: %+v", st)
	}
}

func TestDroppedConnectionResumes(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	want := burst(t, e, 10, func() {
		if err := e.srv.DropConnection(); err != nil {
			t.Fatal(err)
		}
	})
	expectExactly(t, e, want)
	if st := e.srv.Stats(); st.Resumes < 1 {
		t.Errorf("no resume: %+v", st)
	}
}

func TestInvalidSessionReidentifies(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	if err := e.srv.InvalidateSession(false); err != nil {
		t.Fatal(err)
	}
	m, _ := e.srv.SendDM(context.Background(), alice, "after op 9")
	if in := e.sink.next(t); in.ExternalID != m.ID {
		t.Fatalf("got %+v", in)
	}
	if st := e.srv.Stats(); st.Identifies != 2 {
		t.Errorf("identifies %d, want 2", st.Identifies)
	}
}

func runError(t *testing.T, e *env) error {
	t.Helper()
	err := wait.Recv(t, "Run to return", e.runErr)
	e.runErr <- err // for the cleanup
	return err
}

func TestDisallowedIntentStopsRun(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{server: dcfake.Options{DisallowMessageContent: true}, noWait: true})
	err := runError(t, e)
	if err == nil || !strings.Contains(err.Error(), "enable the Message Content intent") {
		t.Fatalf("Run: %v", err)
	}
}

func TestCloseWith4014MidSessionStopsRun(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	if err := e.srv.CloseWith(dcfake.CloseDisallowedIntents); err != nil {
		t.Fatal(err)
	}
	if err := runError(t, e); err == nil || !strings.Contains(err.Error(), "4014") {
		t.Fatalf("Run: %v", err)
	}
}

func TestWrongTokenStopsRun(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{token: "not-the-token", noWait: true})
	if err := runError(t, e); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("Run: %v", err)
	}
	if strings.Contains(fmt.Sprint(runError(t, e)), "not-the-token") {
		t.Error("the token leaks into the error")
	}
}

func TestRunReturnsNilOnCancel(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	e.cancel()
	if err := runError(t, e); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if codes := e.srv.Stats().ClientCloseCodes; len(codes) != 1 || codes[0] != 1000 {
		t.Errorf("close codes %v, want [1000]", codes)
	}
}

// TestHeartbeatsSent: the connection heartbeats at the interval HELLO gives
// (the stand-in acknowledges each). It asserts no latency: a late ACK only
// makes discordgo reconnect, and heartbeats go on after that.
func TestHeartbeatsSent(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{server: dcfake.Options{HeartbeatInterval: 50 * time.Millisecond}})
	wait.For(t, "three heartbeats", func() bool { return e.srv.Stats().Heartbeats >= 3 })
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
