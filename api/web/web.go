// Package web serves the pages people use, beside the API: the household's
// phone page, the cadre's season board and the printable public notice
// (公示). Pages are rendered on the server with html/template from assets
// embedded in the binary — no CDN and no web font, since village networks
// are often offline — Chinese first with an English switch, and every page
// works with JavaScript off; only the board's live refresh needs it.
//
// A page's caller is a store token, resolved exactly as the API resolves a
// bearer token: a sign-in link carries the secret once and leaves it in an
// HttpOnly cookie. Pages read the store under the API's scoping rules (a
// household its own records, a cadre its village), and every change a page
// makes goes through the API's own operation in-process, so its rules,
// audit and error messages are the API's.
package web

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"huangong/api"
	"huangong/store"
)

//go:embed templates static
var assets embed.FS

// Pages is the web face of the service.
type Pages struct {
	store *store.Store
	api   http.Handler // the API, called in-process for every change
	srv   *api.Server  // its throttle of failed sign-ins and count of anonymous denials
	log   *slog.Logger
	pages map[string]*template.Template
	cop   *http.CrossOriginProtection
}

// LivePoll is how often the board asks whether anything changed.
var LivePoll = 5 * time.Second

// Mount builds the pages and serves them on the API server's mux: /signin,
// a card's short link /c/{code}, /signout, /h/{id}, /board, /board/cards, /notice and /static/, and / for
// a browser.
func Mount(srv *api.Server, st *store.Store, log *slog.Logger) *Pages {
	p := &Pages{store: st, api: srv.Handler(), srv: srv, log: log, pages: map[string]*template.Template{},
		cop: http.NewCrossOriginProtection()}
	for _, name := range []string{"signin", "household", "board", "notice", "message", "notify", "cards"} {
		p.pages[name] = template.Must(template.New(name).Funcs(funcs).
			ParseFS(assets, "templates/layout.tmpl", "templates/"+name+".tmpl"))
	}
	// A browser sends Sec-Fetch-Site or Origin with every form post; one
	// from another site is refused before the form's token is even read.
	p.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, who := p.session(w, r)
		p.appendAudit(r, who, "web:cross-origin", r.URL.Path, http.StatusForbidden, store.OutcomeDenied)
		p.refuse(w, r, nil, http.StatusForbidden, "err.crossorigin")
	}))
	static, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err)
	}
	srv.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(24*time.Hour, http.FileServerFS(static))))
	srv.Handle("GET /{$}", http.HandlerFunc(p.root))
	srv.Handle("GET /signin", http.HandlerFunc(p.signinPage))
	srv.Handle("GET /c/{code}", http.HandlerFunc(p.cardLink))
	srv.Handle("POST /signin", p.cop.Handler(http.HandlerFunc(p.signinForm)))
	srv.Handle("POST /signout", p.guard("signout", anyRole, p.signout))
	srv.Handle("GET /h/{id}", p.guard("household-page", householdRoles, p.household))
	srv.Handle("POST /h/{id}/requests", p.guard("household-request", householdRoles, p.askForHelp))
	srv.Handle("POST /h/{id}/requests/{rid}/feedback", p.guard("household-feedback", householdRoles, p.feedback))
	srv.Handle("POST /h/{id}/jobs/{jid}/dispute", p.guard("household-dispute", householdRoles, p.disputeJob))
	srv.Handle("POST /h/{id}/requests/{rid}/cancel", p.guard("household-cancel", householdRoles, p.cancelRequest))
	srv.Handle("GET /board", p.guard("board", cadreOnly, p.board))
	srv.Handle("GET /board/live", p.guard("board-live", cadreOnly, p.boardLive))
	srv.Handle("POST /board/plan", p.guard("board-plan", cadreOnly, p.boardPlan))
	srv.Handle("POST /board/rain", p.guard("board-rain", cadreOnly, p.boardRain))
	srv.Handle("POST /board/disputes/{jid}", p.guard("board-resolve-dispute", cadreOnly, p.boardResolve))
	srv.Handle("POST /board/unblock", p.guard("board-unblock", cadreOnly, p.boardUnblock))
	srv.Handle("GET /notice", p.guard("notice", cadreOnly, p.notice))
	srv.Handle("GET /board/notify", p.guard("board-notify", cadreOnly, p.notifyPage))
	srv.Handle("POST /board/notify/channels", p.guard("board-notify-add", cadreOnly, p.notifyAdd))
	srv.Handle("POST /board/notify/channels/{id}/delete", p.guard("board-notify-remove", cadreOnly, p.notifyRemove))
	srv.Handle("POST /board/notify/deliveries/{id}/retry", p.guard("board-notify-retry", cadreOnly, p.notifyRetry))
	srv.Handle("POST /board/notify/settings", p.guard("board-notify-settings", cadreOnly, p.notifySettings))
	srv.Handle("GET /board/cards", p.guard("board-cards", cadreOnly, p.cardsPage))
	srv.Handle("POST /board/cards/tokens/{tid}/revoke", p.guard("board-revoke-card", cadreOnly, p.cardsRevoke))
	srv.Handle("POST /board/cards/{hid}/reissue", p.guard("board-reissue-card", cadreOnly, p.cardsReissue))
	srv.Handle("POST /board/cards/sheet", p.guard("board-card-sheet", cadreOnly, p.cardsSheet))
	return p
}

