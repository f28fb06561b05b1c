package store

import (
	"cmp"
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Channel kinds: how a message leaves the service.
const (
	ChannelSMS      = "sms"      // the village's SMS gateway, an HTTP template; reaches households
	ChannelWeCom    = "wecom"    // a team's WeCom (企业微信) group robot
	ChannelDingTalk = "dingtalk" // a team's DingTalk (钉钉) group robot, optionally signed
	ChannelWebhook  = "webhook"  // the village's generic JSON webhook; every event
)

// ChannelKinds lists the kinds in the order the API documents them.
var ChannelKinds = []string{ChannelSMS, ChannelWeCom, ChannelDingTalk, ChannelWebhook}

// Channel is a way out for the village's messages, configured by a cadre.
// URL, Headers and Secret may carry credentials: they are stored, used by
// the relay and never shown back (see MaskURL).
type Channel struct {
	bun.BaseModel `bun:"table:notify_channels"`

	ID        int64             `bun:",pk,autoincrement"`
	VillageID int64             `bun:",notnull"`
	Kind      string            `bun:",notnull"`
	TeamID    int64             `bun:",notnull"` // the robot's team; 0 for the village's SMS gateway and webhook
	Name      string            `bun:",notnull"`
	URL       string            `bun:",notnull"` // may hold {phone}, {text}, {id} for SMS
	Method    string            `bun:",notnull"` // SMS only; robots and webhooks POST
	Headers   map[string]string `bun:",type:json,notnull"`
	Body      string            `bun:",notnull"` // SMS body template with {phone}, {text}, {id}
	Secret    string            `bun:",notnull"` // DingTalk signing secret; webhook HMAC key
	Enabled   bool              `bun:",notnull"`
	// FromEvent is the newest outbox event when the channel was made: it
	// carries only what happens after, never the village's history.
	FromEvent int64     `bun:",notnull"`
	Version   int64     `bun:",notnull"`
	CreatedAt time.Time `bun:",notnull"`
	UpdatedAt time.Time `bun:",notnull"`
	// DeletedAt is when a cadre removed the channel. The row stays, so its
	// deliveries keep their channel and their history; a removed channel
	// is not listed, carries nothing and sends nothing again.
	DeletedAt *time.Time ``
}

// NotifySettings are a village's rules for when people are messaged.
type NotifySettings struct {
	bun.BaseModel `bun:"table:notify_settings"`

	VillageID int64 `bun:",pk"`
	// QuietFrom and QuietTo ("21:00", "07:00", the village's time) bound
	// the hours no phone or group is messaged; equal: no quiet hours.
	QuietFrom string `bun:",notnull"`
	QuietTo   string `bun:",notnull"`
	// UrgentOverride lets a rain-out reach people in quiet hours.
	UrgentOverride bool `bun:",notnull"`
	// GiveUpMinutes is how long after it was due a message is retried
	// before it is marked failed.
	GiveUpMinutes int       `bun:",notnull"`
	UpdatedAt     time.Time `bun:",notnull"`
}

// Default notification settings.
const (
	DefaultQuietFrom     = "21:00"
	DefaultQuietTo       = "07:00"
	DefaultGiveUpMinutes = 24 * 60
)

// GiveUp is how long a message is retried.
func (n *NotifySettings) GiveUp() time.Duration { return time.Duration(n.GiveUpMinutes) * time.Minute }

// QuietUntil returns when the quiet hours holding t end, or t itself
// when t is outside them; loc is the village's timezone.
func (n *NotifySettings) QuietUntil(t time.Time, loc *time.Location) time.Time {
	from, to := clockMinutes(n.QuietFrom), clockMinutes(n.QuietTo)
	if from == to || from < 0 || to < 0 {
		return t
	}
	local := t.In(loc)
	m := local.Hour()*60 + local.Minute()
	quiet := (from < to && m >= from && m < to) || (from > to && (m >= from || m < to))
	if !quiet {
		return t
	}
	end := time.Date(local.Year(), local.Month(), local.Day(), to/60, to%60, 0, 0, loc)
	if !end.After(local) {
		end = end.AddDate(0, 0, 1)
	}
	return end.UTC()
}

// Hold returns when d may go out if it could go at t: t itself for the
// webhook (machines have no night), the morning job list (it goes at the
// time its cron names) and an urgent rain-out the village lets through;
// otherwise the end of the quiet hours holding t. Every sending time of a
// message passes through it: the first, each retry, a cadre's retry.
func (n *NotifySettings) Hold(d *Delivery, t time.Time, loc *time.Location) time.Time {
	if d.Kind == ChannelWebhook || d.Event == EventJobsToday || (d.Urgent && n.UrgentOverride) {
		return t
	}
	return n.QuietUntil(t, loc)
}

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// clockMinutes reads "HH:MM" as minutes after midnight, -1 if it is not.
func clockMinutes(s string) int {
	if !clockRE.MatchString(s) {
		return -1
	}
	return int(s[0]-'0')*600 + int(s[1]-'0')*60 + int(s[3]-'0')*10 + int(s[4]-'0')
}

// Delivery states.
const (
	DeliveryPending   = "pending"   // waiting for its time (quiet hours, a retry) or being sent
	DeliveryDelivered = "delivered" // the channel answered 2xx
	DeliveryFailed    = "failed"    // given up; LastError says why
	DeliveryMerged    = "merged"    // folded into an earlier message held by quiet hours
)

// DeliveryStates lists the states in the order the API documents them.
var DeliveryStates = []string{DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryMerged}

// Delivery is one outbox event on its way through one channel. The row is
// the delivery's whole state: the relay sends what is pending and due, so
// a crash re-sends at most the messages in flight, each with its MessageID.
type Delivery struct {
	bun.BaseModel `bun:"table:deliveries"`

	ID         int64  `bun:",pk,autoincrement"`
	VillageID  int64  `bun:",notnull"`
	EventID    int64  `bun:",notnull"`
	ChannelID  int64  `bun:",notnull"`
	MessageID  string `bun:",notnull"` // stable across retries and restarts: receivers de-duplicate on it
	Kind       string `bun:",notnull"` // the channel's kind
	Audience   string `bun:",notnull"`
	AudienceID int64  `bun:",notnull"`
	Recipient  string `bun:",notnull"` // the phone for SMS
	Event      string `bun:",notnull"`
	Subject    string `bun:",notnull"`
	SubjectID  int64  `bun:",notnull"`
	Text       string `bun:",notnull"`
	Urgent     bool   `bun:",notnull"`
	State      string `bun:",notnull"`
	Attempts   int    `bun:",notnull"`
	// DueAt is when it could first be sent (after quiet hours); the give-up
	// time counts from it. NextAt is when it is tried next.
	DueAt         time.Time  `bun:",notnull"`
	NextAt        time.Time  `bun:",notnull"`
	LastError     string     `bun:",notnull"`
	LastAttemptAt *time.Time ``
	DeliveredAt   *time.Time ``
	CreatedAt     time.Time  `bun:",notnull"`
}

var _ bun.AfterScanRowHook = (*Delivery)(nil)

// AfterScanRow shows a delivery's instants in UTC, however the driver read them.
func (d *Delivery) AfterScanRow(context.Context) error {
	d.DueAt, d.NextAt, d.CreatedAt = d.DueAt.UTC(), d.NextAt.UTC(), d.CreatedAt.UTC()
	for _, t := range []**time.Time{&d.LastAttemptAt, &d.DeliveredAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return nil
}

// relayCursor is the relay's place in the outbox: the last event turned
// into deliveries.
type relayCursor struct {
	bun.BaseModel `bun:"table:relay_cursor"`

	ID        int64 `bun:",pk"` // always 1
	LastEvent int64 `bun:",notnull"`
}

// Template placeholders of an SMS gateway.
const (
	PlaceholderPhone = "{phone}"
	PlaceholderText  = "{text}"
	PlaceholderID    = "{id}"
)

var headerNameRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")

// checkChannel validates and tidies a channel before it is saved.
func (c *Channel) check() error {
	c.Name, c.URL = strings.TrimSpace(c.Name), strings.TrimSpace(c.URL)
	if !slices.Contains(ChannelKinds, c.Kind) {
		return Invalid("body.kind", "渠道类型应为 %v kind must be one of %v", ChannelKinds, ChannelKinds)
	}
	robot := c.Kind == ChannelWeCom || c.Kind == ChannelDingTalk
	if robot && c.TeamID <= 0 {
		return Invalid("body.teamId", "群机器人属于一个互助队 a group robot belongs to a team: give teamId")
	}
	if !robot && c.TeamID != 0 {
		return Invalid("body.teamId", "短信网关和通用回调属于全村，不填互助队 an SMS gateway or webhook is the village's: leave teamId out")
	}
	probe := strings.NewReplacer(PlaceholderPhone, "13800000000", PlaceholderText, "x", PlaceholderID, "x").Replace(c.URL)
	u, err := url.Parse(probe)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Invalid("body.url", "地址应为http或https网址 url must be an http or https URL")
	}
	if c.Kind == ChannelSMS {
		c.Method = strings.ToUpper(cmp.Or(c.Method, "POST"))
		if !slices.Contains([]string{"GET", "POST", "PUT"}, c.Method) {
			return Invalid("body.method", "请求方法应为GET、POST或PUT method must be GET, POST or PUT")
		}
		if !strings.Contains(c.URL+c.Body, PlaceholderText) || !strings.Contains(c.URL+c.Body, PlaceholderPhone) {
			return Invalid("body.body", "短信模板须含{phone}和{text} the URL or body must contain {phone} and {text}")
		}
		if c.Method == "GET" && c.Body != "" {
			return Invalid("body.body", "GET请求不带正文 a GET request has no body")
		}
		if JSONTemplate(c) {
			sample := strings.NewReplacer(PlaceholderPhone, "x", PlaceholderText, "x", PlaceholderID, "x").Replace(c.Body)
			if !json.Valid([]byte(sample)) {
				return Invalid("body.body", "JSON正文模板无效（占位符应放在引号内，如\"{text}\"） the JSON body is not valid JSON with the placeholders filled in; put them inside quotes: \"{text}\"")
			}
		}
	} else {
		c.Method, c.Body = "POST", ""
	}
	if c.Kind != ChannelDingTalk && c.Kind != ChannelWebhook && c.Secret != "" {
		return Invalid("body.secret", "只有钉钉机器人和通用回调使用密钥 only a DingTalk robot or a webhook takes a secret")
	}
	if c.Headers == nil {
		c.Headers = map[string]string{}
	}
	if len(c.Headers) > 20 {
		return Invalid("body.headers", "请求头最多20个 at most 20 headers")
	}
	for k, v := range c.Headers {
		if !headerNameRE.MatchString(k) || strings.ContainsAny(v, "\r\n") || len(v) > 2000 {
			return Invalid("body.headers", "请求头%q无效 header %q is not a valid header", k, k)
		}
	}
	if c.Name == "" {
		c.Name = c.Kind
	}
	return nil
}

// JSONTemplate reports whether an SMS channel's body is JSON, so the
// values put into it are JSON-escaped: a JSON Content-Type, or a body that
// starts with { or [.
func JSONTemplate(c *Channel) bool {
	for k, v := range c.Headers {
		if strings.EqualFold(k, "Content-Type") {
			return strings.Contains(strings.ToLower(v), "json")
		}
	}
	b := strings.TrimSpace(c.Body)
	return strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[")
}

// MaskURL shows a channel's URL without what may be a credential: the
// user info is dropped, long path segments and every query value are
// starred. "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***".
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "***"
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, s := range segs {
		if len(s) > 16 && !strings.Contains(s, "{") {
			segs[i] = "***"
		}
	}
	out := u.Scheme + "://" + u.Host + strings.Join(segs, "/")
	if u.RawQuery != "" {
		var q []string
		for _, kv := range strings.Split(u.RawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if v == PlaceholderPhone || v == PlaceholderText || v == PlaceholderID {
				q = append(q, k+"="+v)
			} else {
				q = append(q, k+"=***")
			}
		}
		out += "?" + strings.Join(q, "&")
	}
	return out
}

// CreateChannel saves a new channel of the village. One of a kind per
// village (SMS, webhook) or per team (robots): a second is ECONFLICT.
func (s *Store) CreateChannel(ctx context.Context, villageID int64, c *Channel) (*Channel, error) {
	c.ID, c.VillageID = 0, villageID
	if err := c.check(); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if c.TeamID != 0 {
			if _, err := getOne[Team](ctx, tx, villageID, c.TeamID, "team"); err != nil {
				return Invalid("body.teamId", "本村没有互助队%[1]d no team %[1]d in the village", c.TeamID)
			}
		}
		err := tx.NewSelect().Model((*OutboxEvent)(nil)).ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &c.FromEvent)
		if err != nil {
			return translate(err, "outbox")
		}
		now := s.Now().UTC()
		c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
		_, err = tx.NewInsert().Model(c).Exec(ctx)
		return translate(err, "notification channel")
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListChannels returns the village's channels by kind, team and ID.
func (s *Store) ListChannels(ctx context.Context, villageID int64) ([]*Channel, error) {
	var out []*Channel
	err := s.db.NewSelect().Model(&out).Where("village_id = ?", villageID).Where("deleted_at IS NULL").
		OrderExpr("kind, team_id, id").Scan(ctx)
	return out, translate(err, "notification channels")
}

// GetChannel returns one channel of the village; a removed one is ENOTFOUND.
func (s *Store) GetChannel(ctx context.Context, villageID, id int64) (*Channel, error) {
	return liveChannel(ctx, s.db, villageID, id)
}

func liveChannel(ctx context.Context, db bun.IDB, villageID, id int64) (*Channel, error) {
	c, err := getOne[Channel](ctx, db, villageID, id, "notification channel")
	if err == nil && c.DeletedAt != nil {
		return nil, Errorf(ENOTFOUND, "未找到 notification channel %d not found", id)
	}
	return c, err
}

// UpdateChannel applies change to a channel and saves it, checked as a
// new one is.
func (s *Store) UpdateChannel(ctx context.Context, villageID, id int64, change func(*Channel)) (*Channel, error) {
	var c *Channel
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if c, err = liveChannel(ctx, tx, villageID, id); err != nil {
			return err
		}
		kind, team := c.Kind, c.TeamID
		change(c)
		c.Kind, c.TeamID = kind, team
		if err := c.check(); err != nil {
			return err
		}
		c.Version++
		c.UpdatedAt = s.Now().UTC()
		_, err = tx.NewUpdate().Model(c).WherePK().Exec(ctx)
		return translate(err, "notification channel")
	})
	return c, err
}

