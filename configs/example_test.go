package configs

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
	"gopkg.in/yaml.v3"
	// The lead un-skips TestExampleFile by importing the connector types
	// here (the configs package itself must not depend on them):
	//
	_ "github.com/tongdao/hub/connectors/discord"
	_ "github.com/tongdao/hub/connectors/telegram"
	_ "github.com/tongdao/hub/connectors/wechat"
)

const exampleFile = "hub.example.yaml"

// exampleEnv is the environment hub.example.yaml needs, with values the
// real connector types accept.
var exampleEnv = map[string]string{
	"TELEGRAM_TOKEN":    "123456789:AAexampleexampleexampleexample0",
	"TG_WEBHOOK_SECRET": "example-webhook-secret",
	"WX_SECRET":         "example-app-secret",
	"WX_TOKEN":          "exampletoken",
	"WX_AES_KEY":        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	"DISCORD_TOKEN":     "example.discord.token",
}

// TestExampleFile loads hub.example.yaml with the real connector types. It
// is skipped while a type is not registered in this test binary.
func TestExampleFile(t *testing.T) {
	for _, typ := range []string{"telegram", "wechat", "discord"} {
		if _, ok := connectors.Lookup(typ); !ok {
			t.Skipf("connector type %s is not registered: import it in example_test.go", typ)
		}
	}
	c, err := Load(exampleFile, envMap(exampleEnv))
	if err != nil {
		t.Fatalf("Load(%s):\n%v", exampleFile, err)
	}
	if len(c.Connectors) != 3 {
		t.Errorf("%d connectors", len(c.Connectors))
	}
	// Without its environment the example fails, naming every variable.
	_, err = Load(exampleFile, envMap(nil))
	for name := range exampleEnv {
		if err == nil || !strings.Contains(err.Error(), "environment variable "+name+" is not set") {
			t.Errorf("unset %s not reported:\n%v", name, err)
		}
	}
}

// designSettings mirror the connector types' settings as the README and the
// connector packages define them, so that the example is checked for typos
// and completeness even before the real types are linked in.
var designSettings = map[string]reflect.Type{
	"telegram": reflect.TypeFor[struct {
		Token         string `yaml:"token"`
		Mode          string `yaml:"mode"`
		WebhookSecret string `yaml:"webhook_secret"`
		APIURL        string `yaml:"api_url"`
		BotUsername   string `yaml:"bot_username"`
	}](),
	"wechat": reflect.TypeFor[struct {
		AppID          string `yaml:"app_id"`
		AppSecret      string `yaml:"app_secret"`
		Token          string `yaml:"token"`
		Mode           string `yaml:"mode"`
		EncodingAESKey string `yaml:"encoding_aes_key"`
		APIURL         string `yaml:"api_url"`
	}](),
	"discord": reflect.TypeFor[struct {
		Token           string   `yaml:"token"`
		APIURL          string   `yaml:"api_url"`
		SupportChannels []string `yaml:"support_channels"`
		SupportReply    string   `yaml:"support_reply"`
	}](),
}

type nopConn struct{ name string }

func (c nopConn) Name() string                                 { return c.name }
func (nopConn) Run(_ context.Context, _ connectors.Sink) error { return nil }
func (nopConn) Send(context.Context, models.Outbound) (models.SendResult, error) {
	return models.SendResult{}, errors.New("nop")
}

func init() {
	for typ, st := range designSettings {
		connectors.Register(connectors.Type{Name: "design-" + typ, Channel: "design-" + typ, Title: "Design " + typ,
			Factory: func(cfg connectors.Config) (connectors.Connector, error) {
				v := reflect.New(st)
				if err := cfg.Decode(v.Interface()); err != nil {
					return nil, err
				}
				return nopConn{cfg.Name}, nil
			}})
	}
}

// TestExampleFileAgainstDesign loads hub.example.yaml with stand-in types
// that decode the documented settings strictly, and checks that the example
// shows every key of the schema and of each type's settings.
func TestExampleFileAgainstDesign(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for typ := range designSettings {
		text = strings.ReplaceAll(text, "type: "+typ+"\n", "type: design-"+typ+"\n")
	}
	c, err := Load(writeTemp(t, text), envMap(exampleEnv))
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for _, want := range keysOf(reflect.TypeFor[Config]()) {
		if want == "connectors" {
			continue
		}
		if !hasPath(root, want) {
			t.Errorf("the example lacks %s", want)
		}
	}
	seen := map[string]bool{}
	for i, conn := range c.Connectors {
		typ := strings.TrimPrefix(conn.Type, "design-")
		seen[typ] = true
		for _, f := range []string{"name", "type", "settings"} {
			if !hasPath(root, "connectors", i, f) {
				t.Errorf("connectors[%d] lacks %s", i, f)
			}
		}
		for _, key := range keysOf(designSettings[typ]) {
			if !hasPath(&conn.Settings, key) {
				t.Errorf("the %s example lacks settings.%s", typ, key)
			}
		}
	}
	for typ := range designSettings {
		if !seen[typ] {
			t.Errorf("the example has no %s connector", typ)
		}
	}
}

// keysOf lists the dotted key paths of the leaves of struct type t.
func keysOf(t reflect.Type) []string {
	var out []string
	fields, _ := structFields(t, 0)
	for _, f := range fields {
		if f.typ.Kind() == reflect.Struct && f.typ != nodeType {
			for _, sub := range keysOf(f.typ) {
				out = append(out, f.name+"."+sub)
			}
			continue
		}
		out = append(out, f.name)
	}
	return out
}

// hasPath reports whether n holds the path, given as one dotted string or
// as keys and list indices.
func hasPath(n *yaml.Node, path ...any) bool {
	if len(path) == 1 {
		if s, ok := path[0].(string); ok && strings.Contains(s, ".") {
			parts := strings.Split(s, ".")
			path = make([]any, len(parts))
			for i, p := range parts {
				path[i] = p
			}
		}
	}
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return false
			}
			i := 0
			for i < len(n.Content) && n.Content[i].Value != p {
				i += 2
			}
			if i+1 >= len(n.Content) {
				return false
			}
			n = n.Content[i+1]
		case int:
			if n.Kind != yaml.SequenceNode || p >= len(n.Content) {
				return false
			}
			n = n.Content[p]
		}
	}
	return true
}
