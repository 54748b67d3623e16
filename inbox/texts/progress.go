package texts

// Visible progress: where a ticket stands (/status) and the pushes when an
// agent takes it or waits for the customer. Kept in a block of their own.
const (
	StatusReport    = "status_report"
	StatusNone      = "status_none"
	StatusLast      = "status_last"
	WhoBot          = "who_bot"
	WhoReplied      = "who_replied"
	PushAssigned    = "progress_assigned"
	PushPending     = "progress_pending"
	PushPendingAnon = "progress_pending_anonymous"
)

var progressPlaceholders = map[string][]string{
	StatusReport:    {"ticket", "status", "who"},
	StatusNone:      nil,
	StatusLast:      {"ticket", "status"},
	WhoBot:          nil,
	WhoReplied:      nil,
	PushAssigned:    {"agent", "ticket"},
	PushPending:     {"agent", "ticket"},
	PushPendingAnon: {"ticket"},
}

var progressTexts = map[string]map[string]string{
	"en": {
		StatusReport:    "Ticket #{ticket}: {status}; {who}.",
		StatusNone:      "You have no open ticket right now. Write your question here: we answer at once, and a human agent is one tap away.",
		StatusLast:      "Your last ticket #{ticket} is {status}.",
		WhoBot:          "our bot is answering you, and a human agent is one tap away",
		WhoReplied:      "an agent is handling it",
		PushAssigned:    "{agent} is on it (ticket #{ticket}).",
		PushPending:     "{agent} is waiting for your answer on ticket #{ticket}: just reply here.",
		PushPendingAnon: "Our agent is waiting for your answer on ticket #{ticket}: just reply here.",
	},
	"zh": {
		StatusReport:    "工单 #{ticket}：{status}；{who}。",
		StatusNone:      "您目前没有未完成的工单。请直接在这里留言：我们会立即回复，一键即可转人工。",
		StatusLast:      "您上一个工单 #{ticket} {status}。",
		WhoBot:          "目前由机器人为您解答，一键即可转人工",
		WhoReplied:      "客服正在处理",
		PushAssigned:    "{agent} 正在处理您的工单 #{ticket}。",
		PushPending:     "{agent} 正在等待您的回复（工单 #{ticket}），请直接在这里回复。",
		PushPendingAnon: "客服正在等待您的回复（工单 #{ticket}），请直接在这里回复。",
	},
	"it": {
		StatusReport:    "Ticket #{ticket}: {status}; {who}.",
		StatusNone:      "Non hai ticket aperti. Scrivi qui la tua domanda: rispondiamo subito, e un operatore è a un tocco di distanza.",
		StatusLast:      "Il tuo ultimo ticket #{ticket} è {status}.",
		WhoBot:          "ti sta rispondendo il nostro bot, e un operatore è a un tocco di distanza",
		WhoReplied:      "se ne occupa un operatore",
		PushAssigned:    "{agent} si sta occupando del tuo ticket #{ticket}.",
		PushPending:     "{agent} aspetta una tua risposta sul ticket #{ticket}: rispondi pure qui.",
		PushPendingAnon: "Il nostro operatore aspetta una tua risposta sul ticket #{ticket}: rispondi pure qui.",
	},
}

func init() {
	for k, p := range progressPlaceholders {
		Placeholders[k] = p
	}
	for lang, m := range progressTexts {
		for k, t := range m {
			builtin[lang][k] = t
		}
	}
}