// ChannelRemoved is why a removed channel's waiting messages failed.
const ChannelRemoved = "渠道已删除 channel removed"

// DeleteChannel removes a channel but keeps its row and its deliveries,
// so the cadre still sees what went out through it and why some did not:
// its waiting messages are marked failed (ChannelRemoved). Only live
// channels are unique per kind and village or team (a partial index), so a
// new one of the kind may be configured beside the removed one.
func (s *Store) DeleteChannel(ctx context.Context, villageID, id int64) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c, err := liveChannel(ctx, tx, villageID, id)
		if err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model((*Delivery)(nil)).Set("state = ?", DeliveryFailed).Set("last_error = ?", ChannelRemoved).
			Where("channel_id = ?", c.ID).Where("state = ?", DeliveryPending).Exec(ctx)
		if err != nil {
			return translate(err, "deliveries")
		}
		now := s.Now().UTC()
		_, err = tx.NewUpdate().Model((*Channel)(nil)).Set("deleted_at = ?", now).Set("updated_at = ?", now).
			Set("enabled = ?", false).Set("version = version + 1").Where("id = ?", c.ID).Exec(ctx)
		return translate(err, "notification channel")
	})
}

// GetNotifySettings returns the village's notification settings, the
// defaults when a cadre set none.
func (s *Store) GetNotifySettings(ctx context.Context, villageID int64) (*NotifySettings, error) {
	return s.notifySettings(ctx, s.db, villageID)
}

