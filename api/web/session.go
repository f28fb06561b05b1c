package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"huangong/api"
	"huangong/store"
)

// CookieName is the sign-in cookie. It holds the token's secret itself:
// the card a cadre prints carries the same secret, the store keeps only
// its SHA-256, and every request looks the token up again, so revoking it
// (a lost phone) or its expiry signs the page out on the next request.
const CookieName = "huangong_session"

// cookieAge keeps a household signed in across a season and the next: a
// 62-year-old farmer should not have to find the card again in autumn.
const cookieAge = 180 * 24 * time.Hour

// csrfField is the hidden form field that carries the form token.
const csrfField = "csrf"

// session returns the caller of a request from its cookie; nil when there
// is none or it is not a live token. A cookie is a token too, guessed
// through as the sign-in link and the API are, under the same throttle
// (api.Server.Admit). A cookie that opens nothing (its card revoked or
// expired, or never a card) is cleared on w: a board left open on it, or a
// phone, stops sending it, and the sign-in page it is sent to sees none.
func (p *Pages) session(w http.ResponseWriter, r *http.Request) (string, *api.Principal) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return "", nil
	}
	who, _, err := p.srv.Admit(r, ck.Value)
	if err != nil {
		if store.ErrorCode(err) != store.EUNAUTHORIZED {
			p.log.Error("web: session", "err", err) // the database, not the cookie: keep it
		} else {
			clearSession(w, r)
		}
		return "", nil
	}
	return ck.Value, who
}

// setSession leaves the secret in the cookie, for cookieAge but never
// beyond the token's own expiry.
//
// SameSite is Lax, not Strict: a household opens its page from a link —
// the QR code on its card, or the link a cadre sent to the family's chat —
// and a Strict cookie is withheld from every navigation that starts on
// another site, including the redirect that follows the sign-in link
// itself (Chrome counts the whole redirect chain as cross-site), so the
// farmer would land on the sign-in page again. Lax still keeps the cookie
// off every cross-site form post, which is where a forged request could
// change something; GET pages change nothing, and every post also needs
// the session's form token and a same-site Sec-Fetch-Site or Origin.
func setSession(w http.ResponseWriter, r *http.Request, secret string, expires, now time.Time) {
	age := cookieAge
	if !expires.IsZero() {
		age = min(age, expires.Sub(now))
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: secret, Path: "/", MaxAge: max(1, int(age/time.Second)),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}

// csrfToken is the form token of a session: an HMAC keyed by the session's
// secret. Only someone who holds the cookie can compute it, it needs no
// server state, and it outlives a restart of the service.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("huangong web form v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func validCSRF(secret, got string) bool {
	return got != "" && hmac.Equal([]byte(got), []byte(csrfToken(secret)))
}

// signinPage signs in with a link's token (?token=), or shows the form to
// paste one. The token never stays in the address bar: the answer is a
// redirect to the caller's page, which carries nothing but the cookie.
func (p *Pages) signinPage(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, lang: p.language(w, r)}
	if secret := r.URL.Query().Get("token"); secret != "" {
		p.signin(c, secret)
		return
	}
	// Signed in already, the pasted token's form carries the form token:
	// it switches who is signed in, as the switch page's button does.
	c.secret, c.who = p.session(w, r)
	p.render(c, http.StatusOK, "signin", "signin.title", signinView{Role: r.URL.Query().Get("role")})
}

// signinForm is the pasted token's sign-in, the typed card code's (what
// is not a token is taken for one), and the switch page's button.
func (p *Pages) signinForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	c := &call{w: w, r: r, lang: p.language(w, r)}
	typed := strings.TrimSpace(r.PostFormValue("token"))
	if !strings.HasPrefix(typed, store.TokenPrefix) {
		p.signinCode(c, typed, r.URL.Path)
		return
	}
	p.signin(c, typed)
}

type signinView struct {
	Role   string // a leader signed in: the pages are not for it
	Error  string
	Switch *switchView
}

// switchView asks before a sign-in replaces the session of someone else.
type switchView struct {
	From, To string // who is signed in, who the token is
	Token    string // the token, for the button's post
}

