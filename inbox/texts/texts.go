// Package texts is the catalog of everything the hub says to customers, per
// language, with {placeholders}; operators override any text in config
// (bot.texts). It also decides a customer's language.
package texts

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Keys of the catalog. Each text may use the placeholders listed in
// Placeholders.
const (
	Welcome       = "welcome"
	ButtonHuman   = "button_human"
	ButtonLink    = "button_link"
	HumanQueued   = "human_queued"
	GotIt         = "got_it"
	LinkOffer     = "link_offer"
	LinkSentApart = "link_sent_apart"
	HandoffURL    = "handoff_url"
	HandoffQR     = "handoff_qr"
	HandoffCode   = "handoff_code"
	LinkInvalid   = "link_invalid"
	LinkLimited   = "link_limited"
	LinkPaused    = "link_paused"
	Linked        = "linked"
	LinkedAgain   = "linked_already"
	LinkedNoCase  = "linked_no_ticket"
	WhoAgentTeam  = "who_agent_team"
	WhoAgent      = "who_agent"
	WhoTeam       = "who_team"
	WhoNobody     = "who_nobody"
	StatusOpen    = "status_open"
	StatusPend    = "status_pending"
	StatusSnooze  = "status_snoozed"
	StatusDone    = "status_resolved"
	ReminderLead  = "reminder_intro"

	// The customer's journey: handoff to a human, the wait, FAQ answers.
	ButtonSolved  = "button_solved"
	QueuePosition = "queue_position"
	WaitEstimate  = "wait_estimate"
	WaitUnknown   = "wait_unknown"
	AgentsAway    = "agents_away"
	Minutes       = "duration_minutes"
	Hours         = "duration_hours"
	Solved        = "solved"
	DayMon        = "day_mon"
	DayTue        = "day_tue"
	DayWed        = "day_wed"
	DayThu        = "day_thu"
	DayFri        = "day_fri"
	DaySat        = "day_sat"
	DaySun        = "day_sun"

	// The rating after an agent resolved a conversation (inbox/csat.go).
	CSATAsk     = "csat_ask"
	CSATRetry   = "csat_retry"
	CSATComment = "csat_comment"
	CSATThanks  = "csat_thanks"
	ButtonSkip  = "button_skip"
)

// Agent helpers.
const (
	// NameUnknown is what a canned response's {name} becomes when the
	// customer has no name at all.
	NameUnknown = "name_unknown"
)

// Weekdays are the keys of the days' names, by time.Weekday (Sunday first).
var Weekdays = [7]string{DaySun, DayMon, DayTue, DayWed, DayThu, DayFri, DaySat}

// Placeholders lists, per key, the placeholders its texts may use.
var Placeholders = map[string][]string{
	Welcome: nil, ButtonHuman: nil, ButtonLink: nil, GotIt: nil,
	HumanQueued:   {"ticket"},
	ButtonSolved:  nil,
	QueuePosition: {"position"},
	WaitEstimate:  {"duration"},
	WaitUnknown:   nil,
	AgentsAway:    {"back"},
	Minutes:       {"n"},
	Hours:         {"n"},
	Solved:        {"ticket"},
	DayMon:        nil, DayTue: nil, DayWed: nil, DayThu: nil, DayFri: nil, DaySat: nil, DaySun: nil,
	LinkOffer:     {"code", "minutes"},
	LinkSentApart: nil,
	HandoffURL:    {"app", "url"},
	HandoffQR:     {"app", "url"},
	HandoffCode:   {"app", "name"},
	LinkInvalid:   {"left", "minutes"},
	LinkLimited:   nil,
	LinkPaused:    nil,
	Linked:        {"ticket", "problem", "status", "who"},
	LinkedAgain:   {"ticket", "problem", "status", "who"},
	LinkedNoCase:  nil,
	WhoAgentTeam:  {"agent", "team"},
	WhoAgent:      {"agent"},
	WhoTeam:       {"team"},
	WhoNobody:     nil,
	StatusOpen:    nil, StatusPend: nil, StatusSnooze: nil, StatusDone: nil,
	ReminderLead: {"left", "app", "window"},
	CSATAsk:      {"ticket"}, CSATRetry: nil, CSATComment: nil, CSATThanks: nil, ButtonSkip: nil,
	NameUnknown: nil,
}

