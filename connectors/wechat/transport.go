package wechat

import (
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// officialAPIHost is the host the SDK hard-codes in every API URL.
const officialAPIHost = "api.weixin.qq.com"

// sdkHTTPTimeout bounds every SDK call: the SDK's customer-message, media and
// QR calls take no context, so this is their only deadline.
const sdkHTTPTimeout = 20 * time.Second

// tokensPerApp bounds how many access tokens are remembered per AppID. WeChat
// keeps the previous token valid for 5 minutes after a new one is fetched, so
// a few are enough.
const tokensPerApp = 4

// apiRouter sends each SDK request to the api_url of the connector it belongs
// to. The SDK builds every URL on the official host; requests carry either
// appid= (token requests) or access_token= (every other call), which the
// router maps back to a connector's base URL. Unknown keys go to the official
// host unchanged.
type apiRouter struct {
	base http.RoundTripper

	mu       sync.RWMutex
	byApp    map[string]route
	byToken  map[string]*url.URL
	appToken map[string][]string
}

// route is one connector's registration of its AppID.
type route struct {
	base  *url.URL
	owner any
}

var (
	routerOnce sync.Once
	router     *apiRouter
)

// sharedRouter returns the process-wide router, installing it once as the
// SDK's util.DefaultHTTPClient. It replaces the client with a new one and
// never mutates the previous client's transport.
func sharedRouter() *apiRouter {
	routerOnce.Do(func() {
		router = &apiRouter{
			base:     http.DefaultTransport,
			byApp:    map[string]route{},
			byToken:  map[string]*url.URL{},
			appToken: map[string][]string{},
		}
		util.DefaultHTTPClient = &http.Client{Transport: router, Timeout: sdkHTTPTimeout}
	})
	return router
}

// registerApp routes requests of appID to base (nil base: the official host).
func (r *apiRouter) registerApp(appID string, base *url.URL, owner any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if base == nil {
		delete(r.byApp, appID)
		return
	}
	r.byApp[appID] = route{base: base, owner: owner}
}

// unregisterApp removes owner's registration of appID and its tokens.
func (r *apiRouter) unregisterApp(appID string, owner any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rt, ok := r.byApp[appID]; ok && rt.owner == owner {
		delete(r.byApp, appID)
		for _, tok := range r.appToken[appID] {
			delete(r.byToken, tok)
		}
		delete(r.appToken, appID)
	}
}

// learnToken routes requests carrying token to appID's base URL.
func (r *apiRouter) learnToken(appID, token string) {
	if token == "" {
		return
	}
	r.mu.RLock()
	rt, routed := r.byApp[appID]
	known := r.byToken[token] == rt.base
	r.mu.RUnlock()
	if !routed || known {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, routed = r.byApp[appID]
	if !routed {
		return
	}
	if _, seen := r.byToken[token]; !seen {
		toks := append(r.appToken[appID], token)
		if len(toks) > tokensPerApp {
			delete(r.byToken, toks[0])
			toks = toks[1:]
		}
		r.appToken[appID] = toks
	}
	r.byToken[token] = rt.base
}

// target returns the base URL for req, or nil to leave it unchanged.
func (r *apiRouter) target(req *http.Request) *url.URL {
	if req.URL.Host != officialAPIHost {
		return nil
	}
	q := req.URL.Query()
	r.mu.RLock()
	defer r.mu.RUnlock()
	if tok := q.Get("access_token"); tok != "" {
		return r.byToken[tok]
	}
	if app := q.Get("appid"); app != "" {
		if rt, ok := r.byApp[app]; ok {
			return rt.base
		}
	}
	return nil
}

// RoundTrip implements http.RoundTripper.
func (r *apiRouter) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.target(req)
	if base == nil {
		return r.base.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = base.Scheme
	out.URL.Host = base.Host
	out.Host = ""
	return r.base.RoundTrip(out)
}
