package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exitCode is what main would exit with for err.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func TestCommandsExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("server: { listen: nonsense, publc_url: x }\ndatabase: { driver: mysql }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("database: { dsn: "+filepath.Join(dir, "hub.db")+" }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// WeChat modes that contradict the key are listed with their key path.
	wxModes := filepath.Join(dir, "wx-modes.yaml")
	const wx = "{ app_id: wx1234567890abcdef, app_secret: s, token: tok123, "
	if err := os.WriteFile(wxModes, []byte("database: { dsn: "+filepath.Join(dir, "hub.db")+" }\nconnectors:\n"+
		"  - { name: wx-a, type: wechat, settings: "+wx+"mode: plain, encoding_aes_key: abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG } }\n"+
		"  - { name: wx-b, type: wechat, settings: "+wx+"mode: safe } }\n"+
		"  - { name: wx-c, type: wechat, settings: "+wx+"mode: compatible } }\n"+
		"  - { name: wx-d, type: wechat, settings: "+wx+"mode: secure } }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want []string // in the output or the error
	}{
		{[]string{"check-config", "--config", wxModes}, 1, []string{
			wxModes + ": connectors[0].settings.mode: plain takes no encoding_aes_key",
			wxModes + ": connectors[1].settings.encoding_aes_key: required in safe mode",
			wxModes + ": connectors[2].settings.encoding_aes_key: required in compatible mode",
			wxModes + ": connectors[3].settings.mode: must be plain, compatible or safe"}},
		{[]string{"check-config", "--config", good}, 0, []string{"ok (0 connectors)"}},
		// Every problem is listed, each with file and key path.
		{[]string{"check-config", "--config", bad}, 1, []string{bad + ": server.publc_url: unknown key",
			bad + ": server.listen:", bad + ": database.driver: unknown driver"}},
		{[]string{"check-config", "--config", filepath.Join(dir, "missing.yaml")}, 1, []string{"cannot read the file"}},
		{[]string{"serve", "--config", bad}, 1, []string{"server.publc_url: unknown key"}},
		{[]string{"token", "create", "--config", good, "--name", "ana", "--role", "agent"}, 0, []string{"tdk_"}},
		{[]string{"token", "create", "--config", good, "--name", "ana", "--role", "root"}, 2, []string{"--role must be admin or agent"}},
		{[]string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{[]string{"check-config", "--nope"}, 2, []string{"flag provided but not defined"}},
		{nil, 2, []string{"no command"}},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, &out, &out)
		if got := exitCode(err); got != tc.code {
			t.Errorf("hub %v: exit %d (%v), want %d", tc.args, got, err, tc.code)
			continue
		}
		text := out.String()
		if err != nil {
			text += err.Error()
		}
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("hub %v: output %q lacks %q", tc.args, text, w)
			}
		}
	}
}
