package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/tongdao/hub/configs"
	"github.com/tongdao/hub/sandbox/dcfake"
	"github.com/tongdao/hub/sandbox/tgfake"
	"github.com/tongdao/hub/sandbox/wxfake"
)

// Sandbox credentials: the stand-ins accept exactly these. They are not
// secrets: the stand-ins run on loopback only.
const (
	sandboxTGToken     = "7000000001:SANDBOX-telegram-bot-token-000000"
	sandboxTGSecret    = "sandbox-webhook-secret"
	sandboxWXAppID     = "wx5a4db0c0ffee0001"
	sandboxWXSecret    = "sandbox-wechat-app-secret"
	sandboxWXToken     = "sandboxtoken"
	sandboxWXAESKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	sandboxDiscordBot  = "sandbox-discord-bot-token"
	sandboxAdminName   = "sandbox-admin"
	sandboxConfigFile  = "sandbox.yaml"
	sandboxFAQFile     = "faq.yaml"
	sandboxDatabase    = "sandbox.db"
	sandboxDefaultAddr = "127.0.0.1:8080"
)

// Sandbox is the hub wired to protocol-faithful stand-ins of the three
// platforms, all on loopback.
type Sandbox struct {
	Main     *Main
	Telegram *tgfake.Server
	WeChat   *wxfake.Server
	Discord  *dcfake.Server
	// AdminToken is a fresh admin API token.
	AdminToken string
	// AgentTokens are fresh agent tokens of the example teams' members
	// (sandboxAgents), by name.
	AgentTokens map[string]string
}

// sandboxAgents are the members of the sandbox's example teams, in the
// order the welcome lists them.
var sandboxAgents = []struct{ name, team string }{{"ana", "billing"}, {"bo", "billing"}, {"cy", "risk"}, {"dee", "managers"}}

