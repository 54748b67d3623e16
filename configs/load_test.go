package configs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/internal/wait"
)

// envMap is an environment for tests.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// wanted reads the "# want: PATH: MESSAGE" lines heading a testdata file.
// {types} stands for the registered connector types, {text_keys} for the
// keys of the text catalog (which grows with every feature that speaks).
func wanted(t *testing.T, file string) (want []string, line int, masked []string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("{types}", strings.Join(connectors.Types(), ", "), "{text_keys}", strings.Join(texts.Keys(), ", "))
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(l, "# want: "):
			want = append(want, vars.Replace(strings.TrimPrefix(l, "# want: ")))
		case strings.HasPrefix(l, "# want-line: "):
			line, _ = strconv.Atoi(strings.TrimPrefix(l, "# want-line: "))
		case strings.HasPrefix(l, "# want-masked: "):
			masked = append(masked, strings.TrimPrefix(l, "# want-masked: "))
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s has no # want: line", file)
	}
	return want, line, masked
}

// TestLoadInvalid loads every file in testdata/invalid and compares the
// problems, all of them and in order, with the file's "# want:" lines.
func TestLoadInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) < 20 {
		t.Fatalf("testdata/invalid: %v files, %v", len(files), err)
	}
	env := envMap(map[string]string{"TG_TOKEN": "123:abc"})
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			want, line, masked := wanted(t, file)
			cfg, err := Load(file, env)
			if err == nil {
				t.Fatalf("Load succeeded, want problems:\n%s", strings.Join(want, "\n"))
			}
			if cfg != nil {
				t.Errorf("Load returned a config with its error")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %T is not Problems: %v", err, err)
			}
			got := make([]string, len(ps))
			for i, p := range ps {
				if p.File != file {
					t.Errorf("problem %d: File = %q, want %q", i, p.File, file)
				}
				got[i] = strings.TrimPrefix(p.Error(), file+": ")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			if line != 0 && ps[0].Line != line {
				t.Errorf("line = %d, want %d", ps[0].Line, line)
			}
			for _, m := range masked {
				if strings.Contains(err.Error(), m) {
					t.Errorf("problems show the secret %q:\n%v", m, err)
				}
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(ps) || !strings.HasPrefix(lines[0], file+": ") {
				t.Errorf("Error() is not one problem a line starting with the file:\n%v", err)
			}
		})
	}
}

