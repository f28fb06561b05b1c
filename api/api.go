// Package api is the HTTP face of the service: huma v2 operations under
// /v1, bearer-token auth by role, the audit of every change and denial, and
// the one place where domain errors become RFC 9457 problems.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"huangong/store"
)

// Version is the API version shown in the OpenAPI document.
const Version = "0.1.0"

// Server is the HTTP handler of the service.
type Server struct {
	store *store.Store
	log   *slog.Logger
	mux   *http.ServeMux
	api   huma.API

	// closing is closed when the server shuts down, so that open event
	// streams end instead of holding http.Server.Shutdown until it times out.
	closing   chan struct{}
	closeOnce sync.Once

	// TrustProxy: the service is behind a reverse proxy, so the client's
	// address is the one the proxy appends to X-Forwarded-For.
	TrustProxy bool
	clock      atomic.Pointer[func() time.Time] // the guard's clock; nil: time.Now (SetClock)
	throttle   *throttle
	floods     *floods
	streams    streams

	// PlanTimeout bounds one plan run (run-plan, and each season block-days
	// plans again): DefaultPlanTimeout unless a test shortens it.
	PlanTimeout time.Duration
}

// NewServer registers every operation over st.
func NewServer(st *store.Store, log *slog.Logger) *Server {
	s := &Server{store: st, log: log, mux: http.NewServeMux(), closing: make(chan struct{}), PlanTimeout: DefaultPlanTimeout,
		streams: streams{open: map[int64]int{}}}
	s.throttle, s.floods = newThrottle(s.now), newFloods(st, log.Error, s.now)
	s.api = humago.New(s.mux, Config())
	s.api.UseMiddleware(s.authenticate)
	s.addRoutes()
	s.addDocs()
	finishDocument(s.api.OpenAPI())
	// Anything no operation serves is a problem too, not a text/plain 404.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if BadText(r.URL.Path) != "" {
			// A probe with a NUL or broken bytes in the path is a denial
			// the log keeps, even where no operation matched.
			e := &store.AuditEntry{Action: "unknown", Target: r.URL.Path, Status: http.StatusNotFound,
				Actor: "anonymous", Outcome: store.OutcomeDenied}
			if s.floods.record(s.clientAddr(r.RemoteAddr, r.Header.Get), e) {
				if err := st.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
					log.Error("audit", "err", err, "target", e.Target)
				}
			}
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"title":"Not Found","status":404,"detail":"no such operation 无此接口; see /docs"}`))
	})
	return s
}

// Config is the huma configuration: the document's title, the bearer
// scheme, and the strictness the service wants (unknown query parameters
// are an error, not silently ignored).
func Config() huma.Config {
	cfg := huma.DefaultConfig("换工 Huangong", Version)
	cfg.Info.Description = "Agricultural mutual-aid labor exchange for a village: households and fields, " +
		"the village's mutual-aid teams, and the ledger of exchanged workdays. " +
		"农忙换工互助：农户与田块、互助队派工、换工工日台账。\n\n" +
		"Every operation under /v1 needs `Authorization: Bearer <token>`. The roles allowed are listed " +
		"as the bearer scheme's scopes on each operation: `cadre` 村干部 (the whole village), " +
		"`leader` 队长 (its own team), `household` 农户 (its own household)."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {Type: "http", Scheme: "bearer", Description: "A token from `huangong token create`. 令牌由村干部生成。"},
	}
	// Paths are relative to wherever the service is reached.
	cfg.Servers = []*huma.Server{{URL: "/", Description: "本服务 This service"}}
	cfg.Tags = tags
	cfg.RejectUnknownQueryParameters = true
	// No $schema field in answers nor Link header to it: huma builds that
	// link from the Host header and the document's first server ("/"),
	// which gives https:////schemas/… here, and a Host a client chose is
	// no base for a link anyway. The document describes every body.
	cfg.CreateHooks = nil
	// /docs is served from the binary (docs.go), not from a CDN.
	cfg.DocsPath = ""
	return cfg
}

// tags are the document's resource groups, in the order the docs list them.
// Every operation has exactly one.
var tags = []*huma.Tag{
	{Name: "village", Description: "本村 The caller's village and its settings: timezone, soft limit, settlement policy."},
	{Name: "households", Description: "农户 Households surveyed by the cadre (逐户摸底): head, group, laborers, vulnerability flags."},
	{Name: "fields", Description: "田块 Each household's fields: name, area in mu, crop."},
	{Name: "teams", Description: "互助队 The village's mutual-aid teams, their leaders and member households."},
	{Name: "seasons", Description: "农时 Busy seasons (春耕, 夏收/双抢, 秋收): dates, tasks, state, settlement and the closed-loop report."},
	{Name: "norms", Description: "用工定额 Workdays a mu of each crop takes for each task."},
	{Name: "calendar", Description: "节气与定时任务 The 24 solar terms and the runs of each season's cron jobs."},
	{Name: "requests", Description: "求助 Help requests: register, assign, finish in time, feedback (收集登记—分类交办—限时办结—评价反馈)."},
	{Name: "plan", Description: "排计划 The planner: the teams' jobs from requests, capacity and balances; rained-out days."},
	{Name: "jobs", Description: "派工 One team's work for one request on one day: confirm, decline, record attendance."},
	{Name: "ledger", Description: "工日台账 The double-entry ledger of exchanged workdays: balances, statements, transfers, reversals."},
	{Name: "events", Description: "通知 Notifications to households, team leaders and the village office, as a log and a live stream."},
	{Name: "notifications", Description: "短信与群机器人 The channels that carry notifications to phones — an SMS gateway, team group robots, a webhook — quiet hours, and each message's delivery."},
	{Name: "tokens", Description: "令牌与登录卡 Tokens and households' sign-in cards: list, revoke, reissue; each expires."},
	{Name: "audit", Description: "操作日志 Every change and every denial, append-only."},
	{Name: "system", Description: "系统 The service itself: health."},
}

// Handler is the whole HTTP surface with request logging around it.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			// A panic is a bug; the client gets a problem, not a dropped
			// connection, and the stack goes to the log.
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "value", v, "path", r.URL.Path, "stack", string(debug.Stack()))
				if !rec.wrote {
					w.Header().Set("Content-Type", "application/problem+json")
					w.WriteHeader(http.StatusInternalServerError)
					_, _ = w.Write([]byte(`{"title":"Internal Server Error","status":500,"detail":"internal error 内部错误"}`))
				}
			}
		}()
		s.mux.ServeHTTP(rec, r)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("took", time.Since(start)))
	})
}

// Handle serves h at pattern on the server's mux, beside the API: the web
// pages mount themselves here. A more specific pattern wins over the
// catch-all problem 404 whatever the order of registration.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// CloseStreams ends every open event stream; call it when shutdown starts
// (http.Server.RegisterOnShutdown). Other requests are left to finish.
func (s *Server) CloseStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// Close ends the open event streams and writes the audit lines still
// being counted; call it once the server has stopped serving.
func (s *Server) Close() {
	s.CloseStreams()
	s.floods.close()
}

// OpenAPI is the 3.1 document the server serves.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status, r.wrote = code, true
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flush, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) addRoutes() {
	s.addSystemRoutes()
	s.addHouseholdRoutes()
	s.addFieldRoutes()
	s.addTeamRoutes()
	s.addAuditRoutes()
	s.addLedgerRoutes()
	s.addVillageRoutes()
	s.addSeasonRoutes()
	s.addCalendarRoutes()
	s.addRequestRoutes()
	s.addJobRoutes()
	s.addDisputeRoutes()
	s.addPlanRoutes()
	s.addRunRoutes()
	s.addEventRoutes()
	s.addNotifyRoutes()
	s.addTokenRoutes()
}

type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok" doc:"ok when the database answers 数据库可用"`
	}
}

func (s *Server) addSystemRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "get-health",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "健康检查 Health check",
		Tags:        []string{"system"},
		Description: "数据库可用时返回ok，供负载均衡探测，无需令牌。 ok when the database answers; for load balancers, no token needed.",
		Security:    public,
		// 422: like every operation, it refuses unknown query parameters.
		Errors: []int{http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := s.store.DB().PingContext(ctx); err != nil {
			s.log.Error("health: database", "err", err)
			return nil, huma.Error503ServiceUnavailable("数据库不可用 database unavailable")
		}
		out := &healthOutput{}
		out.Body.Status = "ok"
		return out, nil
	})
}

// Specs renders the OpenAPI document, 3.1 and downgraded 3.0 (for client
// generators), indented so a change reads as a diff.
func Specs(log *slog.Logger) (spec31, spec30 []byte, err error) {
	s := NewServer(nil, log)
	if spec31, err = json.MarshalIndent(s.OpenAPI(), "", "  "); err != nil {
		return nil, nil, err
	}
	raw30, err := s.OpenAPI().Downgrade()
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw30, "", "  "); err != nil {
		return nil, nil, err
	}
	return append(spec31, '\n'), append(buf.Bytes(), '\n'), nil
}
