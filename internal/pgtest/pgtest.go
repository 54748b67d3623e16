// Package pgtest gives tests a real PostgreSQL server: the one
// named by TONGDAO_TEST_POSTGRES (a DSN), or a throwaway cluster it starts
// from the PostgreSQL server binaries (Debian's postgresql package).
//
// Without either, tests that need PostgreSQL are skipped, unless
// TONGDAO_REQUIRE_POSTGRES=1 (set by the project's test command), where they
// fail: CI must never silently skip them.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

var (
	once    sync.Once
	baseDSN string
	initErr error
	stopFn  func()
	counter atomic.Int64
)

// Main wraps a package's TestMain: it stops the cluster it may have started.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if stopFn != nil {
		stopFn()
	}
	return code
}

// DSN returns the DSN of a fresh, empty database for this test, dropped when
// the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(func() { baseDSN, initErr = start() })
	if initErr != nil {
		if os.Getenv("TONGDAO_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required but unavailable: %v", initErr)
		}
		t.Skipf("PostgreSQL unavailable: %v", initErr)
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	admin, err := sql.Open("pgx", baseDSN+" dbname=postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", baseDSN+" dbname=postgres")
		if err != nil {
			return
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = a.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return baseDSN + " dbname=" + name
}

func start() (string, error) {
	if dsn := os.Getenv("TONGDAO_TEST_POSTGRES"); dsn != "" {
		return dsn, nil
	}
	bin, err := findBin()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "tongdao-pg-")
	if err != nil {
		return "", err
	}
	// initdb refuses to run as root: run the server as the postgres user.
	var run func(name string, args ...string) *exec.Cmd
	runAs := ""
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
		runAs = "postgres"
	}
	run = func(name string, args ...string) *exec.Cmd {
		path := filepath.Join(bin, name)
		if runAs != "" {
			return exec.Command("runuser", append([]string{"-u", runAs, "--", path}, args...)...)
		}
		return exec.Command(path, args...)
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	// The server listens on a Unix socket in its own directory, not on TCP:
	// a TCP port would have to be picked before the server binds it, and
	// another process could take it in between. The port number only names
	// the socket file (.s.PGSQL.<port>).
	port := 20000 + os.Getpid()%20000
	opts := fmt.Sprintf("-c listen_addresses='' -c port=%d -c unix_socket_directories=%s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
	if out, err := run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		return "", fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	stopFn = func() {
		_ = run("pg_ctl", "-D", data, "-m", "immediate", "stop").Run()
		os.RemoveAll(dir)
	}
	return fmt.Sprintf("host=%s port=%d user=postgres sslmode=disable", dir, port), nil
}

func findBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (install Debian's postgresql package)")
}