// builtin holds the texts shipped with the hub.
var builtin = map[string]map[string]string{
	"en": {
		Welcome:       "Welcome! Write your question here at any time: we answer 24/7, and a human agent is one tap away.",
		ButtonHuman:   "Talk to a human",
		ButtonLink:    "Continue on another app",
		HumanQueued:   "Your ticket is #{ticket}. A human agent will answer you right here; add any details meanwhile.",
		ButtonSolved:  "This solved it",
		QueuePosition: "You are number {position} in the queue.",
		WaitEstimate:  "Lately the first answer has come in about {duration}.",
		WaitUnknown:   "We cannot estimate the wait yet: there is no history of answer times.",
		AgentsAway:    "Our agents are away now and back {back}; your ticket is kept and they will pick it up then.",
		Minutes:       "{n} min",
		Hours:         "{n} h",
		Solved:        "Glad it helped! Ticket #{ticket} is closed; write here any time if you need more.",
		DayMon:        "Monday", DayTue: "Tuesday", DayWed: "Wednesday", DayThu: "Thursday", DayFri: "Friday", DaySat: "Saturday", DaySun: "Sunday",
		GotIt:         "Got it.",
		LinkOffer:     "To continue this conversation on another app, send this code there: {code}\nIt works once, for {minutes} minutes. Never share it: it opens this conversation.",
		LinkSentApart: "Your link code is on its way in a separate message.",
		HandoffURL:    "• {app}: tap {url}",
		HandoffQR:     "• {app}: scan the QR code {url}",
		HandoffCode:   "• {app}: send the code to {name} in a direct message",
		LinkInvalid:   "If that was a link code, it did not work: it may be mistyped, used already or expired (codes last {minutes} minutes). Send \"link\" in the chat where you started to get a new one. Attempts left this hour: {left}.",
		LinkLimited:   "Too many wrong link codes were sent from this account, so linking is paused for an hour for your safety. You can keep writing here: an agent will read your messages.",
		LinkPaused:    "Too many wrong link codes were sent lately, so linking is paused for a few minutes for everyone's safety. Please try again later; you can keep writing here: an agent will read your messages.",
		Linked:        "This chat is now linked to your ticket #{ticket}: “{problem}”.\nStatus: {status}; {who}.\nJust write here: no need to repeat anything, and our replies now come here.",
		LinkedAgain:   "This chat is already linked to your ticket #{ticket}: “{problem}”.\nStatus: {status}; {who}.\nJust write here: no need to repeat anything, and our replies now come here.",
		LinkedNoCase:  "This chat is now linked to your account. Write here any time.",
		WhoAgentTeam:  "{agent} ({team} team) is handling it",
		WhoAgent:      "{agent} is handling it",
		WhoTeam:       "the {team} team has it",
		WhoNobody:     "it is waiting for the next free agent",
		StatusOpen:    "open",
		StatusPend:    "pending",
		StatusSnooze:  "snoozed",
		StatusDone:    "resolved",
		ReminderLead:  "We can answer you in this chat for about {left} more ({app} allows replies only for {window} after your last message).",
		CSATAsk:       "Ticket #{ticket} is resolved. How did we do? Rate us from 1 (poor) to 5 (excellent).",
		CSATRetry:     "Please rate us with a number from 1 to 5.",
		CSATComment:   "Thank you for your rating! Anything to add? Write it in one message.",
		CSATThanks:    "Thank you! Your feedback helps us improve. Write here any time if you need more.",
		ButtonSkip:    "Skip",
		NameUnknown:   "customer",
	},
	"zh": {
		Welcome:       "欢迎！随时在这里留言，我们 7×24 小时为您服务，一键即可转人工。",
		ButtonHuman:   "转人工",
		ButtonLink:    "在其他应用继续",
		HumanQueued:   "您的工单号是 #{ticket}。人工客服将在这里回复您，您可以继续补充问题。",
		ButtonSolved:  "已解决",
		QueuePosition: "您在人工队列中排第 {position} 位。",
		WaitEstimate:  "最近客服首次回复约需 {duration}。",
		WaitUnknown:   "暂无历史记录，还无法估计等待时间。",
		AgentsAway:    "客服现在不在线，将于{back}回来；您的工单会保留，届时由客服处理。",
		Minutes:       "{n} 分钟",
		Hours:         "{n} 小时",
		Solved:        "很高兴帮到您！工单 #{ticket} 已关闭，如需帮助可随时在这里留言。",
		DayMon:        "周一", DayTue: "周二", DayWed: "周三", DayThu: "周四", DayFri: "周五", DaySat: "周六", DaySun: "周日",
		GotIt:         "收到。",
		LinkOffer:     "要在其他应用继续本对话，请在那里发送验证码：{code}\n验证码 {minutes} 分钟内有效，仅可使用一次。请勿分享给他人。",
		LinkSentApart: "关联验证码将通过单独的消息发送给您。",
		HandoffURL:    "• {app}：点击 {url}",
		HandoffQR:     "• {app}：扫描二维码 {url}",
		HandoffCode:   "• {app}：私信 {name} 发送验证码",
		LinkInvalid:   "如果这是关联验证码，它无效：可能输错、已使用或已过期（有效期 {minutes} 分钟）。请在原对话中发送“绑定”获取新的验证码。本小时剩余尝试次数：{left}。",
		LinkLimited:   "此账号发送的错误验证码过多，为保护您的安全，关联功能暂停一小时。您仍可在这里留言，客服会查看。",
		LinkPaused:    "近期收到的错误验证码过多，为保护大家的安全，关联功能暂停几分钟，请稍后再试。您仍可在这里留言，客服会查看。",
		Linked:        "本对话已关联到您的工单 #{ticket}：“{problem}”。\n状态：{status}；{who}。\n请直接在这里继续，无需重复描述问题，我们的回复也会发到这里。",
		LinkedAgain:   "本对话已关联到您的工单 #{ticket}：“{problem}”。\n状态：{status}；{who}。\n请直接在这里继续，无需重复描述问题，我们的回复也会发到这里。",
		LinkedNoCase:  "本对话已关联到您的账号，您可以随时在这里留言。",
		WhoAgentTeam:  "由 {agent}（{team} 团队）负责",
		WhoAgent:      "由 {agent} 负责",
		WhoTeam:       "由 {team} 团队负责",
		WhoNobody:     "正在等待客服接手",
		StatusOpen:    "处理中",
		StatusPend:    "等待回复",
		StatusSnooze:  "稍后处理",
		StatusDone:    "已解决",
		ReminderLead:  "本对话还可回复约 {left}（{app} 只允许在您最后一条消息后 {window} 内回复）。",
		CSATAsk:       "工单 #{ticket} 已解决。我们的服务怎么样？请打 1（很差）到 5（很好）分。",
		CSATRetry:     "请用 1 到 5 之间的数字打分。",
		CSATComment:   "感谢您的评分！还有什么想补充的吗？请用一条消息告诉我们。",
		CSATThanks:    "谢谢！您的反馈帮助我们改进。如需帮助，可随时在这里留言。",
		ButtonSkip:    "跳过",
		NameUnknown:   "客户",
	},
	"it": {
		Welcome:       "Benvenuto! Scrivi qui la tua domanda quando vuoi: rispondiamo 24 ore su 24, 7 giorni su 7, e un operatore è a un tocco di distanza.",
		ButtonHuman:   "Parla con un operatore",
		ButtonLink:    "Continua su un'altra app",
		HumanQueued:   "Il tuo ticket è #{ticket}. Un operatore ti risponderà proprio qui; nel frattempo puoi aggiungere dettagli.",
		ButtonSolved:  "Ho risolto",
		QueuePosition: "Sei il numero {position} in coda.",
		WaitEstimate:  "Di recente la prima risposta è arrivata in circa {duration}.",
		WaitUnknown:   "Non possiamo ancora stimare l'attesa: non c'è uno storico dei tempi di risposta.",
		AgentsAway:    "I nostri operatori ora non ci sono e tornano {back}; il tuo ticket resta in coda e lo prenderanno allora.",
		Minutes:       "{n} min",
		Hours:         "{n} ore",
		Solved:        "Felici di esserti stati utili! Il ticket #{ticket} è chiuso; scrivi qui quando vuoi se ti serve altro.",
		DayMon:        "lunedì", DayTue: "martedì", DayWed: "mercoledì", DayThu: "giovedì", DayFri: "venerdì", DaySat: "sabato", DaySun: "domenica",
		GotIt:         "Ricevuto.",
		LinkOffer:     "Per continuare questa conversazione su un'altra app, invia lì questo codice: {code}\nFunziona una sola volta, per {minutes} minuti. Non condividerlo: apre questa conversazione.",
		LinkSentApart: "Il codice di collegamento ti arriva in un messaggio a parte.",
		HandoffURL:    "• {app}: tocca {url}",
		HandoffQR:     "• {app}: scansiona il codice QR {url}",
		HandoffCode:   "• {app}: invia il codice a {name} in un messaggio diretto",
		LinkInvalid:   "Se era un codice di collegamento, non ha funzionato: forse è sbagliato, già usato o scaduto (i codici durano {minutes} minuti). Scrivi \"collega\" nella chat in cui hai iniziato per averne uno nuovo. Tentativi rimasti in quest'ora: {left}.",
		LinkLimited:   "Da questo account sono arrivati troppi codici sbagliati, quindi il collegamento è sospeso per un'ora per la tua sicurezza. Puoi continuare a scrivere qui: un operatore leggerà i tuoi messaggi.",
		LinkPaused:    "Di recente sono arrivati troppi codici sbagliati, quindi il collegamento è sospeso per qualche minuto per la sicurezza di tutti. Riprova più tardi; puoi continuare a scrivere qui: un operatore leggerà i tuoi messaggi.",
		Linked:        "Questa chat è ora collegata al tuo ticket #{ticket}: “{problem}”.\nStato: {status}; {who}.\nScrivi pure qui: non serve ripetere nulla, e le nostre risposte arriveranno qui.",
		LinkedAgain:   "Questa chat è già collegata al tuo ticket #{ticket}: “{problem}”.\nStato: {status}; {who}.\nScrivi pure qui: non serve ripetere nulla, e le nostre risposte arriveranno qui.",
		LinkedNoCase:  "Questa chat è ora collegata al tuo account. Scrivi qui quando vuoi.",
		WhoAgentTeam:  "se ne occupa {agent} (team {team})",
		WhoAgent:      "se ne occupa {agent}",
		WhoTeam:       "se ne occupa il team {team}",
		WhoNobody:     "attende il primo operatore libero",
		StatusOpen:    "aperto",
		StatusPend:    "in attesa",
		StatusSnooze:  "rimandato",
		StatusDone:    "risolto",
		ReminderLead:  "Possiamo risponderti in questa chat ancora per circa {left} ({app} consente risposte solo per {window} dopo il tuo ultimo messaggio).",
		CSATAsk:       "Il ticket #{ticket} è risolto. Come siamo andati? Dai un voto da 1 (scarso) a 5 (ottimo).",
		CSATRetry:     "Dai un voto con un numero da 1 a 5.",
		CSATComment:   "Grazie per il voto! Vuoi aggiungere qualcosa? Scrivilo in un messaggio.",
		CSATThanks:    "Grazie! Il tuo parere ci aiuta a migliorare. Scrivi qui quando vuoi se ti serve altro.",
		ButtonSkip:    "Salta",
		NameUnknown:   "cliente",
	},
}

