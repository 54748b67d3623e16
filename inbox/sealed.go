package inbox

// offerSentApart is the inline answer to an unsealed link request (see
// models.Inbound.Sealed): the offer itself, which carries the code, went
// through the outbox to the customer's own chat.
func offerSentApart(zh bool) string {
	return pickLang(zh, "Your link code is on its way in a separate message.",
		"关联验证码将通过单独的消息发送给您。")
}
