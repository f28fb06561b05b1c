package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// Token is a token as the API shows it: never its secret, never its hash.
type Token struct {
	ID          int64      `json:"id" example:"12" doc:"Token ID 令牌编号"`
	Role        string     `json:"role" enum:"cadre,leader,household" example:"household" doc:"The token's role 角色"`
	HouseholdID int64      `json:"householdId,omitempty" example:"1" doc:"A household token's household 农户编号"`
	HeadName    string     `json:"headName,omitempty" example:"章仁标" doc:"Its head 户主"`
	Group       int        `json:"group,omitempty" example:"3" doc:"Its village group 村民小组"`
	TeamID      int64      `json:"teamId,omitempty" example:"1" doc:"A leader token's team 互助队编号"`
	TeamName    string     `json:"teamName,omitempty" example:"第一互助队" doc:"The team's name 互助队名称"`
	Label       string     `json:"label" example:"card 章仁标" doc:"Note on whose token this is 备注"`
	CreatedAt   time.Time  `json:"createdAt" example:"2026-03-02T01:30:00Z" doc:"Minted 发放时间"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty" example:"2027-03-02T01:30:00Z" doc:"It stops signing in then 到期时间"`
	LastUsedAt  *time.Time `json:"lastUsedAt,omitempty" example:"2026-03-20T06:12:00Z" doc:"Last signed a request in, to the minute; absent: never used 最近使用时间"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty" example:"2026-04-01T08:00:00Z" doc:"Revoked then; absent: not revoked 作废时间"`
	Live        bool       `json:"live" example:"true" doc:"Still signs in: neither revoked nor expired 仍然有效"`
}

// TokenOf shows a store token; the web pages list tokens with it too.
func TokenOf(t *store.Token, now time.Time) Token {
	out := Token{ID: t.ID, Role: t.Role, Label: t.Label, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt, Live: t.Live(now)}
	if t.HouseholdID != nil {
		out.HouseholdID = *t.HouseholdID
	}
	if t.Household != nil {
		out.HeadName, out.Group = t.Household.HeadName, t.Household.Group
	}
	if t.TeamID != nil {
		out.TeamID = *t.TeamID
	}
	if t.Team != nil {
		out.TeamName = t.Team.Name
	}
	return out
}

// Card is a new household sign-in card: its token and, shown this once,
// its secret and sign-in link.
type Card struct {
	Token     Token   `json:"token"`
	Secret    string  `json:"secret" example:"hg_3x7…" doc:"The token itself, shown this once and stored only hashed 令牌（仅显示一次）"`
	SigninURL string  `json:"signinUrl,omitempty" example:"http://192.168.1.10:8080/signin?token=hg_3x7…" doc:"The card's sign-in link, when the village has a public address 登录链接"`
	ShortCode string  `json:"shortCode" example:"7KQ-M4XP-2RT" doc:"The card's short code, shown this once: read aloud, typed on a phone at /c/{code}, case and dashes optional 短登录码（仅显示一次）"`
	ShortLink string  `json:"shortLink,omitempty" example:"http://192.168.1.10:8080/c/7KQ-M4XP-2RT" doc:"The card's short link, printed in large type, when the village has a public address 短登录链接"`
	Revoked   []int64 `json:"revoked" example:"[7]" doc:"The household's previous cards, revoked by this one 已作废的旧卡"`
}

// SigninLink is the link a card's QR code carries: base (a village's
// public address) + /signin?token=….
func SigninLink(base, secret string) string {
	return base + "/signin?" + url.Values{"token": {secret}}.Encode()
}

// ShortLink is the link printed in large type on a card, for typing:
// base + /c/ + the card's code in groups (7KQ-M4XP-2RT).
func ShortLink(base, code string) string {
	return base + "/c/" + store.FormatCardCode(code)
}

// ownsToken reports whether p may see and revoke t: a cadre any of its
// village's, anyone else those that act as itself (another card of the
// same household, another token of the same team's leader).
func ownsToken(p *Principal, t *store.Token) bool {
	switch {
	case p.Role == store.RoleCadre:
		return true
	case t.Role != p.Role:
		return false
	case p.Role == store.RoleHousehold:
		return t.HouseholdID != nil && *t.HouseholdID == p.HouseholdID
	case p.Role == store.RoleLeader:
		return t.TeamID != nil && *t.TeamID == p.TeamID
	}
	return false
}

