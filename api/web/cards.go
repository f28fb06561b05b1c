package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"huangong/api"
	"huangong/api/cards"
	"huangong/store"
)

// cardsView is the cadre's page of sign-in cards: a village group's
// households, each with its live cards, and the buttons that revoke one,
// reissue one, or print the group's sheet.
type cardsView struct {
	Groups []int
	Group  int
	Rows   []cardRow
	Base   string // the address new cards point at
	Local  bool   // …which no phone reaches
	Flash  string
	Error  string
}

type cardRow struct {
	ID    int64
	Name  string
	Cards []cardToken
}

type cardToken struct {
	ID                         int64
	Created, Expires, LastUsed string
}

// cardsPage lists a group's households with their live cards.
func (p *Pages) cardsPage(c *call) error {
	v, err := p.loadCards(c)
	if err != nil {
		return err
	}
	switch c.r.URL.Query().Get("done") {
	case "revoked":
		v.Flash = text(c.lang, "cards.revoked", c.r.URL.Query().Get("token"))
	}
	p.render(c, http.StatusOK, "cards", "cards.title", v)
	return nil
}

func (p *Pages) loadCards(c *call) (*cardsView, error) {
	ctx := c.ctx()
	groups, err := p.groups(c)
	if err != nil {
		return nil, err
	}
	v := &cardsView{Groups: groups}
	v.Base, v.Local = p.cardBase(c)
	if g, err := strconv.Atoi(c.r.FormValue("group")); err == nil && slices.Contains(groups, g) {
		v.Group = g
	} else if len(groups) > 0 {
		v.Group = groups[0]
	}
	byHousehold := map[int64][]cardToken{}
	loc := c.v.Location()
	stamp := func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.In(loc).Format("2006-01-02 15:04")
	}
	for pg := (store.Page{Limit: 200}); ; {
		toks, next, err := p.store.ListTokens(ctx, c.v.ID, store.TokenFilter{Role: store.RoleHousehold, Live: true}, pg)
		if err != nil {
			return nil, err
		}
		for _, t := range toks {
			byHousehold[*t.HouseholdID] = append(byHousehold[*t.HouseholdID],
				cardToken{ID: t.ID, Created: stamp(&t.CreatedAt), Expires: stamp(t.ExpiresAt), LastUsed: stamp(t.LastUsedAt)})
		}
		if next == 0 {
			break
		}
		pg.After = next
	}
	for pg := (store.Page{Limit: 200}); v.Group > 0; {
		hh, next, err := p.store.ListHouseholds(ctx, c.v.ID, store.HouseholdFilter{Group: v.Group}, pg)
		if err != nil {
			return nil, err
		}
		for _, h := range hh {
			v.Rows = append(v.Rows, cardRow{ID: h.ID, Name: h.HeadName, Cards: byHousehold[h.ID]})
		}
		if next == 0 {
			break
		}
		pg.After = next
	}
	return v, nil
}

// groups are the village's groups that have households.
func (p *Pages) groups(c *call) ([]int, error) {
	var groups []int
	err := p.store.DB().NewSelect().Model((*store.Household)(nil)).ColumnExpr("DISTINCT group_no").
		Where("village_id = ?", c.v.ID).OrderExpr("group_no").Scan(c.ctx(), &groups)
	return groups, err
}

// cardBase is where new cards point: the village's public address, else
// the address this browser reached the board at. The page says when that
// is this computer's own name, which no phone reaches.
func (p *Pages) cardBase(c *call) (string, bool) {
	base := c.v.PublicURL
	if base == "" {
		scheme := "http"
		if c.r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + c.r.Host
	}
	u, err := url.Parse(base)
	host := ""
	if err == nil {
		host = u.Hostname()
	}
	return base, host == "localhost" || host == "::1" || (len(host) > 4 && host[:4] == "127.")
}

// cardsRevoke revokes one card through the API's revoke-token.
func (p *Pages) cardsRevoke(c *call) error {
	id, err := strconv.ParseInt(c.r.PathValue("tid"), 10, 64)
	if err != nil {
		return p.deny(c)
	}
	err = p.callAPI(c, http.MethodDelete, "/v1/tokens/"+itoa(id), nil, nil)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.cardsError(c, ae)
	}
	if err != nil {
		return err
	}
	q := url.Values{"group": {c.r.PostFormValue("group")}, "done": {"revoked"}, "token": {itoa(id)}}
	http.Redirect(c.w, c.r, "/board/cards?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// cardsReissue gives a household a new card through the API's
// reissue-token, which revokes its old ones, and answers with the new
// card as a PDF to print: the secret is shown this once, on paper.
func (p *Pages) cardsReissue(c *call) error {
	id, err := strconv.ParseInt(c.r.PathValue("hid"), 10, 64)
	if err != nil {
		return p.deny(c)
	}
	// The font is checked first: a card minted that cannot be printed
	// would revoke the old one for nothing.
	if _, err := cards.SystemFont(); err != nil {
		return p.cardsError(c, &apiError{Status: http.StatusServiceUnavailable, Detail: err.Error()})
	}
	var card api.Card
	err = p.callAPI(c, http.MethodPost, "/v1/households/"+itoa(id)+"/card", nil, &card)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.cardsError(c, ae)
	}
	if err != nil {
		return err
	}
	base, _ := p.cardBase(c)
	one := cards.Card{Name: card.Token.HeadName, Group: card.Token.Group, Village: c.v.Name, HouseholdID: id,
		Link: api.SigninLink(base, card.Secret), Short: api.ShortLink(base, card.ShortCode)}
	return p.sendCards(c, fmt.Sprintf("card-%d.pdf", id), fmt.Sprintf("%s %s 登录卡", c.v.Name, one.Name), []cards.Card{one})
}

// cardsSheet prints a group's sheet: a new card for each household of the
// group, their old cards revoked, all in one transaction.
func (p *Pages) cardsSheet(c *call) error {
	group, err := strconv.Atoi(c.r.PostFormValue("group"))
	if err != nil || group < 1 {
		return p.cardsError(c, formError("group", text(c.lang, "rain.badgroup", c.r.PostFormValue("group"))))
	}
	if _, err := cards.SystemFont(); err != nil {
		return p.cardsError(c, &apiError{Status: http.StatusServiceUnavailable, Detail: err.Error()})
	}
	base, _ := p.cardBase(c)
	sheet, err := cards.Issue(c.ctx(), p.store, c.v, group, base, nil)
	if err != nil {
		return err
	}
	return p.sendCards(c, fmt.Sprintf("cards-group-%d.pdf", group), cards.Title(c.v, group), sheet.Cards)
}

// sendCards answers with the cards as a PDF download that nothing caches:
// the cards are keys.
func (p *Pages) sendCards(c *call, file, title string, cs []cards.Card) error {
	font, err := cards.SystemFont()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := cards.Write(&buf, font, title, cs); err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", `attachment; filename="`+file+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(buf.Bytes())
	return nil
}

func (p *Pages) cardsError(c *call, ae *apiError) error {
	v, err := p.loadCards(c)
	if err != nil {
		return err
	}
	v.Error = ae.Detail
	p.render(c, ae.Status, "cards", "cards.title", v)
	return nil
}
