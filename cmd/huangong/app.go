package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"huangong/api"
	"huangong/api/web"
	"huangong/scheduler"
	"huangong/seed"
	"huangong/store"
)

// Config is everything the service reads from flags and the environment.
type Config struct {
	Addr string // listen address, e.g. ":8080" or "127.0.0.1:0"
	DB   string // SQLite database path or modernc DSN, or a postgres:// URL
	Demo bool   // seed the demo village when it is absent
}

// App is the whole service wired together: store, HTTP API and server,
// and the scheduler that runs the open seasons' cron jobs.
type App struct {
	cfg    Config
	log    *slog.Logger
	Store  *store.Store
	server *http.Server
	ln     net.Listener

	// Scheduler runs the cron jobs while Run serves; of several instances
	// on one database, the one holding the lease does.
	Scheduler *scheduler.Scheduler
	cron      struct {
		once sync.Once
		stop context.CancelFunc // nil until Run starts it
		done chan struct{}      // closed when it has stopped
	}

	// DemoTokens holds the secrets minted when this start seeded the demo
	// village (nil otherwise: secrets are stored hashed, never shown again).
	DemoTokens map[string]string
	// Village is the demo village when cfg.Demo is set.
	Village *store.Village
}

// cronOptions are the scheduler's options (zero: its defaults); the
// several-instances test shortens the tick and the lease.
var cronOptions scheduler.CronOptions

// ShutdownTimeout bounds how long in-flight requests get on shutdown.
const ShutdownTimeout = 15 * time.Second

// NewApp opens and migrates the database, seeds the demo village if asked
// and it is absent, and builds the HTTP server. It does not listen yet.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, Store: st}
	if cfg.Demo {
		if a.Village, a.DemoTokens, err = seed.EnsureDemo(ctx, st); err != nil {
			st.Close()
			return nil, fmt.Errorf("seed demo village: %w", err)
		}
	}
	srv := api.NewServer(st, log)
	web.Mount(srv, st, log)
	a.server = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	a.server.RegisterOnShutdown(srv.CloseStreams)
	opts := cronOptions
	opts.Log = log
	a.Scheduler = scheduler.NewScheduler(st, opts)
	return a, nil
}

// Listen binds the address; Addr is known afterwards (useful with ":0").
func (a *App) Listen() error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.Addr, err)
	}
	a.ln = ln
	return nil
}

// Addr is the bound address, e.g. "127.0.0.1:41234".
func (a *App) Addr() string { return a.ln.Addr().String() }

// Run serves and runs the cron jobs until ctx is done, then lets
// in-flight requests and a running job finish.
func (a *App) Run(ctx context.Context) error {
	if a.ln == nil {
		if err := a.Listen(); err != nil {
			return err
		}
	}
	a.startCron(ctx)
	defer a.stopCron()
	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(a.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("正在停止 shutting down")
	// No new job starts from here; the one running finishes (stopCron
	// waits for it) while requests drain.
	a.cron.stop()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := a.server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startCron runs the scheduler beside the server. Its context is not
// ctx itself: shutdown stops it through stopCron, which waits for it.
func (a *App) startCron(ctx context.Context) {
	a.cron.once.Do(func() {
		cctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		a.cron.stop, a.cron.done = stop, make(chan struct{})
		go func() {
			defer close(a.cron.done)
			if err := a.Scheduler.Run(cctx); err != nil {
				a.log.Error("定时任务停止 scheduler stopped", "err", err)
			}
		}()
	})
}

// stopCron stops the scheduler, if it runs, and waits for a job it is
// running to finish.
func (a *App) stopCron() {
	a.cron.once.Do(func() {}) // never started: it cannot start after this
	if a.cron.stop != nil {
		a.cron.stop()
		<-a.cron.done
	}
}

// Close stops the scheduler (waiting for a running job) and then releases
// the database.
func (a *App) Close() error {
	a.stopCron()
	return a.Store.Close()
}
