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
	"huangong/scheduler/relay"
	"huangong/seed"
	"huangong/store"
)

// Config is everything the service reads from flags and the environment.
type Config struct {
	Addr string // listen address, e.g. ":8080" or "127.0.0.1:0"
	DB   string // SQLite database path or modernc DSN, or a postgres:// URL
	Demo bool   // seed the demo village when it is absent
	// TrustProxy: behind a reverse proxy, whose X-Forwarded-For names the
	// client the failed-sign-in throttle counts.
	TrustProxy bool
}

// App is the whole service wired together: store, HTTP API and server,
// and the scheduler that runs the open seasons' cron jobs.
type App struct {
	cfg    Config
	log    *slog.Logger
	Store  *store.Store
	api    *api.Server
	server *http.Server
	ln     net.Listener
	// unlockDB releases the shared lock on the database file that keeps
	// restore off it while this instance serves (nil for a DSN).
	unlockDB func()

	// Scheduler runs the cron jobs while Run serves; of several instances
	// on one database, the one holding the lease does.
	Scheduler *scheduler.Scheduler
	// Relay sends the outbox to the configured SMS gateway, group robots
	// and webhook, under the scheduler's lease.
	Relay *relay.Relay
	cron  struct {
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

// NewApp binds the address, then opens and migrates the database, seeds
// the demo village if asked and it is absent, and builds the HTTP server.
// Binding comes first: a busy port fails before the demo village is
// seeded, so its tokens, shown only by the start that seeds it, are never
// minted by a start that cannot serve them.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log}
	if err := a.Listen(); err != nil {
		return nil, err
	}
	if plainPath(cfg.DB) {
		unlock, err := lockDB(cfg.DB, false)
		if errors.Is(err, errDBLocked) {
			err = fmt.Errorf("数据库正在恢复，请恢复完成后再启动 a restore is replacing %s; start the service when it is done", cfg.DB)
		}
		if err != nil {
			a.ln.Close()
			return nil, err
		}
		a.unlockDB = unlock
	}
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		a.ln.Close()
		a.unlock()
		return nil, err
	}
	a.Store = st
	if cfg.Demo {
		if a.Village, a.DemoTokens, err = seed.EnsureDemo(ctx, st); err != nil {
			a.ln.Close()
			st.Close()
			a.unlock()
			return nil, fmt.Errorf("seed demo village: %w", err)
		}
	}
	srv := api.NewServer(st, log)
	srv.TrustProxy = cfg.TrustProxy
	a.api = srv
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
	// The relay reads the store's clock, so a test's clock rules when
	// messages are due as it rules when they were queued.
	a.Relay = relay.New(st, relay.Options{Holder: a.Scheduler.Holder(), Log: log, Now: func() time.Time { return st.Now() }})
	return a, nil
}

// Listen binds the address, if NewApp has not; Addr is known afterwards
// (useful with ":0").
func (a *App) Listen() error {
	if a.ln != nil {
		return nil
	}
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
	// The audit lines still being counted are written before the
	// database closes.
	a.api.Close()
	return nil
}

// startCron runs the scheduler and the relay beside the server. Its context is not
// ctx itself: shutdown stops it through stopCron, which waits for it.
func (a *App) startCron(ctx context.Context) {
	a.cron.once.Do(func() {
		cctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		a.cron.stop, a.cron.done = stop, make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := a.Scheduler.Run(cctx); err != nil {
				a.log.Error("定时任务停止 scheduler stopped", "err", err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := a.Relay.Run(cctx); err != nil {
				a.log.Error("通知发送停止 relay stopped", "err", err)
			}
		}()
		go func() { wg.Wait(); close(a.cron.done) }()
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
	if a.ln != nil {
		a.ln.Close() // when Run never served
	}
	err := a.Store.Close()
	a.unlock()
	return err
}

// unlock releases the database lock, once.
func (a *App) unlock() {
	if a.unlockDB != nil {
		a.unlockDB()
		a.unlockDB = nil
	}
}