var (
	anyRole        = []string{store.RoleCadre, store.RoleLeader, store.RoleHousehold}
	householdRoles = []string{store.RoleCadre, store.RoleHousehold}
	cadreOnly      = []string{store.RoleCadre}
)

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age="+itoa(int64(d/time.Second)))
		h.ServeHTTP(w, r)
	})
}

// call is one page request with its caller.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	who    *api.Principal
	secret string // the caller's token: the API is called with it
	lang   string
	action string // for the audit log
	v      *store.Village
}

func (c *call) ctx() context.Context { return c.r.Context() }

// guard resolves the caller from the sign-in cookie and lets it through if
// its role may open the page: no or a dead cookie goes to the sign-in page
// (a form post is refused), another role is a 403. A post must carry the
// session's form token and come from this site. Denials and every post are
// audited, as the API audits them.
func (p *Pages) guard(action string, roles []string, h func(*call) error) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, lang: p.language(w, r), action: action}
		rec := &statusWriter{ResponseWriter: w}
		c.w = rec
		post := r.Method == http.MethodPost
		if post {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10) // a form, not an upload
		}
		defer func() {
			if post || rec.denied {
				p.audit(c, rec.status)
			}
		}()
		secret, who := p.session(w, r)
		if who == nil {
			if post {
				rec.denied = true
				p.refuse(c.w, r, c, http.StatusUnauthorized, "err.signedout")
				return
			}
			http.Redirect(c.w, r, "/signin", http.StatusSeeOther)
			return
		}
		c.who, c.secret = who, secret
		if !slices.Contains(roles, who.Role) {
			rec.denied = true
			p.refuse(c.w, r, c, http.StatusForbidden, "err.role")
			return
		}
		if post && !validCSRF(secret, r.PostFormValue(csrfField)) {
			rec.denied = true
			p.refuse(c.w, r, c, http.StatusForbidden, "err.csrf")
			return
		}
		if post {
			if field, ok := notText(r.PostForm); ok {
				fe := formError(field, text(c.lang, "err.utf8", fieldLabel(c.lang, field)))
				p.message(c.w, r, c, fe.Status, "err.title", fe.Detail)
				return
			}
		}
		v, err := p.store.GetVillage(r.Context(), who.VillageID)
		if err == nil {
			c.v = v
			err = h(c)
		}
		if err != nil {
			p.fail(c, err)
		}
	})
	return p.cop.Handler(inner)
}

// statusWriter remembers the status a page answered with, and whether a
// handler marked the request as a denial, for the audit log.
type statusWriter struct {
	http.ResponseWriter
	status int
	denied bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// audit writes the page's line of the audit log: every post (the API
// writes its own line for the operation the post called) and every denial.
func (p *Pages) audit(c *call, status int) {
	sw, _ := c.w.(*statusWriter)
	p.appendAudit(c.r, c.who, "web:"+c.action, c.r.URL.Path, status, api.AuditOutcome(status, sw != nil && sw.denied))
}

// appendAudit writes one line; who may be nil (anonymous). Anonymous
// denials after an address's first in a minute are counted into one line,
// as the API's are. A failure is logged, not shown: the answer has gone
// out already.
func (p *Pages) appendAudit(r *http.Request, who *api.Principal, action, target string, status int, outcome string) {
	e := &store.AuditEntry{Action: action, Target: target, Status: status, Actor: "anonymous", Outcome: outcome}
	if who != nil {
		e.Actor, e.VillageID, e.TokenID = who.String(), &who.VillageID, &who.TokenID
	} else if outcome == store.OutcomeDenied && !p.srv.CountDenial(r, e) {
		return
	}
	if err := p.store.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		p.log.Error("web: audit", "err", err, "action", action)
	}
}

