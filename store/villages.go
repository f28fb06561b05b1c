package store

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// DefaultTimezone is where every village in the service lies unless told.
const DefaultTimezone = "Asia/Shanghai"

// CreateVillage adds a village.
func (s *Store) CreateVillage(ctx context.Context, v *Village) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return s.createVillage(ctx, tx, v)
	})
}

// DefaultFreezeDays is a new village's freeze horizon: today and tomorrow.
const DefaultFreezeDays = 2

// DefaultAttendanceSlack is a new village's attendance slack: two people
// beyond a job's planned workers.
const DefaultAttendanceSlack = 2

// MaxAttendanceSlack is the most people beyond the plan a village may allow.
const MaxAttendanceSlack = 20

func (s *Store) createVillage(ctx context.Context, db bun.IDB, v *Village) error {
	v.Name = strings.TrimSpace(v.Name)
	if v.Name == "" {
		return Invalid("name", "村名必填 village name is required")
	}
	if v.Timezone == "" {
		v.Timezone = DefaultTimezone
	}
	if _, err := time.LoadLocation(v.Timezone); err != nil {
		return Invalid("timezone", "时区未知 unknown timezone %q", v.Timezone)
	}
	if v.SoftLimit == 0 {
		v.SoftLimit = DefaultSoftLimit
	}
	if v.SettlePolicy == "" {
		v.SettlePolicy = SettleCarry
	}
	if v.FreezeDays == 0 {
		v.FreezeDays = DefaultFreezeDays
	}
	if v.AttendanceSlack == 0 {
		v.AttendanceSlack = DefaultAttendanceSlack
	}
	if v.TokenDays == 0 {
		v.TokenDays = DefaultTokenDays
	}
	v.ID, v.CreatedAt = 0, s.Now().UTC()
	if _, err := db.NewInsert().Model(v).Exec(ctx); err != nil {
		return translate(err, fmt.Sprintf("village %s of %s %s", v.Name, v.County, v.Township))
	}
	return s.createAccount(ctx, db, v.ID, nil)
}

// GetVillage returns a village by ID.
func (s *Store) GetVillage(ctx context.Context, id int64) (*Village, error) {
	return s.village(ctx, s.db, id)
}

// FindVillage returns the village with the given name, or ENOTFOUND.
func (s *Store) FindVillage(ctx context.Context, name string) (*Village, error) {
	v := new(Village)
	if err := s.db.NewSelect().Model(v).Where("name = ?", name).OrderExpr("id").Limit(1).Scan(ctx); err != nil {
		return nil, translate(err, fmt.Sprintf("village %q", name))
	}
	return v, nil
}

// VillageCensus is a village and the figures a cadre checks after a seed.
type VillageCensus struct {
	Village    *Village
	Households int64
	Fields     int64
	Teams      int64
	Members    int64
}

// Census counts a village's records.
func (s *Store) Census(ctx context.Context, villageID int64) (*VillageCensus, error) {
	v, err := s.GetVillage(ctx, villageID)
	if err != nil {
		return nil, err
	}
	c := &VillageCensus{Village: v}
	for _, n := range []struct {
		model any
		dst   *int64
	}{{(*Household)(nil), &c.Households}, {(*Field)(nil), &c.Fields}, {(*Team)(nil), &c.Teams}} {
		if *n.dst, err = s.db.NewSelect().Model(n.model).Where("village_id = ?", villageID).Count(ctx); err != nil {
			return nil, translate(err, "census")
		}
	}
	c.Members, err = s.db.NewSelect().Model((*TeamMember)(nil)).
		Where("team_id IN (?)", s.db.NewSelect().Model((*Team)(nil)).Column("id").Where("village_id = ?", villageID)).
		Count(ctx)
	return c, translate(err, "census")
}

func (s *Store) village(ctx context.Context, db bun.IDB, id int64) (*Village, error) {
	v := new(Village)
	if err := db.NewSelect().Model(v).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, translate(err, fmt.Sprintf("village %d", id))
	}
	return v, nil
}

// MaxFreezeDays is the longest freeze horizon a village may set: two weeks.
const MaxFreezeDays = 14

// VillageUpdate is the settings UpdateVillage changes; nil leaves one as
// it is.
type VillageUpdate struct {
	SoftLimit  *int64 // half days, ≤ 0
	FreezeDays *int   // 0 (re-plans may move even today's jobs) … MaxFreezeDays
	// AttendanceSlack is 0 (no one beyond the plan) … MaxAttendanceSlack.
	AttendanceSlack *int
	// TokenDays is 1 … MaxTokenDays; it applies to tokens minted afterwards.
	TokenDays *int
	// PublicURL is an http(s) address without query, or "" to forget it.
	PublicURL *string
}

// UpdateVillage changes a village's settings. Unlike a new village, whose
// zero freeze horizon means the default, an update stores 0 as 0.
func (s *Store) UpdateVillage(ctx context.Context, id int64, in VillageUpdate) (*Village, error) {
	softLimit := in.SoftLimit
	if f := in.FreezeDays; f != nil && (*f < 0 || *f > MaxFreezeDays) {
		return nil, Invalid("body.freezeDays", "冻结期应为0到%[2]d天 the freeze horizon is 0 to %[1]d days, not %[3]d", MaxFreezeDays, MaxFreezeDays, *f)
	}
	if a := in.AttendanceSlack; a != nil && (*a < 0 || *a > MaxAttendanceSlack) {
		return nil, Invalid("body.attendanceSlack", "多出计划的出工人数应为0到%[2]d人 the attendance slack is 0 to %[1]d people, not %[3]d", MaxAttendanceSlack, MaxAttendanceSlack, *a)
	}
	if d := in.TokenDays; d != nil && (*d < 1 || *d > MaxTokenDays) {
		return nil, Invalid("body.tokenDays", "令牌有效期应为1到%[2]d天 a token lives 1 to %[1]d days, not %[3]d", MaxTokenDays, MaxTokenDays, *d)
	}
	var publicURL string
	if in.PublicURL != nil {
		var err error
		if publicURL, err = CleanPublicURL(*in.PublicURL); err != nil {
			return nil, err
		}
	}
	var v *Village
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if v, err = s.village(ctx, tx, id); err != nil {
			return err
		}
		if softLimit != nil {
			if *softLimit > 0 {
				return Invalid("body.softLimit", "提醒线须≤0 the soft limit is a debt: zero or below")
			}
			v.SoftLimit = *softLimit
		}
		if in.FreezeDays != nil {
			v.FreezeDays = *in.FreezeDays
		}
		if in.AttendanceSlack != nil {
			v.AttendanceSlack = *in.AttendanceSlack
		}
		if in.TokenDays != nil {
			v.TokenDays = *in.TokenDays
		}
		if in.PublicURL != nil {
			v.PublicURL = publicURL
		}
		_, err = tx.NewUpdate().Model(v).Column("soft_limit", "freeze_days", "attendance_slack", "token_days", "public_url").WherePK().Exec(ctx)
		return translate(err, "village")
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// CleanPublicURL checks an address the phones reach the pages at: http or
// https, a host, no query or fragment. It is returned without a trailing
// slash; "" stays "".
func CleanPublicURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", Invalid("body.publicUrl", "公开地址应为 http(s) 地址，如 http://192.168.1.10:8080 the public address %q is not an http(s) address like http://192.168.1.10:8080", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// ListVillages returns every village in the database, in ID order.
func (s *Store) ListVillages(ctx context.Context) ([]*Village, error) {
	var vs []*Village
	err := s.db.NewSelect().Model(&vs).OrderExpr("id").Scan(ctx)
	return vs, translate(err, "villages")
}
