package configs

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongdao/hub/internal/seeds"
)

// FuzzLoad loads arbitrary configuration bytes, seeded with every file in
// testdata and the example: loading never panics, fails only with
// Problems, and a configuration it accepts validates and prints with its
// secrets masked.
func FuzzLoad(f *testing.F) {
	for _, b := range seeds.Files(f, "testdata/*/*.yaml", exampleFile) {
		f.Add(b)
	}
	env := map[string]string{"TG_TOKEN": "123:abc", "PG_PASSWORD": "pg-secret-pw", "RATE": "5", "CHANNEL_ID": "42"}
	for k, v := range exampleEnv {
		env[k] = v
	}
	secrets := map[string][]byte{"token": []byte("file-token-0123\n"), "dsn": []byte("postgres://u:file-pw@db/hub")}
	readFile := func(name string) ([]byte, error) {
		if b, ok := secrets[filepath.Base(name)]; ok {
			return b, nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse("fuzz.yaml", data, envMap(env), readFile)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %T is not Problems: %v", err, err)
			}
			if cfg != nil {
				t.Fatal("a config returned with problems")
			}
			return
		}
		if cfg == nil {
			t.Fatal("no config and no error")
		}
		if err := Validate(cfg); err != nil {
			t.Fatalf("accepted, then invalid: %v", err)
		}
		out := cfg.String()
		for _, s := range []string{"pg-secret-pw", "file-pw", "file-token-0123"} {
			if strings.Contains(out, s) {
				t.Fatalf("the printed configuration shows the secret %q:\n%s", s, out)
			}
		}
	})
}