func (s *Server) addTokenRoutes() {
	everyone := secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold)

	huma.Register(s.api, huma.Operation{
		OperationID: "list-tokens", Method: http.MethodGet, Path: "/v1/tokens",
		Summary: "令牌列表 List tokens", Tags: []string{"tokens"}, Security: everyone,
		Description: "村干部看全村的令牌，其他人只看自己的（同一户的各张卡、同一队的队长令牌）；从不返回令牌本身。 " +
			"A cadre sees the village's tokens; anyone else its own (every card of its household, every token of its team's leader). " +
			"Never the secret or its hash.",
		Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct {
		PageInput
		Role        string `query:"role" enum:"cadre,leader,household" example:"household" doc:"Only this role 只看某角色"`
		HouseholdID int64  `query:"householdId" minimum:"0" example:"1" doc:"Only this household's cards 只看某户"`
		Live        bool   `query:"live" example:"true" doc:"Only tokens that still sign in 只看有效令牌"`
	}) (*ListOutput[Token], error) {
		page, err := in.page()
		if err != nil {
			return nil, err
		}
		p := caller(ctx)
		f := store.TokenFilter{Role: in.Role, HouseholdID: in.HouseholdID, Live: in.Live}
		switch p.Role {
		case store.RoleHousehold:
			if f.HouseholdID != 0 && f.HouseholdID != p.HouseholdID {
				return nil, deny(ctx, "household", f.HouseholdID)
			}
			f.Role, f.HouseholdID = p.Role, p.HouseholdID
		case store.RoleLeader:
			f.Role, f.TeamID = p.Role, p.TeamID
		}
		rows, next, err := s.store.ListTokens(ctx, p.VillageID, f, page)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		now := s.store.Now()
		return listOf(rows, next, func(t *store.Token) Token { return TokenOf(t, now) }), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "revoke-token", Method: http.MethodDelete, Path: "/v1/tokens/{id}",
		Summary: "作废令牌 Revoke a token", Tags: []string{"tokens"}, Security: everyone,
		Description: "令牌立即失效：接口与网页登录都在同一秒内拒绝它（丢失的卡、换掉的手机）。村干部可作废全村的令牌，其他人只能作废自己的。 " +
			"The token stops at once: the API and the pages' sign-in cookie refuse it within the same second (a lost card, a lost phone). " +
			"A cadre revokes any of the village's tokens; anyone else only its own. Another village's token, or one already revoked or expired, is 404.",
		Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*struct{ Body Token }, error) {
		p := caller(ctx)
		t, err := s.store.GetToken(ctx, p.VillageID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if !ownsToken(p, t) {
			return nil, deny(ctx, "token", in.ID)
		}
		revoked, err := s.store.RevokeToken(ctx, p.VillageID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		t.RevokedAt = revoked.RevokedAt
		return &struct{ Body Token }{Body: TokenOf(t, s.store.Now())}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "reissue-token", Method: http.MethodPost, Path: "/v1/households/{id}/card",
		Summary: "补发农户登录卡 Reissue a household's sign-in card", Tags: []string{"tokens"}, Security: secured(store.RoleCadre),
		Description: "为农户发一张新登录卡（新令牌），同时作废该户以前所有有效的卡。令牌只在这次回答中出现。 " +
			"Mints a new household token — a new sign-in card — and revokes every live card the household had, in one step. " +
			"The secret and the card's short code (/c/{code}, for typing) appear in this answer only; the links are given when the village has a public address (update-village publicUrl).",
		DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*struct {
		CacheControl string `header:"Cache-Control" example:"no-store" doc:"The answer holds a secret: never cached 不缓存"`
		Body         Card
	}, error) {
		p := caller(ctx)
		tok := &store.Token{}
		card, err := s.store.ReissueCard(ctx, p.VillageID, in.ID, tok)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			CacheControl string `header:"Cache-Control" example:"no-store" doc:"The answer holds a secret: never cached 不缓存"`
			Body         Card
		}{CacheControl: "no-store"}
		out.Body = Card{Token: TokenOf(tok, s.store.Now()), Secret: card.Secret,
			ShortCode: store.FormatCardCode(card.Code), Revoked: card.Revoked}
		if out.Body.Revoked == nil {
			out.Body.Revoked = []int64{}
		}
		if v, err := s.store.GetVillage(ctx, p.VillageID); err == nil && v.PublicURL != "" {
			out.Body.SigninURL = SigninLink(v.PublicURL, card.Secret)
			out.Body.ShortLink = ShortLink(v.PublicURL, card.Code)
		}
		return out, nil
	})
}