// deny answers a record outside the caller's scope as the API does: it is
// not admitted to exist.
func (p *Pages) deny(c *call) error {
	if sw, ok := c.w.(*statusWriter); ok {
		sw.denied = true
	}
	p.refuse(c.w, c.r, c, http.StatusNotFound, "err.notfound")
	return nil
}

// fail shows an error that reached a page: a domain error with its status
// and message, anything else as an internal error (logged, not shown).
func (p *Pages) fail(c *call, err error) {
	status, ok := api.StatusOf(store.ErrorCode(err))
	if !ok {
		p.log.ErrorContext(c.ctx(), "web: internal error", "err", err, "path", c.r.URL.Path)
		p.refuse(c.w, c.r, c, http.StatusInternalServerError, "err.internal")
		return
	}
	p.message(c.w, c.r, c, status, "err.title", store.ErrorMessage(err))
}

// formError is a page's own refusal of a form field, shown where the
// API's refusal would be and with the status the API gives it.
func formError(field, detail string) *apiError {
	status, _ := api.StatusOf(store.EINVALID)
	return &apiError{Status: status, Detail: detail, Field: field}
}

// notText finds a form field whose name or value is not UTF-8 text or
// holds a NUL (api.BadText): it would be stored with U+FFFD in place of
// what was meant, or break the statement, so it is refused instead,
// naming the field.
func notText(form url.Values) (string, bool) {
	names := slices.Sorted(maps.Keys(form))
	for _, name := range names {
		if api.BadText(name) != "" {
			return strconv.QuoteToASCII(name), true
		}
		for _, v := range form[name] {
			if api.BadText(v) != "" {
				return name, true
			}
		}
	}
	return "", false
}

// fieldLabel is how a page's form names a field; a field it does not
// name shows as itself.
func fieldLabel(lang, field string) string {
	if key := "form." + field; text(lang, key) != key {
		return text(lang, key)
	}
	return field
}

// refuse answers with a short bilingual page for a message key.
func (p *Pages) refuse(w http.ResponseWriter, r *http.Request, c *call, status int, key string) {
	lang := langZH
	if c != nil {
		lang = c.lang
	}
	p.message(w, r, c, status, "err.title", text(lang, key))
}

// message renders the message page: a title, a line, a way back.
func (p *Pages) message(w http.ResponseWriter, r *http.Request, c *call, status int, titleKey, line string) {
	if c == nil {
		c = &call{w: w, r: r, lang: p.language(w, r)}
	}
	p.render(c, status, "message", titleKey, struct{ Line string }{line})
}

// view is what every page's template gets: the page's own data and what
// the layout needs.
type view struct {
	Lang     string
	TitleKey string
	CSRF     string
	Signed   bool
	Role     string
	Village  string
	LangURL  string // the same page in the other language
	Path     string
	Page     any
}

// T translates a catalogue key into the page's language.
func (v *view) T(key string, args ...any) string { return text(v.Lang, key, args...) }

// render writes a page; a template error is a bug and a 500.
func (p *Pages) render(c *call, status int, name, titleKey string, page any) {
	v := &view{Lang: c.lang, TitleKey: titleKey, Page: page, Path: c.r.URL.Path, LangURL: otherLang(c.r.URL, c.lang)}
	if c.who != nil {
		v.Signed, v.Role, v.CSRF = true, c.who.Role, csrfToken(c.secret)
	}
	if c.v != nil {
		v.Village = c.v.Name
	}
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		p.log.Error("web: template", "page", name, "err", err)
		http.Error(c.w, "内部错误 internal error", http.StatusInternalServerError)
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Referrer-Policy") == "" { // a sign-in page has set no-referrer
		h.Set("Referrer-Policy", "same-origin")
	}
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(buf.Bytes())
}

// otherLang is the URL of the same page in the other language.
func otherLang(u *url.URL, lang string) string {
	q := u.Query()
	if lang == langEN {
		q.Set("lang", langZH)
	} else {
		q.Set("lang", langEN)
	}
	return (&url.URL{Path: u.Path, RawQuery: q.Encode()}).String()
}

// root sends a browser to its page: a household's own, the cadre's board,
// or the sign-in page.
func (p *Pages) root(w http.ResponseWriter, r *http.Request) {
	_, who := p.session(w, r)
	http.Redirect(w, r, homeOf(who), http.StatusSeeOther)
}

func homeOf(who *api.Principal) string {
	switch {
	case who == nil:
		return "/signin"
	case who.Role == store.RoleHousehold:
		return "/h/" + itoa(who.HouseholdID)
	case who.Role == store.RoleCadre:
		return "/board"
	}
	return "/signin?role=" + who.Role
}