// StartSandbox starts the stand-ins and the hub (listening on listen, with
// its data in dir) and returns once everything is up.
func StartSandbox(ctx context.Context, listen, dir string, m *Main) (*Sandbox, error) {
	sb := &Sandbox{Main: m}
	ok := false
	defer func() {
		if !ok {
			sb.Close()
		}
	}()
	if m.Config == nil {
		m.Config = configs.Default()
	}
	m.Config.Server.Listen = listen
	if err := m.Listen(); err != nil {
		return nil, err
	}
	hub := m.URL()

	sb.Telegram = tgfake.New(tgfake.Options{Token: sandboxTGToken, Logger: m.Logger})
	// The WeChat stand-in shares the hub's clock: the connector refuses
	// pushes whose timestamp is more than 5 minutes off.
	sb.WeChat = wxfake.New(wxfake.Options{Logger: m.Logger, Now: m.Now, Accounts: []wxfake.Account{{
		AppID: sandboxWXAppID, AppSecret: sandboxWXSecret, Token: sandboxWXToken, EncodingAESKey: sandboxWXAESKey,
		Mode: wxfake.ModeSafe, WebhookURL: hub + "/webhooks/wx-sandbox"}}})
	sb.Discord = dcfake.New(dcfake.Options{BotToken: sandboxDiscordBot, Logger: m.Logger})
	if err := sb.Telegram.Start(ctx); err != nil {
		return nil, fmt.Errorf("telegram stand-in: %w", err)
	}
	if err := sb.WeChat.Start(ctx); err != nil {
		return nil, fmt.Errorf("wechat stand-in: %w", err)
	}
	if err := sb.Discord.Start(ctx); err != nil {
		return nil, fmt.Errorf("discord stand-in: %w", err)
	}

	// The sandbox's configuration is an ordinary config file, so newcomers
	// can read it and copy from it.
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	// The stand-ins start empty every run, so the sandbox's database does too
	// (and the printed steps, "conversation 1" included, hold).
	db := filepath.Join(dir, sandboxDatabase)
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	cfgPath := filepath.Join(dir, sandboxConfigFile)
	yaml := fmt.Sprintf(`# Written by 'hub sandbox': the hub wired to local stand-ins of the platforms.
server:
  listen: %q
  public_url: %q
database:
  driver: sqlite
  dsn: %q
media:
  # The stand-ins serve files on loopback; a real hub keeps this false.
  allow_private_fetch: true
connectors:
  - name: tg-sandbox
    type: telegram
    settings:
      token: %q
      mode: webhook
      webhook_secret: %q
      api_url: %q
  - name: wx-sandbox
    type: wechat
    settings:
      app_id: %q
      app_secret: %q
      token: %q
      mode: %s
      encoding_aes_key: %q
      api_url: %q
  - name: dc-sandbox
    type: discord
    settings:
      token: %q
      api_url: %q
      support_channels: [%q]
# What the bot answers by itself, at any hour: the example knowledge base
# (a copy of configs/faq.example.yaml).
bot:
  faq_file: %s
  faq_threshold: 0.5
# When agents work; outside these hours the bot says when they are back.
business_hours:
  timezone: Asia/Shanghai
  weekly: { mon: "09:00-18:00", tue: "09:00-18:00", wed: "09:00-18:00", thu: "09:00-18:00", fri: "09:00-18:00" }
  holidays: ["2026-10-01"]
%s`, listen, hub, filepath.Join(dir, sandboxDatabase), sandboxTGToken, sandboxTGSecret, sb.Telegram.URL(),
		sandboxWXAppID, sandboxWXSecret, sandboxWXToken, wxfake.ModeSafe, sandboxWXAESKey, sb.WeChat.URL(),
		sandboxDiscordBot, sb.Discord.URL(), dcfake.DefaultSupportChannelID, sandboxFAQFile, sandboxTeams+sandboxRouting)
	if err := os.WriteFile(filepath.Join(dir, sandboxFAQFile), configs.ExampleFAQ, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	cfg, err := configs.Load(cfgPath, func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("sandbox configuration:\n%w", err)
	}
	m.Config = cfg

	mux := http.NewServeMux()
	mux.Handle("/sandbox/telegram/", http.StripPrefix("/sandbox/telegram", sb.Telegram.CustomerAPI()))
	mux.Handle("/sandbox/wechat/", sb.WeChat.CustomerAPI())
	mux.Handle("/sandbox/discord/", http.StripPrefix("/sandbox/discord", sb.Discord.CustomerAPI()))
	m.Extra = mux
	if err := m.Run(ctx); err != nil {
		return nil, err
	}
	if sb.AdminToken, _, err = m.Store.CreateToken(ctx, sandboxAdminName, "admin"); err != nil {
		return nil, err
	}
	sb.AgentTokens = map[string]string{}
	for _, a := range sandboxAgents {
		if sb.AgentTokens[a.name], _, err = m.Store.CreateToken(ctx, a.name, "agent"); err != nil {
			return nil, err
		}
	}
	ok = true
	return sb, nil
}

// sandboxTeams are the sandbox's teams: the members are the agents whose
// tokens the sandbox makes (sandboxAgents).
const sandboxTeams = `# Agents' teams: members are API tokens' names; a conversation with a team
# goes at once to its least loaded online member (one with the console or
# another event stream open), else waits in the team's queue.
teams:
  - name: billing
    members: [ana, bo]
    capacity: 5
  - name: risk
    members: [cy]
  - name: managers
    members: [dee]
`

// sandboxRouting are the sandbox's routing rules and service levels (the
// contract's example), for its teams.
const sandboxRouting = `# Where new conversations go: the first rule that matches the opening
# message sets its team, priority and labels. No rule matched: no team (the
# sandbox sets no default_team), in the queue of every agent.
routing:
  - name: fraud
    when: { keywords: ["fraud", "frozen", "盗刷", "冻结", "truffa"] }
    then: { team: risk, priority: urgent, labels: [fraud] }
  - name: invoices
    when: { keywords: ["invoice", "发票", "fattura"], channel: wechat }
    then: { team: billing }
# Service levels, counted in business hours: at 80% the event sla.warning,
# at the end sla.breached and the priority one step up.
sla:
  - priority: urgent
    first_response: 10m
    next_response: 30m
    resolution: 4h
    escalate_to: managers
  - priority: normal
    first_response: 4h
    resolution: 72h
`

// Close stops the hub and the stand-ins.
func (sb *Sandbox) Close() {
	if sb.Main != nil {
		sb.Main.Close()
	}
	if sb.Telegram != nil {
		sb.Telegram.Close()
	}
	if sb.WeChat != nil {
		sb.WeChat.Close()
	}
	if sb.Discord != nil {
		sb.Discord.Close()
	}
}

func cmdSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sandbox")
	listen := fs.String("listen", sandboxDefaultAddr, "address of the hub")
	dir := fs.String("data", "data/sandbox", "directory for the sandbox's database and config")
	level := fs.String("log-level", "warn", "log level")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	sb, err := StartSandbox(ctx, *listen, *dir, &Main{Logger: log})
	if err != nil {
		return err
	}
	printWelcome(stdout, sb)
	<-ctx.Done()
	sb.Close()
	return nil
}

