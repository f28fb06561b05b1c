package store

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// PhonePattern accepts a mainland mobile number (13812345678) or a landline
// with area code (0793-1234567). Empty means no phone.
const PhonePattern = `^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$`

var phoneRE = regexp.MustCompile(PhonePattern)

func (h *Household) kind() string                { return "household" }
func (h *Household) stamp() (*int64, *time.Time) { return &h.Version, &h.UpdatedAt }
func (h *Household) ident() (*int64, *int64)     { return &h.ID, &h.VillageID }

func (h *Household) check(ctx context.Context, db bun.IDB) error {
	h.HeadName = strings.TrimSpace(h.HeadName)
	switch {
	case h.HeadName == "":
		return Invalid("body.headName", "户主姓名必填 the head of household's name is required")
	case h.Group < 1:
		return Invalid("body.group", "村民小组编号须≥1 village group must be 1 or more")
	case h.Laborers < 0:
		return Invalid("body.laborers", "劳力数不能为负 laborers cannot be negative")
	case h.Members < h.Laborers:
		return Invalid("body.members", "家庭人口不能少于劳力数 members (%d) cannot be fewer than laborers (%d)", h.Members, h.Laborers)
	case h.Policy != nil && *h.Policy != PolicyAssisted && *h.Policy != PolicyExchange:
		return Invalid("body.policy", "政策只能是帮扶或换工 policy %q is neither %q nor %q", *h.Policy, PolicyAssisted, PolicyExchange)
	case h.Phone != "" && !phoneRE.MatchString(h.Phone):
		return Invalid("body.phone", "电话号码格式不对 phone %q is not a mobile (13812345678) or landline (0793-1234567) number", h.Phone)
	}
	if h.ID == 0 {
		return nil
	}
	// A household cannot offer a team more workers than it has.
	var offered int
	err := db.NewSelect().Model((*TeamMember)(nil)).ColumnExpr("COALESCE(MAX(workers_per_day), 0)").
		Where("household_id = ?", h.ID).Scan(ctx, &offered)
	if err != nil {
		return translate(err, "team members")
	}
	if h.Laborers < offered {
		return Invalid("body.laborers", "劳力数不能少于已承诺的出工人数 laborers (%d) cannot fall below the %d workers a day this household offers a team", h.Laborers, offered)
	}
	return nil
}

// HouseholdFilter narrows list-households.
type HouseholdFilter struct {
	Group      int   // 0: every group
	Vulnerable *bool // nil: all
}

// CreateHousehold adds a household to its village.
func (s *Store) CreateHousehold(ctx context.Context, h *Household) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return s.createHousehold(ctx, tx, h)
	})
}

func (s *Store) createHousehold(ctx context.Context, db bun.IDB, h *Household) error {
	h.ID = 0
	h.CreatedAt = s.Now().UTC()
	if err := create(ctx, db, h.CreatedAt, h); err != nil {
		return err
	}
	return s.createAccount(ctx, db, h.VillageID, &h.ID)
}

// GetHousehold returns one household of the village.
func (s *Store) GetHousehold(ctx context.Context, villageID, id int64) (*Household, error) {
	return getOne[Household](ctx, s.db, villageID, id, "household")
}

// ListHouseholds returns a page of the village's households in ID order.
func (s *Store) ListHouseholds(ctx context.Context, villageID int64, f HouseholdFilter, p Page) ([]*Household, int64, error) {
	return paginate(ctx, s.db, villageID, p, func(h *Household) int64 { return h.ID }, "households",
		func(q *bun.SelectQuery) *bun.SelectQuery {
			if f.Group != 0 {
				q = q.Where("group_no = ?", f.Group)
			}
			if f.Vulnerable != nil {
				cond := "(elderly OR left_behind OR disabled OR five_guarantee)"
				if !*f.Vulnerable {
					cond = "NOT " + cond
				}
				q = q.Where(cond)
			}
			return q
		})
}

// UpdateHousehold applies change to a household under optimistic
// concurrency: ifVersion 0 skips the check.
func (s *Store) UpdateHousehold(ctx context.Context, villageID, id, ifVersion int64, change func(*Household) error) (*Household, error) {
	return update[Household](ctx, s, villageID, id, ifVersion, change)
}