func TestLoadProblemLines(t *testing.T) {
	_, err := Load("testdata/invalid/unknown_settings.yaml", nil)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 3 {
		t.Fatalf("err = %v", err)
	}
	for i, want := range []int{9, 12, 16} {
		if ps[i].Line != want {
			t.Errorf("problem %d (%s) at line %d, want %d", i, ps[i].Path, ps[i].Line, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such.yaml", nil)
	if err == nil || err.Error() != "testdata/no-such.yaml: cannot read the file: no such file or directory" {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadValid(t *testing.T) {
	env := envMap(map[string]string{
		"TG_TOKEN":    "123:abc",
		"PG_PASSWORD": "pg-secret",
		"RATE":        "7",
		"CHANNEL_ID":  "200",
		"API_HOST":    "", // empty: the :- default applies
		"SECRETS_DIR": "testdata/secrets",
	})
	tests := []struct {
		file  string
		check func(t *testing.T, c *Config)
	}{
		{"full.yaml", func(t *testing.T, c *Config) {
			want := Server{Listen: ":9090", PublicURL: "https://support.example.com/hub",
				ReadHeaderTimeout: 5 * time.Second, BodyTimeout: 2 * time.Second, WriteTimeout: time.Minute,
				IdleTimeout: 90 * time.Second, MaxEventStreams: 50, MaxEventStreamsPerToken: 3}
			if c.Server != want {
				t.Errorf("server = %+v", c.Server)
			}
			if c.Database != (Database{Driver: "postgres", DSN: "postgres://hub:pg-secret@db:5432/hub"}) {
				t.Errorf("database = %+v", c.Database)
			}
			got := builtConn("tg-main").settings
			wantS := testSettings{
				Token:         "123:abc",
				Mode:          "polling",
				WebhookSecret: "$ecret-with-dollars-$-and-a-lone-$-sign",
				APIURL:        "http://127.0.0.1:8081",
				Limits:        testLimits{PerSecond: 7, Burst: 3},
				Channels:      []testChannel{{"100", true}, {"200", false}},
				Timeout:       45 * time.Second,
			}
			if !reflect.DeepEqual(got, wantS) {
				t.Errorf("settings = %+v\nwant       %+v", got, wantS)
			}
			if builtConn("tg-main").deps.PublicURL != want.PublicURL {
				t.Errorf("deps.PublicURL = %q", builtConn("tg-main").deps.PublicURL)
			}
			if !builtConn("tg-main").closed {
				t.Errorf("a connector built for validation was not closed")
			}
		}},
		{"empty.yaml", func(t *testing.T, c *Config) {
			d := Default()
			if c.Server != d.Server || c.Database != d.Database || len(c.Connectors) != 0 {
				t.Errorf("config = %+v, want defaults %+v", c, d)
			}
		}},
		{"partial.yaml", func(t *testing.T, c *Config) {
			if c.Server.Listen != DefaultListen || c.Server.PublicURL != "http://127.0.0.1:8080" {
				t.Errorf("server = %+v", c.Server)
			}
			if c.Database.DSN != DefaultSQLiteDSN {
				t.Errorf("dsn = %q", c.Database.DSN)
			}
		}},
		{"files.yaml", func(t *testing.T, c *Config) {
			// One trailing newline is trimmed (with its \r), nothing else.
			if c.Database.DSN != "postgres://hub:pg-pass-456@db.internal:5432/hub?sslmode=disable" {
				t.Errorf("dsn = %q", c.Database.DSN)
			}
			if got := builtConn("t1").settings.Token; got != "4242:file-secret-123" {
				t.Errorf("token = %q", got)
			}
		}},
		{"aliases.yaml", func(t *testing.T, c *Config) {
			a, b := builtConn("a").settings, builtConn("b").settings
			if a.Mode != "webhook" || b.Mode != "polling" {
				t.Errorf("modes = %q, %q", a.Mode, b.Mode)
			}
			if a.WebhookSecret != "$one" || b.WebhookSecret != "$one" {
				t.Errorf("secrets = %q, %q: $$ must be expanded once per use", a.WebhookSecret, b.WebhookSecret)
			}
			if a.Token != "123:abc" || b.Token != "123:abc" || b.Limits != (testLimits{1, 2}) {
				t.Errorf("b = %+v", b)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := filepath.Join("testdata/valid", tt.file)
			c, err := Load(file, env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.File() != file {
				t.Errorf("File() = %q", c.File())
			}
			tt.check(t, c)
		})
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Server.Listen != "127.0.0.1:8080" || c.Database.Driver != "sqlite" || c.Database.DSN != "data/hub.db" {
		t.Errorf("Default() = %+v", c)
	}
	if len(c.Connectors) != 0 || c.Server.PublicURL != "" {
		t.Errorf("Default() = %+v", c)
	}
	if s := c.Server; s.ReadHeaderTimeout != 10*time.Second || s.BodyTimeout != 15*time.Second || s.WriteTimeout != 30*time.Second ||
		s.IdleTimeout != 2*time.Minute || s.MaxEventStreams != 1000 || s.MaxEventStreamsPerToken != 8 {
		t.Errorf("Default() server limits = %+v", s)
	}
	if err := Validate(c); err != nil {
		t.Errorf("Validate(Default()) = %v", err)
	}
}

func TestExpand(t *testing.T) {
	env := envMap(map[string]string{"A": "alpha", "EMPTY": "", "DOLLAR": "$B"})
	tests := []struct {
		in, want string
		problems int
	}{
		{"plain", "plain", 0},
		{"${A}", "alpha", 0},
		{"x-${A}-y", "x-alpha-y", 0},
		{"${A}${A}", "alphaalpha", 0},
		{"${UNSET:-fallback}", "fallback", 0},
		{"${UNSET:-}", "", 0},
		{"${EMPTY:-fallback}", "fallback", 0},
		{"${EMPTY}", "", 0},
		{"${UNSET:-a:-b}", "a:-b", 0},
		{"$$", "$", 0},
		{"$${A}", "${A}", 0},
		{"$$$$", "$$", 0},
		{"cost $5", "cost $5", 0},
		{"end$", "end$", 0},
		{"${DOLLAR}", "$B", 0}, // a value is never expanded again
		{"${UNSET}", "", 1},
		{"${}", "", 1},
		{"${1A}", "", 1},
		{"${A", "${A", 1},
		{"${UNSET} and ${ALSO_UNSET}", " and ", 2},
	}
	for _, tt := range tests {
		got, problems := expand(tt.in, env)
		if got != tt.want || len(problems) != tt.problems {
			t.Errorf("expand(%q) = %q, %q; want %q with %d problems", tt.in, got, problems, tt.want, tt.problems)
		}
	}
}

// TestEnvCannotInjectYAML checks that a variable holding YAML stays a
// scalar value.
func TestEnvCannotInjectYAML(t *testing.T) {
	file := writeTemp(t, "connectors:\n  - name: t1\n    type: testconn\n    settings:\n      token: ${EVIL}\n")
	evil := "1:x\n      mode: webhook\n      bogus: {a: b}"
	if _, err := Load(file, envMap(map[string]string{"EVIL": evil})); err != nil {
		t.Fatalf("Load: %v", err)
	}
	s := builtConn("t1").settings
	if s.Token != evil || s.Mode != "polling" {
		t.Errorf("settings = %+v", s)
	}
}

// TestSecretsNeverShown loads files whose problems sit next to secrets, from
// the file, from the environment and from *_file keys, and checks that no
// problem text holds one.
func TestSecretsNeverShown(t *testing.T) {
	secrets := map[string]string{
		"TG_TOKEN":    "S3cr3tTokenNoColon",
		"PG_PASSWORD": "pg-Secret-Pass",
		"HOOK":        "hook-Secret-Value",
	}
	file := writeTemp(t, `server:
  listen: 8080
  public_url: "https://u:pub-Secret-Pass@x.example.com?q=1"
database:
  driver: postgres
  dsn: "not a url ${PG_PASSWORD}"
connectors:
  - name: t1
    type: testconn
    settings:
      token: ${TG_TOKEN}
      webhook_secret: ${HOOK}
      api_url: [1]
      limits: { per_second: "${HOOK}" }
  - name: t2
    type: testconn
    settings:
      token_file: testdata/secrets/token
      mode: "file-secret-123"
  - name: t3
    type: testconn
    settings:
      token: ${TG_TOKEN}
`)
	_, err := Load(file, envMap(secrets))
	if err == nil {
		t.Fatal("Load succeeded")
	}
	msg := err.Error()
	for _, s := range []string{"S3cr3tTokenNoColon", "pg-Secret-Pass", "hook-Secret-Value", "pub-Secret-Pass", "file-secret-123"} {
		if strings.Contains(msg, s) {
			t.Errorf("problems show the secret %q:\n%s", s, msg)
		}
	}
	for _, want := range []string{
		`connectors[2].settings: token "[redacted]" is malformed`,
		"connectors[0].settings.api_url: expected a string",
		"connectors[0].settings.limits.per_second: expected an integer",
		"server.public_url: must not contain a user name or password",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
}

func TestRedacted(t *testing.T) {
	env := envMap(map[string]string{
		"TG_TOKEN": "123:abc-token", "PG_PASSWORD": "pg-secret", "RATE": "1", "CHANNEL_ID": "2",
		"SECRETS_DIR": "testdata/secrets",
	})
	c, err := Load("testdata/valid/full.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	out := c.String()
	for _, s := range []string{"123:abc-token", "pg-secret", "$ecret-with-dollars"} {
		if strings.Contains(out, s) {
			t.Errorf("String() shows %q:\n%s", s, out)
		}
	}
	for _, s := range []string{"postgres://hub:xxxxx@db:5432/hub", "mode: polling", "per_second: 1", "listen: :9090", "[redacted]"} {
		if !strings.Contains(out, s) {
			t.Errorf("String() lacks %q:\n%s", s, out)
		}
	}
	// The original is untouched.
	if c.Database.DSN != "postgres://hub:pg-secret@db:5432/hub" || c.Connectors[0].Settings.Content[1].Value != "123:abc-token" {
		t.Errorf("Redacted changed the original")
	}

	// A secret read from a *_file key is masked whatever its key's name.
	c, err = Load(writeTemp(t, "connectors:\n  - name: t1\n    type: testconn\n    settings:\n      token: '1:2'\n      api_url_file: testdata/secrets/token\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out := c.String(); strings.Contains(out, "file-secret-123") || !strings.Contains(out, "api_url: '[redacted]'") {
		t.Errorf("String() =\n%s", out)
	}
	if Default().String() == "" {
		t.Error("Default().String() is empty")
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ driver, in, want string }{
		{"sqlite", "data/hub.db", "data/hub.db"},
		{"postgres", "postgres://u:p@h:5432/db?password=x", "postgres://u:xxxxx@h:5432/db"},
		{"postgres", "postgres://h/db", "postgres://h/db"},
		{"postgres", "host=h user=u password=p", "[redacted]"},
		{"postgres", "", ""},
	}
	for _, tt := range tests {
		if got := redactDSN(tt.driver, tt.in); got != tt.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecoder(t *testing.T) {
	var none Connector
	s := testSettings{Mode: "keep"}
	if err := none.Decoder("x.settings")(&s); err != nil || s.Mode != "keep" {
		t.Errorf("missing settings: %v, %+v", err, s)
	}
	if err := none.Decoder("x.settings")(s); err == nil {
		t.Error("a non-pointer target was accepted")
	}
	var nilPtr *testSettings
	if err := none.Decoder("x.settings")(nilPtr); err == nil {
		t.Error("a nil pointer target was accepted")
	}
}

func TestConnectorConfig(t *testing.T) {
	c, err := Load("testdata/valid/aliases.yaml", envMap(map[string]string{"TG_TOKEN": "1:2"}))
	if err != nil {
		t.Fatal(err)
	}
	cc := c.ConnectorConfig(1, connectors.Deps{PublicURL: "http://127.0.0.1:1"})
	if cc.Name != "b" || cc.Deps.PublicURL != "http://127.0.0.1:1" {
		t.Errorf("ConnectorConfig = %+v", cc)
	}
	var s struct {
		Token string `yaml:"token"`
	}
	err = cc.Decode(&s)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 3 || ps[0].Path != "connectors[1].settings.mode" || s.Token != "1:2" {
		t.Errorf("Decode = %v (%+v)", err, s)
	}
}

func TestValidateInCode(t *testing.T) {
	c := &Config{
		Server:     Server{Listen: "", PublicURL: "ftp://x"},
		Database:   Database{Driver: "sqlite"},
		Connectors: []Connector{{Name: "a", Type: "testconn"}},
	}
	err := Validate(c)
	want := "server.listen: is required (host:port, such as 127.0.0.1:8080)\n" +
		"server.public_url: must be an absolute http or https URL such as https://support.example.com\n" +
		"database.dsn: is required with driver sqlite\n" +
		"connectors[0].settings: token is required"
	if err == nil || err.Error() != want {
		t.Errorf("Validate =\n%v\nwant\n%s", err, want)
	}
}

func TestProblemFormat(t *testing.T) {
	ps := Problems{
		{File: "configs/hub.yaml", Path: "connectors[1].settings.tokn", Message: "unknown key (known: token, mode)"},
		{File: "configs/hub.yaml", Message: "line 3: bad"},
		{Path: "server.listen", Message: "expected a string"},
	}
	want := "configs/hub.yaml: connectors[1].settings.tokn: unknown key (known: token, mode)\n" +
		"configs/hub.yaml: line 3: bad\n" +
		"server.listen: expected a string"
	if ps.Error() != want {
		t.Errorf("Error() =\n%s", ps.Error())
	}
}

func TestJoinKey(t *testing.T) {
	tests := []struct{ path, key, want string }{
		{"", "server", "server"},
		{"server", "listen", "server.listen"},
		{"texts", "a.b", `texts["a.b"]`},
		{"", "a b", `["a b"]`},
	}
	for _, tt := range tests {
		if got := joinKey(tt.path, tt.key); got != tt.want {
			t.Errorf("joinKey(%q, %q) = %q, want %q", tt.path, tt.key, got, tt.want)
		}
	}
}

// TestAliasBomb checks that nested aliases cannot blow up memory.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("server:\n  public_url: x\nconnectors:\n  - name: t1\n    type: testconn\n    settings:\n      limits: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n")
	for i := 1; i <= 8; i++ {
		b.WriteString("      k" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, err := Load(writeTemp(t, b.String()), nil)
	if err == nil || !strings.Contains(err.Error(), "too large after expanding aliases") {
		t.Errorf("err = %v", err)
	}
	// Expanded, the document has 10^9 nodes: minutes at best. Refused, it
	// takes well under a second; the bound leaves room for a loaded machine.
	if d := time.Since(start); d > wait.Timeout {
		t.Errorf("took %v", d)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestMediaAndMonitoring: the keys load, and the monitoring token is a
// secret: masked in String() and in problem messages.
func TestMediaAndMonitoring(t *testing.T) {
	c, err := Load(writeTemp(t, `
media: { allow_private_fetch: true, fetch_timeout: 20s }
monitoring:
  token: "monitor-secret-0123456789"
  loopback_only: true
  stale_after: { telegram: 5m, discord: 0s }
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Media.AllowPrivateFetch || c.Media.FetchTimeout != 20*time.Second || !c.Monitoring.LoopbackOnly ||
		c.Monitoring.Token != "monitor-secret-0123456789" || c.Monitoring.StaleAfter["telegram"] != 5*time.Minute {
		t.Fatalf("loaded %+v %+v", c.Media, c.Monitoring)
	}
	if v, ok := c.Monitoring.StaleAfter["discord"]; !ok || v != 0 {
		t.Fatalf("discord: 0s must be kept (it turns the check off): %v %v", v, ok)
	}
	if out := c.String(); strings.Contains(out, "monitor-secret") || !strings.Contains(out, "token: '[redacted]'") {
		t.Fatalf("String() =\n%s", out)
	}
	if Default().Media.AllowPrivateFetch || Default().Monitoring.Token != "" {
		t.Fatal("the defaults must be strict fetching and open monitoring")
	}
}