func printWelcome(w io.Writer, sb *Sandbox) {
	u := sb.Main.URL()
	var agents strings.Builder
	for _, a := range sandboxAgents {
		fmt.Fprintf(&agents, "  %-14s %s/#token=%s\n", a.name+" ("+a.team+")", u, sb.AgentTokens[a.name])
	}
	fmt.Fprintf(w, `Tongdao sandbox is running: the hub plus local stand-ins for Telegram, WeChat and Discord.

  Web console    %[1]s/#token=%[2]s
  API base URL   %[1]s/api/v1   (OpenAPI: %[1]s/api/v1/openapi.json)
  Admin token    %[2]s
  Config         %[3]s

Agents of the example teams (open a console as one of them: while it is open the agent is
online, and new conversations of their team are assigned to them at once):
%[4]s
Play the customer, then the agent (copy-paste):

  # 1. A Telegram customer writes to the bot
  curl -s -X POST %[1]s/sandbox/telegram/send -d '{"user_id": 1001, "name": "Ana Li", "text": "My order #42 has not arrived"}'
  # 1b. A WeChat customer writes (signed, AES-encrypted push) and a Discord user DMs the bot
  curl -s -X POST %[1]s/sandbox/wechat/send -d '{"openid": "oSandboxUser0001", "text": "我的订单还没到"}'
  curl -s -X POST %[1]s/sandbox/discord/dm -d '{"user_id": "900000000000000001", "username": "bo", "text": "hi, I need help"}'

  # 2. The agent sees one inbox
  curl -s -H "Authorization: Bearer %[2]s" %[1]s/api/v1/conversations

  # 3. The agent replies to conversation 1 (delivered through the outbox)
  curl -s -H "Authorization: Bearer %[2]s" -H "Content-Type: application/json" \
       -X POST %[1]s/api/v1/conversations/1/messages -d '{"text": "Sorry! It ships today."}'

  # 4. The customer's phone shows the reply
  curl -s "%[1]s/sandbox/telegram/sent?user_id=1001"

  # 5. The customer continues on WeChat without repeating anything: ask for a link code on
  #    Telegram, then send the code from WeChat (see docs/linking.md)
  curl -s -X POST %[1]s/sandbox/telegram/send -d '{"user_id": 1001, "name": "Ana Li", "text": "/link"}'
  curl -s "%[1]s/sandbox/telegram/sent?user_id=1001"      # the code, a WeChat QR and a Discord hint
  curl -s -X POST %[1]s/sandbox/wechat/send -d '{"openid": "oSandboxAna", "text": "<CODE>"}'
  curl -s "%[1]s/sandbox/wechat/sent?openid=oSandboxAna"  # the greeting: ticket, your words, who has it

  # 6. An urgent problem skips the line: with cy's console open (above), this goes to the
  #    risk team, priority urgent, and is assigned to cy at once
  curl -s -X POST %[1]s/sandbox/telegram/send -d '{"user_id": 1002, "name": "Wei", "text": "My account is frozen!"}'

  # 7. Customers send a photo and a voice note (sample files; "data" takes your own bytes, base64)
  curl -s -X POST %[1]s/sandbox/telegram/send -H 'Content-Type: application/json' -d '{"user_id": 1001, "name": "Ana Li", "photo": {}, "text": "The parcel arrived broken"}'
  curl -s -X POST %[1]s/sandbox/telegram/send -H 'Content-Type: application/json' -d '{"user_id": 1001, "voice": {"duration": 3}}'
  curl -s -X POST %[1]s/sandbox/wechat/image -H 'Content-Type: application/json' -d '{"openid": "oSandboxUser0001"}'
  curl -s -X POST %[1]s/sandbox/wechat/voice -H 'Content-Type: application/json' -d '{"openid": "oSandboxUser0001", "text": "包裹坏了，我要退货"}'
  curl -s -X POST %[1]s/sandbox/discord/dm -H 'Content-Type: application/json' -d '{"user_id": "900000000000000001", "username": "bo", "photo": {}}'
  curl -s -X POST %[1]s/sandbox/discord/dm -H 'Content-Type: application/json' -d '{"user_id": "900000000000000001", "username": "bo", "voice": {"duration": 2}}'
  #    The console shows the photos and plays the voice notes; an agent sends a file back
  #    (the console's Attach button, drag-and-drop or paste does the same):
  curl -s -H "Authorization: Bearer %[2]s" -F text="Here is your return label" -F file=@README.md %[1]s/api/v1/conversations/1/messages
  #    Files an agent sends show in /sent; /sandbox/telegram/file?file_id=…, /sandbox/wechat/media?media_id=…
  #    and /sandbox/discord/file?attachment_id=… give their bytes.

  # Live events (Server-Sent Events)
  curl -N -H "Authorization: Bearer %[2]s" %[1]s/api/v1/events

Press Ctrl-C to stop.
`, u, sb.AdminToken, filepath.Join(filepath.Dir(sb.Main.Config.Database.DSN), sandboxConfigFile), agents.String())
}