func (s *Store) notifySettings(ctx context.Context, db bun.IDB, villageID int64) (*NotifySettings, error) {
	var rows []*NotifySettings
	if err := db.NewSelect().Model(&rows).Where("village_id = ?", villageID).Scan(ctx); err != nil {
		return nil, translate(err, "notification settings")
	}
	if len(rows) == 0 {
		return &NotifySettings{VillageID: villageID, QuietFrom: DefaultQuietFrom, QuietTo: DefaultQuietTo,
			UrgentOverride: true, GiveUpMinutes: DefaultGiveUpMinutes}, nil
	}
	return rows[0], nil
}

// SetNotifySettings saves the village's notification settings.
func (s *Store) SetNotifySettings(ctx context.Context, villageID int64, n *NotifySettings) (*NotifySettings, error) {
	if clockMinutes(n.QuietFrom) < 0 {
		return nil, Invalid("body.quietFrom", "时间格式应为21:00 quietFrom must be HH:MM, like 21:00")
	}
	if clockMinutes(n.QuietTo) < 0 {
		return nil, Invalid("body.quietTo", "时间格式应为07:00 quietTo must be HH:MM, like 07:00")
	}
	if n.GiveUpMinutes < 1 || n.GiveUpMinutes > 7*24*60 {
		return nil, Invalid("body.giveUpMinutes", "重试时限应在1分钟到7天之间 giveUpMinutes must be 1 to 10080")
	}
	n.VillageID, n.UpdatedAt = villageID, s.Now().UTC()
	_, err := s.db.NewInsert().Model(n).On("CONFLICT (village_id) DO UPDATE").
		Set("quiet_from = EXCLUDED.quiet_from, quiet_to = EXCLUDED.quiet_to, urgent_override = EXCLUDED.urgent_override, " +
			"give_up_minutes = EXCLUDED.give_up_minutes, updated_at = EXCLUDED.updated_at").Exec(ctx)
	return n, translate(err, "notification settings")
}
