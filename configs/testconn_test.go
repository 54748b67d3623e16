package configs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
)

// testSettings is the typed settings of the "testconn" connector type the
// tests register: flat keys, a nested struct, a list of structs, a duration.
type testSettings struct {
	Token         string        `yaml:"token"`
	Mode          string        `yaml:"mode"`
	WebhookSecret string        `yaml:"webhook_secret"`
	APIURL        string        `yaml:"api_url"`
	Limits        testLimits    `yaml:"limits"`
	Channels      []testChannel `yaml:"channels"`
	Timeout       time.Duration `yaml:"timeout"`
}

type testLimits struct {
	PerSecond int `yaml:"per_second"`
	Burst     int `yaml:"burst"`
}

type testChannel struct {
	ID    string `yaml:"id"`
	Reply bool   `yaml:"reply"`
}

// testConn is a connector that only remembers its settings.
type testConn struct {
	name     string
	settings testSettings
	deps     connectors.Deps
	closed   bool
}

func (c *testConn) Name() string { return c.name }

func (c *testConn) Run(ctx context.Context, _ connectors.Sink) error {
	<-ctx.Done()
	return nil
}

func (c *testConn) Send(context.Context, models.Outbound) (models.SendResult, error) {
	return models.SendResult{}, errors.New("testconn cannot send")
}

func (c *testConn) Close() error {
	c.closed = true
	return nil
}

var (
	builtMu sync.Mutex
	// built records the last connector built per name, for assertions.
	built = map[string]*testConn{}
)

// newTestConn is the factory: strict decode and its own validation, every
// problem joined. Like a careless real factory, one message quotes the
// token, so the tests can check that Validate masks it.
func newTestConn(cfg connectors.Config) (connectors.Connector, error) {
	c := &testConn{name: cfg.Name, deps: cfg.Deps, settings: testSettings{Mode: "polling"}}
	// Like the real factories, go on validating after a decode problem.
	errs := []error{cfg.Decode(&c.settings)}
	switch {
	case c.settings.Token == "":
		errs = append(errs, errors.New("token is required"))
	case !strings.Contains(c.settings.Token, ":"):
		errs = append(errs, fmt.Errorf("token %q is malformed: expected <id>:<secret>", c.settings.Token))
	}
	if c.settings.Limits.Burst < 0 {
		errs = append(errs, errors.New("limits.burst: must not be negative"))
	}
	if c.settings.Mode != "polling" && c.settings.Mode != "webhook" {
		errs = append(errs, errors.New("mode must be polling or webhook"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	builtMu.Lock()
	built[cfg.Name] = c
	builtMu.Unlock()
	return c, nil
}

func builtConn(name string) *testConn {
	builtMu.Lock()
	defer builtMu.Unlock()
	return built[name]
}

func init() {
	connectors.Register(connectors.Type{Name: "testconn", Channel: "testconn", Title: "Test", Factory: newTestConn})
}