// signin signs a browser in with a token. A browser signed in as someone
// else is asked first — a link followed from another site must not
// silently make the farmer act as, or see the records of, the link's
// owner — and switches only on a post from this site that carries its
// session's form token. With no session the link signs in in one step:
// a farmer scans the card and is in.
func (p *Pages) signin(c *call, secret string) {
	// The link's token must not leak from this answer either: no referrer
	// leaves it, and nothing caches it.
	c.w.Header().Set("Referrer-Policy", "no-referrer")
	who, wait, err := p.srv.Admit(c.r, secret)
	if p.signinRefused(c, c.r.URL.Path, wait, err) {
		return
	}
	curSecret, cur := p.session(c.w, c.r)
	confirmed := c.r.Method == http.MethodPost && validCSRF(curSecret, c.r.PostFormValue(csrfField))
	if cur != nil && !samePrincipal(cur, who) && !confirmed {
		c.secret, c.who = curSecret, cur
		sv := &switchView{From: p.describe(c, cur), To: p.describe(c, who), Token: secret}
		p.render(c, http.StatusOK, "signin", "signin.switch", signinView{Switch: sv})
		return
	}
	setSession(c.w, c.r, secret, who.Expires, p.store.Now())
	http.Redirect(c.w, c.r, homeOf(who), http.StatusSeeOther)
}

// signinRefused answers a sign-in that failed (err not nil): 429 with
// Retry-After when wait > 0, else the sign-in page's 401, each audited as
// an anonymous denial of target (aggregated per address and minute when
// they flood). It reports whether it answered.
func (p *Pages) signinRefused(c *call, target string, wait time.Duration, err error) bool {
	switch {
	case err == nil:
		return false
	case wait > 0:
		p.appendAudit(c.r, nil, "web:signin", target, http.StatusTooManyRequests, store.OutcomeDenied)
		c.w.Header().Set("Retry-After", api.RetryAfter(wait))
		p.render(c, http.StatusTooManyRequests, "signin", "signin.title", signinView{Error: text(c.lang, "signin.wait")})
	default:
		if store.ErrorCode(err) != store.EUNAUTHORIZED {
			p.log.Error("web: signin", "err", err)
		}
		p.appendAudit(c.r, nil, "web:signin", target, http.StatusUnauthorized, store.OutcomeDenied)
		p.render(c, http.StatusUnauthorized, "signin", "signin.title", signinView{Error: text(c.lang, "signin.bad")})
	}
	return true
}

// cardLinkTarget is how the audit log names a short link's sign-in: never
// with the code, right or guessed.
const cardLinkTarget = "/c/{code}"

// cardLink signs in with a card's short link, /c/7KQ-M4XP-2RT (any case,
// dashes optional): the code opens its token's secret, and the sign-in is
// then the long link's (signin) — the same cookie, the same redirect, the
// same question before switching someone else's session. A wrong or dead
// code is a failed sign-in, throttled and audited as a wrong token is.
func (p *Pages) cardLink(w http.ResponseWriter, r *http.Request) {
	p.signinCode(&call{w: w, r: r, lang: p.language(w, r)}, r.PathValue("code"), cardLinkTarget)
}

// signinCode signs in with a card's code, typed or followed; a failure is
// audited as a denial of target.
func (p *Pages) signinCode(c *call, code, target string) {
	c.w.Header().Set("Referrer-Policy", "no-referrer")
	secret, wait, err := p.srv.AdmitCard(c.r, code)
	if p.signinRefused(c, target, wait, err) {
		return
	}
	p.signin(c, secret)
}

// samePrincipal reports whether two tokens act as the same one: another
// card of the same household, say.
func samePrincipal(a, b *api.Principal) bool {
	return a.VillageID == b.VillageID && a.Role == b.Role && a.TeamID == b.TeamID && a.HouseholdID == b.HouseholdID
}

// describe names a principal as people know it: 章仁标户, 皇珠村村干部.
func (p *Pages) describe(c *call, who *api.Principal) string {
	ctx := c.ctx()
	switch who.Role {
	case store.RoleHousehold:
		if h, err := p.store.GetHousehold(ctx, who.VillageID, who.HouseholdID); err == nil {
			return text(c.lang, "who.household", h.HeadName)
		}
	case store.RoleLeader:
		if t, err := p.store.GetTeam(ctx, who.VillageID, who.TeamID); err == nil {
			return text(c.lang, "who.leader", t.Name)
		}
	case store.RoleCadre:
		if v, err := p.store.GetVillage(ctx, who.VillageID); err == nil {
			return text(c.lang, "who.cadre", v.Name)
		}
	}
	return who.String()
}

func (p *Pages) signout(c *call) error {
	clearSession(c.w, c.r)
	http.Redirect(c.w, c.r, "/signin", http.StatusSeeOther)
	return nil
}

// Languages: Chinese is the default, English the switch.
const (
	langZH = "zh"
	langEN = "en"
)

// language is the page's language: ?lang= (remembered in a cookie), the
// cookie, or Chinese.
func (p *Pages) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == langZH || l == langEN {
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
		return l
	}
	if ck, err := r.Cookie("lang"); err == nil && ck.Value == langEN {
		return langEN
	}
	return langZH
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
