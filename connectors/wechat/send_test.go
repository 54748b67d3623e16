package wechat

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"

	"github.com/tongdao/hub/models"
)

func TestParseChoice(t *testing.T) {
	tests := map[string]int{"1": 1, " 2 ": 2, "3.": 3, "１": 1, "１２": 12, "0": 0, "": 0, "1a": 0, "-1": 0, "101": 0, "一": 0}
	for in, want := range tests {
		got, ok := parseChoice(in)
		if ok != (want > 0) || got != want {
			t.Errorf("parseChoice(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

func TestClassify(t *testing.T) {
	c := &Connector{log: quietLogger(), kv: newMemKV(newClock().Now)}
	tests := []struct {
		err         error
		code        string
		permanent   bool
		unreachable bool
	}{
		{fmt.Errorf("customer msg send error : errcode=45015 , errmsg=response out of time limit"), "45015", true, true},
		{fmt.Errorf("customer msg send error : errcode=45047 , errmsg=out of response count limit"), "45047", true, false},
		{fmt.Errorf("customer msg send error : errcode=43004 , errmsg=require subscribe"), "43004", true, true},
		{fmt.Errorf("customer msg send error : errcode=40001 , errmsg=invalid credential"), "40001", false, false},
		{fmt.Errorf("customer msg send error : errcode=42001 , errmsg=access_token expired"), "42001", false, false},
		{fmt.Errorf("customer msg send error : errcode=-1 , errmsg=system error"), "-1", false, false},
		{util.NewCommonError("GetTicket", 45009, "quota"), "45009", false, false},
		{errors.New(`Post "https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=SECRET": dial tcp: timeout`), "", false, false},
	}
	for _, tc := range tests {
		err := c.classify(tc.err)
		var de *models.DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("%v: not a DeliveryError", tc.err)
		}
		if de.Code != tc.code || de.Permanent != tc.permanent || de.Unreachable != tc.unreachable || de.Reason == "" {
			t.Errorf("%v → %+v", tc.err, de)
		}
		if strings.Contains(de.Error(), "SECRET") {
			t.Errorf("reason leaks the access token: %s", de.Error())
		}
	}
}

func TestRedact(t *testing.T) {
	in := `Get "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=TOPSECRET": x; uri=https://h/?access_token=TOKEN123 , statusCode=500`
	out := redactString(in)
	if strings.Contains(out, "TOPSECRET") || strings.Contains(out, "TOKEN123") || !strings.Contains(out, "appid=wx1") {
		t.Fatalf("redacted = %q", out)
	}
}

func TestRouterTarget(t *testing.T) {
	r := &apiRouter{byApp: map[string]route{}, byToken: map[string]*url.URL{}, appToken: map[string][]string{}}
	base, _ := url.Parse("http://127.0.0.1:1")
	owner := new(int)
	r.registerApp("wxA", base, owner)
	for i := range tokensPerApp + 2 {
		r.learnToken("wxA", fmt.Sprintf("tok%d", i))
	}
	r.learnToken("wxUnknown", "stray")
	tests := []struct {
		url  string
		want bool
	}{
		{"https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wxA&secret=s", true},
		{"https://api.weixin.qq.com/cgi-bin/token?appid=wxB", false},
		{fmt.Sprintf("https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=tok%d", tokensPerApp+1), true},
		{"https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=tok0", false}, // evicted
		{"https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=stray", false},
		{"https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=x&appid=wxA", false},
	}
	for _, tc := range tests {
		got := r.target(httptest.NewRequest("GET", tc.url, nil))
		if (got != nil) != tc.want {
			t.Errorf("%s routed = %v, want %v", tc.url, got, tc.want)
		}
	}
	r.unregisterApp("wxA", new(int)) // another owner: no effect
	if r.target(httptest.NewRequest("GET", "https://api.weixin.qq.com/cgi-bin/token?appid=wxA", nil)) == nil {
		t.Fatal("unregister by another owner removed the route")
	}
	r.unregisterApp("wxA", owner)
	if r.target(httptest.NewRequest("GET", "https://api.weixin.qq.com/cgi-bin/token?appid=wxA", nil)) != nil {
		t.Fatal("route survived unregister")
	}
}

// Building a connector (check-config, a reload that is then rejected) must
// not reroute the API requests of a running connector of the same account.
func TestBuildingAConnectorDoesNotReroute(t *testing.T) {
	clock := newClock()
	s := Settings{AppID: "wx00routeonuse0000", AppSecret: "secret", Token: "tok123", APIURL: "http://127.0.0.1:1"}
	running := newTestConnector(t, "wx-running", s, clock, newMemKV(clock.Now))
	running.route() // as Run and Send do
	s.APIURL = "http://127.0.0.1:2"
	newTestConnector(t, "wx-validated", s, clock, newMemKV(clock.Now)) // built, never used
	got := running.router.target(httptest.NewRequest("GET", "https://api.weixin.qq.com/cgi-bin/token?appid=wx00routeonuse0000", nil))
	if got == nil || got.Host != "127.0.0.1:1" {
		t.Fatalf("requests of the running connector go to %v, want 127.0.0.1:1", got)
	}
}
