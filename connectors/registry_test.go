package connectors_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
)

type nopConn struct{}

func (nopConn) Name() string                                     { return "nop" }
func (nopConn) Run(ctx context.Context, _ connectors.Sink) error { <-ctx.Done(); return nil }
func (nopConn) Send(context.Context, models.Outbound) (models.SendResult, error) {
	return models.SendResult{}, nil
}

func nopFactory(connectors.Config) (connectors.Connector, error) { return nopConn{}, nil }

func TestRegistryRefusesBadRegistrations(t *testing.T) {
	var r connectors.Registry
	r.Register(connectors.Type{Name: "line", Channel: "line", Title: "LINE", Factory: nopFactory})
	if err := r.Err(); err != nil {
		t.Fatalf("good registration refused: %v", err)
	}
	bad := []struct {
		t    connectors.Type
		want string
	}{
		{connectors.Type{Name: "", Channel: "x", Title: "X", Factory: nopFactory}, "type name"},
		{connectors.Type{Name: "Bad Name", Channel: "x", Title: "X", Factory: nopFactory}, "type name"},
		{connectors.Type{Name: "x", Channel: "", Title: "X", Factory: nopFactory}, "channel"},
		{connectors.Type{Name: "x", Channel: "x", Title: " ", Factory: nopFactory}, "title is required"},
		{connectors.Type{Name: "x", Channel: "x", Title: "X"}, "factory is required"},
		{connectors.Type{Name: "line", Channel: "line", Title: "LINE", Factory: nopFactory}, "registered twice"},
		{connectors.Type{Name: "line-v2", Channel: "line", Title: "Line", Factory: nopFactory}, `titled "LINE"`},
	}
	for _, b := range bad {
		var one connectors.Registry
		one.Register(connectors.Type{Name: "line", Channel: "line", Title: "LINE", Factory: nopFactory})
		one.Register(b.t)
		err := one.Err()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Register(%+v): Err() = %v, want it to mention %q", b.t, err, b.want)
		}
		if got := one.Types(); !reflect.DeepEqual(got, []string{"line"}) {
			t.Errorf("Register(%+v): Types() = %v; a refused type must not be listed", b.t, got)
		}
	}
}

func TestRegistryChannels(t *testing.T) {
	var r connectors.Registry
	r.Register(connectors.Type{Name: "telegram", Channel: "telegram", Title: "Telegram", Factory: nopFactory})
	r.Register(connectors.Type{Name: "line", Channel: "line", Title: "LINE", Factory: nopFactory})
	r.Register(connectors.Type{Name: "telegram-mtproto", Channel: "telegram", Title: "Telegram", Factory: nopFactory})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	want := []connectors.Channel{
		{Name: "line", Title: "LINE", Types: []string{"line"}},
		{Name: "telegram", Title: "Telegram", Types: []string{"telegram", "telegram-mtproto"}},
	}
	if got := r.Channels(); !reflect.DeepEqual(got, want) {
		t.Errorf("Channels() = %+v, want %+v", got, want)
	}
	if got := r.Types(); !reflect.DeepEqual(got, []string{"line", "telegram", "telegram-mtproto"}) {
		t.Errorf("Types() = %v", got)
	}
	if typ, ok := r.Lookup("line"); !ok || typ.Title != "LINE" || typ.Channel != "line" {
		t.Errorf("Lookup(line) = %+v, %v", typ, ok)
	}
}

func TestRegistryBuildFailsAfterARefusal(t *testing.T) {
	var r connectors.Registry
	r.Register(connectors.Type{Name: "line", Channel: "line", Title: "LINE", Factory: nopFactory})
	if _, err := r.Build("line", connectors.Config{Name: "l1"}); err != nil {
		t.Fatalf("Build: %v", err)
	}
	if _, err := r.Build("viber", connectors.Config{Name: "v1"}); err == nil || !strings.Contains(err.Error(), "known: [line]") {
		t.Errorf("Build of an unknown type: %v", err)
	}
	r.Register(connectors.Type{Name: "line", Channel: "line", Title: "LINE", Factory: nopFactory})
	if _, err := r.Build("line", connectors.Config{Name: "l1"}); err == nil || !strings.Contains(err.Error(), "registered twice") {
		t.Errorf("Build after a refused registration: %v, want the refusal", err)
	}
}
