package inbox

import "testing"

func TestJoinSentences(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"Your ticket is #3.", "You are number 2 in the queue."}, "Your ticket is #3. You are number 2 in the queue."},
		{[]string{"您的工单号是 #3。", "您在人工队列中排第 2 位。", "暂无历史记录。"}, "您的工单号是 #3。您在人工队列中排第 2 位。暂无历史记录。"},
		{[]string{"Il tuo ticket è #2.", "Sei il numero 1 in coda."}, "Il tuo ticket è #2. Sei il numero 1 in coda."},
		{[]string{"one"}, "one"},
	} {
		if got := joinSentences(tc.parts); got != tc.want {
			t.Errorf("joinSentences(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
}
