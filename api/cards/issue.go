package cards

import (
	"context"
	"fmt"
	"time"

	"huangong/api"
	"huangong/store"
)

// Sheet is a sheet of new cards: what was minted and what was revoked.
type Sheet struct {
	Cards   []Card
	Revoked int // the households' previous cards, revoked by these
}

// Issue reissues the cards of a village's households — those of one
// village group, or every household when group is 0 — in one transaction,
// revoking their previous cards, and returns the cards to print. Their
// links start at base, the pages' address as the phones reach it; expires
// nil gives them the village's default lifetime.
func Issue(ctx context.Context, st *store.Store, v *store.Village, group int, base string, expires *time.Time) (*Sheet, error) {
	var ids []int64
	p := store.Page{Limit: 200}
	for {
		hh, next, err := st.ListHouseholds(ctx, v.ID, store.HouseholdFilter{Group: group}, p)
		if err != nil {
			return nil, err
		}
		for _, h := range hh {
			ids = append(ids, h.ID)
		}
		if next == 0 {
			break
		}
		p.After = next
	}
	if len(ids) == 0 {
		return nil, store.Errorf(store.ENOTFOUND, "第%d组没有农户 no household in group %d", group, group)
	}
	issued, err := st.ReissueCards(ctx, v.ID, ids, "", expires)
	if err != nil {
		return nil, err
	}
	sheet := &Sheet{}
	for _, c := range issued {
		h := c.Token.Household
		sheet.Cards = append(sheet.Cards, Card{Name: h.HeadName, Group: h.Group, Village: v.Name, HouseholdID: h.ID,
			Link: api.SigninLink(base, c.Secret), Short: api.ShortLink(base, c.Code)})
		sheet.Revoked += len(c.Revoked)
	}
	return sheet, nil
}

// Title names a sheet: 皇珠村 第3组 登录卡.
func Title(v *store.Village, group int) string {
	if group == 0 {
		return fmt.Sprintf("%s 登录卡 sign-in cards", v.Name)
	}
	return fmt.Sprintf("%s 第%d组 登录卡 sign-in cards, group %d", v.Name, group, group)
}
