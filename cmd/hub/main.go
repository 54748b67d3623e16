// Command hub is the Tongdao omnichannel support hub.
//
//	hub serve [--config FILE]    (SIGHUP reloads the connectors)
//	hub sandbox [--listen ADDR]
//	hub check-config [--config FILE]
//	hub token create --name NAME --role admin|agent [--config FILE]
//	hub media prune [--dry-run] [--config FILE]
//
// Exit codes: 0 ok, 1 runtime or configuration error, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tongdao/hub/configs"
	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/inbox/store"
)

const usage = `usage: hub <command> [flags]

commands:
  serve         run the hub                      [--config FILE] [--log-level LEVEL]
  sandbox       run the hub with local stand-ins for Telegram, WeChat and Discord
                                                 [--listen ADDR] [--data DIR] [--log-level LEVEL]
  check-config  validate a configuration file    [--config FILE]
  token create  create an API token, printed once
                                                 --name NAME --role admin|agent [--config FILE]
  media prune   delete stored files older than media.retention
                                                 [--dry-run] [--config FILE]
`

// exitError carries an exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if code == 2 {
			fmt.Fprintf(os.Stderr, "hub: %v\n\n%s", err, usage)
		} else {
			fmt.Fprintf(os.Stderr, "hub: %v\n", err)
		}
		os.Exit(code)
	}
}

// run executes one command; it is main without the process exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("no command given")
	}
	// A connector package whose registration was refused is a build
	// mistake: every command but help says so.
	if err := connectors.Err(); err != nil && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
		return err
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stderr)
	case "sandbox":
		return cmdSandbox(ctx, args[1:], stdout, stderr)
	case "check-config":
		return cmdCheckConfig(args[1:], stdout)
	case "token":
		if len(args) < 2 || args[1] != "create" {
			return usageErr("unknown token command: use 'hub token create'")
		}
		return cmdTokenCreate(ctx, args[2:], stdout)
	case "media":
		if len(args) < 2 || args[1] != "prune" {
			return usageErr("unknown media command: use 'hub media prune'")
		}
		return cmdMediaPrune(ctx, args[2:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageErr("unknown command %q", args[0])
	}
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageErr("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usageErr("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// loadConfig reads --config, else configs/hub.yaml when present, else the
// built-in defaults.
func loadConfig(path string) (*configs.Config, error) {
	if path == "" {
		if _, err := os.Stat(configs.DefaultFile); err == nil {
			path = configs.DefaultFile
		}
	}
	if path == "" {
		c := configs.Default()
		return c, configs.Validate(c)
	}
	return configs.Load(path, nil)
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErr("--log-level: %q is not debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve")
	path := fs.String("config", "", "configuration file")
	level := fs.String("log-level", "info", "log level")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	// SIGHUP reloads the connectors section of the configuration file. It is
	// caught from here on (not fatal during the start) and acted on once the
	// hub runs.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	m := &Main{Config: cfg, Logger: log}
	if err := m.Run(ctx); err != nil {
		return err
	}
	go m.reloadOnSignal(ctx, hup)
	<-ctx.Done()
	log.Info("shutting down")
	return m.Close()
}

func cmdCheckConfig(args []string, stdout io.Writer) error {
	fs := newFlags("check-config")
	path := fs.String("config", "", "configuration file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	name := cfg.File()
	if name == "" {
		name = "built-in defaults"
	}
	fmt.Fprintf(stdout, "%s: ok (%d connectors)\n", name, len(cfg.Connectors))
	return nil
}

func cmdTokenCreate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("token create")
	path := fs.String("config", "", "configuration file")
	name := fs.String("name", "", "who the token is for")
	role := fs.String("role", "", "admin or agent")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usageErr("token create: --name is required")
	}
	if *role != "admin" && *role != "agent" {
		return usageErr("token create: --role must be admin or agent")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	s, err := store.Open(ctx, cfg.Database.Driver, cfg.Database.DSN)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer s.Close()
	plain, _, err := s.CreateToken(ctx, strings.TrimSpace(*name), *role)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, plain)
	return nil
}