// Catalog is the built-in texts with the operator's overrides.
type Catalog struct {
	texts map[string]map[string]string
	// Default is the language of customers whose language is unknown.
	Default string
}

// New returns the built-in catalog with overrides applied (language → key
// → text) and def as the default language ("" means en). It refuses what
// Check refuses.
func New(def string, overrides map[string]map[string]string) (*Catalog, error) {
	if def == "" {
		def = "en"
	}
	if ps := Check(def, overrides); len(ps) > 0 {
		return nil, fmt.Errorf("bot texts: %s", strings.Join(ps, "; "))
	}
	c := &Catalog{texts: map[string]map[string]string{}, Default: def}
	for lang, m := range builtin {
		c.texts[lang] = maps.Clone(m)
	}
	for lang, m := range overrides {
		lang = Normalize(lang)
		if c.texts[lang] == nil {
			c.texts[lang] = map[string]string{}
		}
		maps.Copy(c.texts[lang], m)
	}
	return c, nil
}

var (
	langCode    = regexp.MustCompile(`^[a-z]{2,3}$`)
	placeholder = regexp.MustCompile(`\{[a-z_]+\}`)
)

// Check lists what is wrong with a default language and overrides, each
// problem as "path: message" (path relative to the bot section).
func Check(def string, overrides map[string]map[string]string) []string {
	var ps []string
	for _, lang := range slices.Sorted(maps.Keys(overrides)) {
		if !langCode.MatchString(lang) {
			ps = append(ps, fmt.Sprintf("texts.%s: %q is not a language code (two or three lower-case letters, such as en, zh, it)", lang, lang))
			continue
		}
		for _, key := range slices.Sorted(maps.Keys(overrides[lang])) {
			allowed, ok := Placeholders[key]
			if !ok {
				ps = append(ps, fmt.Sprintf("texts.%s.%s: unknown text (known: %s)", lang, key, strings.Join(Keys(), ", ")))
				continue
			}
			text := overrides[lang][key]
			if strings.TrimSpace(text) == "" {
				ps = append(ps, fmt.Sprintf("texts.%s.%s: is empty", lang, key))
			}
			for _, p := range placeholder.FindAllString(text, -1) {
				if !slices.Contains(allowed, strings.Trim(p, "{}")) {
					ps = append(ps, fmt.Sprintf("texts.%s.%s: unknown placeholder %s (this text may use: %s)", lang, key, p, placeholderList(allowed)))
				}
			}
		}
	}
	if def != "" {
		if !langCode.MatchString(def) {
			ps = append(ps, fmt.Sprintf("default_language: %q is not a language code", def))
		} else if builtin[def] == nil {
			var missing []string
			for _, k := range Keys() {
				if overrides[def][k] == "" {
					missing = append(missing, k)
				}
			}
			if len(missing) > 0 {
				ps = append(ps, fmt.Sprintf("default_language: %q has no built-in texts, so texts.%s must give every text; missing: %s", def, def, strings.Join(missing, ", ")))
			}
		}
	}
	return ps
}

