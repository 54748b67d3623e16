package store

// SQLBotState is the bot's per-message question, for the plan test.
const SQLBotState = sqlBotState
