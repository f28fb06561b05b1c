package store

import (
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// Crops a field can carry.
const (
	CropEarlyRice  = "early_rice"
	CropLateRice   = "late_rice"
	CropSingleRice = "single_rice"
	CropRapeseed   = "rapeseed"
	CropOther      = "other"
)

// Crops lists every crop in the order the API documents them.
var Crops = []string{CropEarlyRice, CropLateRice, CropSingleRice, CropRapeseed, CropOther}

// Roles a token can carry.
const (
	RoleCadre     = "cadre"     // 村干部: the whole village
	RoleLeader    = "leader"    // 队长: one team
	RoleHousehold = "household" // 农户: one household
)

// Village is one 村; every other record belongs to exactly one.
type Village struct {
	bun.BaseModel `bun:"table:villages"`

	ID        int64     `bun:",pk,autoincrement"`
	Name      string    `bun:",notnull"`
	County    string    `bun:",notnull"`
	Township  string    `bun:",notnull"`
	Timezone  string    `bun:",notnull"`
	CreatedAt time.Time `bun:",notnull"`
	// SoftLimit flags households whose balance falls below it (half days,
	// default −10 workdays). It never refuses help.
	SoftLimit int64 `bun:",notnull"`
	// SettlePolicy is what a season's close does with balances: SettleCarry
	// (the default) or SettleZero.
	SettlePolicy string `bun:",notnull"`
	// FreezeDays is the freeze horizon: a re-plan never moves a job dated
	// before today + FreezeDays in the village (default 2: today and
	// tomorrow), so no one is told of a change at the last minute.
	FreezeDays int `bun:",notnull"`
	// AttendanceSlack is how many people beyond a job's planned workers a
	// leader may record on it (default 2): a neighbour who came along is
	// welcome, a hundred named "helpers" are not.
	AttendanceSlack int `bun:",notnull"`
	// TokenDays is how long a new household or leader token lives
	// (default 365); a cadre's lives CadreTokenDays.
	TokenDays int `bun:",notnull"`
	// PublicURL is the address the phones reach the pages at, printed on
	// sign-in cards ("" until a cadre sets it).
	PublicURL string `bun:",notnull"`
}

// Location is the village's timezone; dates are calendar dates there.
func (v *Village) Location() *time.Location {
	if loc, ok := locations.Load(v.Timezone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(v.Timezone) // reads tzdata from disk: cached
	if err != nil {
		return time.FixedZone("CST", 8*3600) // checked on create; China Standard Time otherwise
	}
	locations.Store(v.Timezone, loc)
	return loc
}

var locations sync.Map // timezone name → *time.Location

// Household is one 户 with its labor and the flags that make it vulnerable.
type Household struct {
	bun.BaseModel `bun:"table:households"`

	ID            int64  `bun:",pk,autoincrement"`
	VillageID     int64  `bun:",notnull"`
	HeadName      string `bun:",notnull"`
	Group         int    `bun:"group_no,notnull"` // 村民小组, numbered from 1
	Laborers      int    `bun:",notnull"`         // able-bodied workers
	Members       int    `bun:",notnull"`
	Elderly       bool   `bun:",notnull"`
	LeftBehind    bool   `bun:",notnull"`
	Disabled      bool   `bun:",notnull"`
	FiveGuarantee bool   `bun:",notnull"` // 五保户
	// Exempt households have the help they receive covered by the village fund.
	Exempt bool `bun:",notnull"`
	// Policy is the cadre's choice, PolicyAssisted or PolicyExchange; nil
	// follows the flags (see EffectivePolicy).
	Policy      *string   ``
	PartyMember string    `bun:",notnull"` // 联户党员, the party member linked to the household
	Phone       string    `bun:",notnull"`
	Version     int64     `bun:",notnull"`
	CreatedAt   time.Time `bun:",notnull"`
	UpdatedAt   time.Time `bun:",notnull"`
}

// Vulnerable reports whether any flag marks the household as short of help.
func (h *Household) Vulnerable() bool {
	return h.Elderly || h.LeftBehind || h.Disabled || h.FiveGuarantee
}

// Household policies: how the help a household receives is paid.
const (
	// PolicyAssisted (帮扶): help received is recorded in full but the
	// village fund, not the household, is debited, so its balance never
	// goes below zero and no page calls it a debtor.
	PolicyAssisted = "assisted"
	// PolicyExchange (换工): help received is owed back in workdays.
	PolicyExchange = "exchange"
)

// EffectivePolicy is the household's policy: the cadre's choice when one
// was made, else assisted for a vulnerable household and exchange for
// any other.
func (h *Household) EffectivePolicy() string {
	if h.Policy != nil && *h.Policy != "" {
		return *h.Policy
	}
	if h.Vulnerable() {
		return PolicyAssisted
	}
	return PolicyExchange
}

// FundCovers reports whether the village fund pays for the help the
// household receives: it is exempt or follows the assisted policy.
func (h *Household) FundCovers() bool {
	return h.Exempt || h.EffectivePolicy() == PolicyAssisted
}

// Field is one 田块. Its area is kept in hundredths of a mu so that sums
// and comparisons are exact.
type Field struct {
	bun.BaseModel `bun:"table:fields"`

	ID          int64     `bun:",pk,autoincrement"`
	VillageID   int64     `bun:",notnull"`
	HouseholdID int64     `bun:",notnull"`
	Name        string    `bun:",notnull"`
	AreaCentimu int64     `bun:",notnull"`
	Crop        string    `bun:",notnull"`
	Group       int       `bun:"group_no,notnull"`
	Version     int64     `bun:",notnull"`
	CreatedAt   time.Time `bun:",notnull"`
	UpdatedAt   time.Time `bun:",notnull"`
}

// Team is one 互助队. Its leader is a person of a member household.
type Team struct {
	bun.BaseModel `bun:"table:teams"`

	ID                int64     `bun:",pk,autoincrement"`
	VillageID         int64     `bun:",notnull"`
	Name              string    `bun:",notnull"`
	LeaderName        string    `bun:",notnull"`
	LeaderHouseholdID *int64    ``
	Version           int64     `bun:",notnull"`
	CreatedAt         time.Time `bun:",notnull"`
	UpdatedAt         time.Time `bun:",notnull"`

	Members []*TeamMember `bun:"rel:has-many,join:id=team_id"`
}

// TeamMember is a household that works for a team: how many of its
// laborers it offers a day, and the dates it cannot come.
type TeamMember struct {
	bun.BaseModel `bun:"table:team_members"`

	TeamID          int64     `bun:",pk"`
	HouseholdID     int64     `bun:",pk"`
	WorkersPerDay   int       `bun:",notnull"`
	UnavailableDays []string  `bun:",type:json,notnull"` // YYYY-MM-DD in the village's timezone
	CreatedAt       time.Time `bun:",notnull"`

	Household *Household `bun:"rel:belongs-to,join:household_id=id"`
}

// Token is a bearer credential. Only the SHA-256 of the secret is kept.
type Token struct {
	bun.BaseModel `bun:"table:tokens"`

	ID          int64      `bun:",pk,autoincrement"`
	VillageID   int64      `bun:",notnull"`
	Role        string     `bun:",notnull"`
	TeamID      *int64     ``
	HouseholdID *int64     ``
	Hash        []byte     `bun:",notnull,unique"`
	Label       string     `bun:",notnull"`
	CreatedAt   time.Time  `bun:",notnull"`
	RevokedAt   *time.Time ``
	// ExpiresAt ends the token's life unless it is revoked first.
	ExpiresAt *time.Time ``
	// LastUsedAt is when the token last signed a request in, to the
	// minute: it is written at most once a minute per token.
	LastUsedAt *time.Time ``
	// ShortHash and ShortSeal are a household card's short code: its
	// hash, and the secret sealed under a key derived from the code
	// (store.CardSecret). Nil on every other token.
	ShortHash []byte `bun:",nullzero"`
	ShortSeal []byte `bun:",nullzero"`

	// Loaded by ListTokens, for the names people know a token by.
	Household *Household `bun:"rel:belongs-to,join:household_id=id"`
	Team      *Team      `bun:"rel:belongs-to,join:team_id=id"`
}

// Live reports whether the token still signs in at now: not revoked, not
// expired.
func (t *Token) Live(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// AuditEntry is one line of the append-only audit log: every mutating
// request and every denial.
type AuditEntry struct {
	bun.BaseModel `bun:"table:audit_log"`

	ID        int64     `bun:",pk,autoincrement"`
	VillageID *int64    ``
	TokenID   *int64    ``
	Actor     string    `bun:",notnull"` // "cadre#3", "household#12@token4", "anonymous"
	Action    string    `bun:",notnull"` // operation ID
	Target    string    `bun:",notnull"` // request path, e.g. /v1/households/12
	Status    int       `bun:",notnull"`
	Outcome   string    `bun:",notnull"` // ok, denied, rejected, failed
	At        time.Time `bun:",notnull"`
	Count     int64     `bun:",notnull"` // requests the line stands for: 1, or a flood's aggregate
}