func placeholderList(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = "{" + p + "}"
	}
	return strings.Join(out, ", ")
}

// Keys lists the catalog's keys, sorted.
func Keys() []string { return slices.Sorted(maps.Keys(Placeholders)) }

// Languages lists the languages that have texts, sorted.
func (c *Catalog) Languages() []string { return slices.Sorted(maps.Keys(c.texts)) }

// Has reports whether lang has its own texts.
func (c *Catalog) Has(lang string) bool { return c.texts[lang] != nil }

// Text returns key in lang with args ("name", value, …) filled in. A key
// the language lacks comes from the default language, then English.
func (c *Catalog) Text(lang, key string, args ...any) string {
	t, ok := c.texts[lang][key]
	if !ok {
		if t, ok = c.texts[c.Default][key]; !ok {
			t = builtin["en"][key]
		}
	}
	if len(args) == 0 {
		return t
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(t)
}

// Say renders key in each of langs (usually one), joined by a blank line:
// a customer whose language is unknown may be answered in two.
func (c *Catalog) Say(langs []string, key string, args ...any) string {
	return c.join(langs, "\n\n", key, args...)
}

// Label renders a short label (a button) in each of langs, joined by " / ".
func (c *Catalog) Label(langs []string, key string, args ...any) string {
	return c.join(langs, " / ", key, args...)
}

func (c *Catalog) join(langs []string, sep, key string, args ...any) string {
	if len(langs) == 0 {
		langs = []string{c.Default}
	}
	var out []string
	for _, l := range langs {
		if t := c.Text(l, key, args...); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return strings.Join(out, sep)
}

// Normalize turns a platform language code ("zh-hans", "zh_CN", "it-IT",
// "EN") into the catalog's ("zh", "it", "en").
func Normalize(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	if i := strings.IndexAny(code, "-_"); i >= 0 {
		code = code[:i]
	}
	return code
}

// Language decides a customer's language: the platform's language code
// when it gives one the catalog has, else the script of the text (Han:
// zh), else nothing (ok false: the caller falls back to a default).
func (c *Catalog) Language(platformCode, text string) (string, bool) {
	if l := Normalize(platformCode); l != "" && c.Has(l) {
		return l, true
	}
	if hasHan(text) && c.Has("zh") {
		return "zh", true
	}
	return "", false
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
